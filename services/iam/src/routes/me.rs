//! `/me`: what a signed-in person does to their own account: change their password, choose
//! their language.

use std::net::SocketAddr;

use auth::{Principal, Route, Routes};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use web::Json;

use super::PEOPLE;
use crate::App;
use crate::app::change_password::change_password;
use crate::app::set_language::set_language;
use crate::error::IamError;

/// `POST /me/password`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 12 to 200 characters, not the current one.
    pub new_password: String,
}

/// The password is changed; every sign-in of the account ends.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PasswordChanged {
    pub password_changed: bool,
    /// How many sign-ins (refresh-token families) ended.
    pub sessions_ended: u64,
}

/// `PUT /me/language`: the language the person reads.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageChoice {
    /// `en` or `ru` (a tag with either as its primary subtag, e.g. `ru-RU`, is taken as it).
    pub language: String,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::put("/me/language", PEOPLE)
                .summary("Choose one's language (mails are written in it)")
                .body::<LanguageChoice>()
                .returns::<LanguageChoice>(StatusCode::OK),
            choose_language,
        )
        .route(
        Route::post("/me/password", PEOPLE)
            .summary(
                "Change one's own password (wrong current ones count as failed sign-ins; 429 when blocked)",
            )
            .body::<PasswordChange>()
            .returns::<PasswordChanged>(StatusCode::OK),
        change,
    )
}

async fn choose_language(
    State(app): State<App>,
    who: Principal,
    Json(choice): Json<LanguageChoice>,
) -> Result<Json<LanguageChoice>, IamError> {
    let account = set_language(&app, who.id, &choice.language).await?;
    Ok(Json(LanguageChoice {
        language: account.language.unwrap_or_default(),
    }))
}

async fn change(
    State(app): State<App>,
    who: Principal,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(change): Json<PasswordChange>,
) -> Result<Json<PasswordChanged>, IamError> {
    let ended = change_password(
        &app,
        who.id,
        peer.ip(),
        &change.current_password,
        &change.new_password,
    )
    .await?;
    Ok(Json(PasswordChanged {
        password_changed: true,
        sessions_ended: ended,
    }))
}
