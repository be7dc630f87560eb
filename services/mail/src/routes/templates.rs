//! `/templates`: what a sender can ask for.

use auth::{Access, Route, Routes};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use web::Json;

use super::SENDERS;
use crate::App;
use crate::domain::templates;

/// A template and the variables it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateOut {
    pub name: String,
    /// The variables it fills in (all required).
    pub variables: Vec<String>,
}

pub fn routes() -> Routes<App> {
    Routes::new().route(
        Route::get("/templates", Access::Roles(SENDERS))
            .summary("The templates and the variables each needs")
            .returns::<Vec<TemplateOut>>(StatusCode::OK),
        list,
    )
}

/// `GET /templates`.
async fn list() -> Json<Vec<TemplateOut>> {
    Json(
        templates::TEMPLATES
            .iter()
            .map(|t| TemplateOut {
                name: t.name.to_owned(),
                variables: templates::variables_of(t)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            })
            .collect(),
    )
}
