//! `/tests`: the tests managers write.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::TestId;
use web::{IdempotencyKey, Json, Path};

use super::{MANAGERS, path_id};
use crate::domain::{Test, TestSpec};
use crate::error::HiringError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/tests", MANAGERS)
                .summary("Write a test")
                .idempotency_key()
                .body::<TestSpec>()
                .returns::<Test>(StatusCode::CREATED),
            create,
        )
        .route(
            Route::get("/tests", MANAGERS)
                .summary("Every test, retired ones too")
                .returns::<Vec<Test>>(StatusCode::OK),
            list,
        )
        .route(
            Route::put("/tests/{id}", MANAGERS)
                .summary("Rewrite a test that is not retired")
                .param::<TestId>("id")
                .body::<TestSpec>()
                .returns::<Test>(StatusCode::OK),
            edit,
        )
        .route(
            Route::post("/tests/{id}/retire", MANAGERS)
                .summary("Retire a test: never assigned again")
                .param::<TestId>("id")
                .returns_empty(StatusCode::NO_CONTENT),
            retire,
        )
}

async fn create(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(spec): Json<TestSpec>,
) -> Result<Response, HiringError> {
    let test = app::create_test(&app, who.id, key.as_deref(), spec.validate()?).await?;
    Ok(test.respond(StatusCode::CREATED))
}

async fn list(State(app): State<App>) -> Result<Json<Vec<Test>>, HiringError> {
    Ok(Json(app::list_tests(&app).await?))
}

async fn edit(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(spec): Json<TestSpec>,
) -> Result<Json<Test>, HiringError> {
    // The body is refused before a malformed id is "not found", as before ids were typed.
    let spec = spec.validate()?;
    let id = path_id(&id, "test")?;
    Ok(Json(app::edit_test(&app, id, spec).await?))
}

async fn retire(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode, HiringError> {
    app::retire_test(&app, path_id(&id, "active test")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
