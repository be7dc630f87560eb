//! Matching's HTTP API.

mod normal_samples;
mod reference_samples;

use axum::Router;
use axum::routing::get;

use crate::App;

pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/normal-samples",
            get(normal_samples::list).post(normal_samples::register),
        )
        .route(
            "/normal-samples/{id}",
            get(normal_samples::get).put(normal_samples::update),
        )
        .route("/reference-samples/{order_id}", get(reference_samples::get))
        .route("/ops/reference-samples", get(reference_samples::counts))
        .with_state(app)
}
