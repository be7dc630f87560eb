//! Matching's HTTP API, one file per resource: who may call each route, what it takes and
//! answers. Handlers turn requests into the use cases of `app`.

pub mod normal_samples;
pub mod reference_samples;
pub mod roster;

use auth::{Role, Routes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::App;
use crate::app::Answer;

/// Managers run matching; hiring's service account registers workers and Quality's adjusts
/// their levels.
const STAFF: &[Role] = &[Role::Manager, Role::Admin];
const STAFF_AND_SERVICES: &[Role] = &[Role::Manager, Role::Admin, Role::Service];

/// Every route, its handlers given `app`.
pub fn routes(app: App) -> Routes {
    Routes::new()
        .include(normal_samples::routes())
        .include(reference_samples::routes())
        .include(roster::routes())
        .with_state(app)
}

/// A keyed POST's answer: 201 when it created something, 200 when it replaced something
/// or repeats the first answer to the same request.
fn answer<T: Serialize>(answer: Answer<T>) -> Response {
    match answer {
        Answer::Done { created, value } => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, web::Json(value)).into_response()
        }
        // Matching's contract: a retry is answered 200, whatever the first answer was.
        Answer::Replay { body } => service::replay(StatusCode::OK.as_u16(), body),
    }
}
