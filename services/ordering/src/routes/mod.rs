//! Ordering's HTTP API and who may call it.

mod orders;
mod service_types;

use auth::{Access, Role, Routes};
use axum::Router;
use axum::routing::{get, post};

use crate::App;

const STAFF: &[Role] = &[Role::Manager, Role::Admin];

pub fn router(app: App) -> (Router, Vec<web::RouteRule>) {
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
            "POST",
            "/orders",
            Access::Roles(&[Role::Client]),
            post(orders::request),
        )
        .add(
            "GET",
            "/orders",
            Access::Roles(&[Role::Client, Role::Manager, Role::Admin]),
            get(orders::list),
        )
        .add(
            "GET",
            "/orders/{id}",
            Access::Roles(&[Role::Client, Role::Worker, Role::Manager, Role::Admin]),
            get(orders::get),
        )
        .add(
            "GET",
            "/ops/orders",
            Access::Roles(&[Role::Admin]),
            get(orders::counts),
        )
        .finish();
    (router.with_state(app), rules)
}
