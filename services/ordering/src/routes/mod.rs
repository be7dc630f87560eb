//! Ordering's HTTP API.

mod orders;
mod service_types;

use axum::Router;
use axum::routing::{get, post};

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/service-types",
            post(service_types::create).get(service_types::list),
        )
        .route("/orders", post(orders::request).get(orders::list))
        .route("/orders/{id}", get(orders::get))
        .route("/ops/orders", get(orders::counts))
        .with_state(app)
}
