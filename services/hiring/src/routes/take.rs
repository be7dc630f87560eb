//! `/take`: the candidate's private link (public: candidates have no account).

use auth::{Access, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use contracts::TestId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::{Json, Query};

use super::Public;
use crate::domain::ShownQuestion;
use crate::error::HiringError;
use crate::{App, app};

pub(super) fn routes(public: &Public) -> Routes<App> {
    Routes::new()
        .route_layered(
            Route::get("/take", Access::Public)
                .summary("The candidate's tests, without answer keys")
                .query::<TokenQuery>()
                .returns::<TakePage>(StatusCode::OK),
            page,
            public.layer(),
        )
        .route_layered(
            Route::post("/take", Access::Public)
                .summary("Answers to one test: graded at once, recorded once")
                .body::<TestAnswers>()
                .returns::<Recorded>(StatusCode::OK),
            take,
            public.layer(),
        )
}

/// The query of `GET /take`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenQuery {
    /// The token of the mailed link.
    pub token: String,
}

/// One assigned test as the candidate sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TakenTest {
    pub id: TestId,
    pub name: String,
    pub questions: Vec<ShownQuestion>,
    /// Taken already (each test is taken once).
    pub taken: bool,
}

/// The candidate's page: her name and her tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TakePage {
    pub name: String,
    pub tests: Vec<TakenTest>,
}

/// `GET /take?token=` (public): the candidate's tests, without answer keys.
async fn page(
    State(app): State<App>,
    Query(q): Query<TokenQuery>,
) -> Result<Json<TakePage>, HiringError> {
    let (application, tests) = app::tests_to_take(&app, &q.token).await?;
    let tests = tests
        .into_iter()
        .map(|(test, assignment)| {
            let shown = test.spec.for_candidate();
            TakenTest {
                id: test.id,
                name: shown.name,
                questions: shown.questions,
                taken: assignment.taken,
            }
        })
        .collect();
    Ok(Json(TakePage {
        name: application.name,
        tests,
    }))
}

/// The answers to one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestAnswers {
    /// The token of the mailed link.
    pub token: String,
    pub test_id: TestId,
    /// The chosen choice's index, per question.
    pub answers: Vec<usize>,
}

/// Recorded (candidates learn that, not the score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recorded {
    pub test_id: TestId,
    pub recorded: bool,
}

/// `POST /take` (public): answers to one test, scored at once; each test is taken once.
async fn take(
    State(app): State<App>,
    Json(a): Json<TestAnswers>,
) -> Result<Json<Recorded>, HiringError> {
    app::take_test(&app, &a.token, a.test_id, &a.answers).await?;
    Ok(Json(Recorded {
        test_id: a.test_id,
        recorded: true,
    }))
}
