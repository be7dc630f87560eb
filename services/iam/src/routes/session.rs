//! Ending sign-ins: `/revoke` (RFC 7009) and `/logout`, both the MCF web apps' form (client
//! and refresh token, answered as JSON) and OpenID Connect RP-Initiated Logout (a page or a
//! redirect). Public: the token or the ID token hint is the credential.

use auth::{Access, Route, Routes};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use web::{Form, Query};

use super::oidc::{NO_STORE, basic_auth};
use super::page::{Lang, Pages};
use super::{HTML, page};
use crate::App;
use crate::app::Params;
use crate::app::sign_out::{self, Ended};
use crate::error::{IamError, OAuthError};

/// `POST /revoke` (a form).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RevokeRequest {
    /// A refresh token (ends its sign-in).
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    /// Public clients name themselves; confidential ones add their secret (or use Basic).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// `/logout`: the web apps' form (`client_id`, `refresh_token`) or RP-Initiated Logout.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogoutRequest {
    pub client_id: Option<String>,
    /// The web apps' sign-out: that sign-in ends (answered as JSON).
    pub refresh_token: Option<String>,
    pub id_token_hint: Option<String>,
    /// Registered for the client, matched exactly.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// `POST /revoke`'s answer: nothing to say (RFC 7009 2.2).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Revoked {}

/// The web apps' sign-out is done (whether or not the token existed).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/revoke", Access::Public)
                .summary("Revoke a refresh token (its whole sign-in)")
                .form::<RevokeRequest>()
                .returns::<Revoked>(StatusCode::OK)
                .returns::<OAuthError>(StatusCode::BAD_REQUEST)
                .returns::<OAuthError>(StatusCode::UNAUTHORIZED),
            revoke,
        )
        .route(
            Route::get("/logout", Access::Public)
                .summary("RP-Initiated Logout")
                .query::<LogoutRequest>()
                .returns_media(StatusCode::OK, HTML)
                .redirects(StatusCode::SEE_OTHER)
                .returns_media(StatusCode::BAD_REQUEST, HTML),
            logout_get,
        )
        .route(
            Route::post("/logout", Access::Public)
                .summary("Sign out: the web apps' form (JSON), or RP-Initiated Logout (a page)")
                .form::<LogoutRequest>()
                .returns::<SignedOut>(StatusCode::OK)
                .returns_media(StatusCode::OK, HTML)
                .redirects(StatusCode::SEE_OTHER)
                .returns_media(StatusCode::BAD_REQUEST, HTML),
            logout,
        )
}

async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    sign_out::revoke(&app, basic_auth(&headers), &p).await?;
    Ok((NO_STORE, Json(Revoked {})).into_response())
}

async fn logout_get(
    State(app): State<App>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    end_session(&app, &headers, &p).await
}

async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Result<Response, IamError> {
    if !p.contains_key("refresh_token") {
        return Ok(end_session(&app, &headers, &p).await);
    }
    sign_out::sign_out(&app, &p).await?;
    Ok(Json(SignedOut { signed_out: true }).into_response())
}

/// RP-Initiated Logout's pages follow `ui_locales` too (RP-Initiated Logout 1.0, 2).
async fn end_session(app: &App, headers: &HeaderMap, p: &Params) -> Response {
    let lang = Lang::pick(p, headers);
    match sign_out::end_session(app, p).await {
        Ok(Ended::Redirect(location)) => Redirect::to(&location).into_response(),
        Ok(Ended::SignedOut) => Html(page::signed_out(lang)).into_response(),
        Ok(Ended::Refused(message)) => (
            StatusCode::BAD_REQUEST,
            Html(page::error(lang, &lang.message(message))),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
