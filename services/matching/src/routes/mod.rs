//! Matching's HTTP API and who may call it.

mod normal_samples;
mod reference_samples;

use auth::{Access, Role, Routes};
use axum::Router;
use axum::routing::{get, post, put};

use crate::App;

/// Managers run matching; hiring's service account registers workers and Quality's adjusts
/// their levels.
const STAFF: &[Role] = &[Role::Manager, Role::Admin];
const STAFF_AND_SERVICES: &[Role] = &[Role::Manager, Role::Admin, Role::Service];

pub fn router(app: App) -> (Router, Vec<auth::RouteRule>) {
    let (router, rules) = Routes::new()
        .add(
            "GET",
            "/normal-samples",
            Access::Roles(STAFF),
            get(normal_samples::list),
        )
        .add(
            "POST",
            "/normal-samples",
            Access::Roles(STAFF_AND_SERVICES),
            post(normal_samples::register),
        )
        .add(
            "GET",
            "/normal-samples/{id}",
            Access::Roles(STAFF),
            get(normal_samples::get),
        )
        .add(
            "PUT",
            "/normal-samples/{id}",
            Access::Roles(STAFF_AND_SERVICES),
            put(normal_samples::update),
        )
        .add(
            "POST",
            "/normal-samples/{id}/adjustments",
            Access::Roles(STAFF_AND_SERVICES),
            post(normal_samples::adjust),
        )
        .add(
            "GET",
            "/normal-samples/{id}/adjustments",
            Access::Roles(STAFF),
            get(normal_samples::adjustments),
        )
        .add(
            "GET",
            "/reference-samples/{order_id}",
            Access::Roles(STAFF),
            get(reference_samples::get),
        )
        .add(
            "GET",
            "/ops/reference-samples",
            Access::Roles(&[Role::Admin]),
            get(reference_samples::counts),
        )
        .finish();
    (router.with_state(app), rules)
}
