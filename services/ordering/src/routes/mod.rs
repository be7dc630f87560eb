//! Ordering's HTTP API and who may call it.

mod clock;
mod lifecycle;
mod orders;
mod service_types;

use auth::{Access, Role, Routes};
use axum::Router;
use axum::routing::{get, patch, post};

use crate::App;

const STAFF: &[Role] = &[Role::Manager, Role::Admin];
const CLIENT_OR_STAFF: &[Role] = &[Role::Client, Role::Manager, Role::Admin];
const PARTIES: &[Role] = &[Role::Client, Role::Worker, Role::Manager, Role::Admin];

pub fn router(app: App) -> (Router, Vec<auth::RouteRule>) {
    let (router, rules) = Routes::new()
        .add(
            "POST",
            "/service-types",
            Access::Roles(STAFF),
            post(service_types::create),
        )
        .add(
            "GET",
            "/service-types",
            Access::SignedIn,
            get(service_types::list),
        )
        .add(
            "PATCH",
            "/service-types/{id}",
            Access::Roles(STAFF),
            patch(service_types::edit),
        )
        .add(
            "POST",
            "/service-types/{id}/retire",
            Access::Roles(STAFF),
            post(service_types::retire),
        )
        .add(
            "POST",
            "/orders",
            Access::Roles(&[Role::Client]),
            post(orders::request),
        )
        .add(
            "GET",
            "/orders",
            Access::Roles(CLIENT_OR_STAFF),
            get(orders::list),
        )
        .add(
            "GET",
            "/orders/{id}",
            Access::Roles(PARTIES),
            get(orders::get),
        )
        .add(
            "POST",
            "/orders/{id}/cancel",
            Access::Roles(CLIENT_OR_STAFF),
            post(lifecycle::cancel),
        )
        .add(
            "POST",
            "/orders/{id}/rebook",
            Access::Roles(&[Role::Client]),
            post(lifecycle::rebook),
        )
        .add(
            "POST",
            "/orders/{id}/check-in",
            Access::Roles(&[Role::Worker]),
            post(lifecycle::check_in),
        )
        .add(
            "POST",
            "/orders/{id}/complete",
            Access::Roles(&[Role::Worker]),
            post(lifecycle::complete),
        )
        .add(
            "GET",
            "/orders/{id}/photos/{kind}",
            Access::Roles(PARTIES),
            get(lifecycle::photo),
        )
        .add(
            "GET",
            "/jobs",
            Access::Roles(&[Role::Worker]),
            get(orders::jobs),
        )
        .add(
            "GET",
            "/ops/orders",
            Access::Roles(&[Role::Admin]),
            get(orders::counts),
        )
        .add(
            "GET",
            "/ops/clock",
            Access::Roles(&[Role::Admin]),
            get(clock::show),
        )
        .add(
            "POST",
            "/ops/clock",
            Access::Roles(&[Role::Admin]),
            post(clock::advance),
        )
        .finish();
    (router.with_state(app), rules)
}
