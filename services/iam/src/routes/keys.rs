//! `/keys`: the signing keys. Rotation is for admins; the published halves are public
//! (`/jwks.json`, with the OpenID Connect routes).

use auth::{Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use web::Json;

use super::ADMIN;
use crate::App;
use crate::app::rotate_keys::rotate_keys;
use crate::error::IamError;

/// The new keys after a rotation.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RotatedKeys {
    /// The key access tokens are signed with from now on.
    pub kid: String,
    /// Every new key by algorithm.
    pub kids: Kids,
}

/// New key ids by algorithm.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Kids {
    #[serde(rename = "EdDSA")]
    pub eddsa: String,
    #[serde(rename = "RS256")]
    pub rs256: String,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new().route(
        Route::post("/keys/rotate", ADMIN)
            .summary("New signing keys; the old ones stay published until their tokens expire")
            .returns::<RotatedKeys>(StatusCode::CREATED),
        rotate,
    )
}

async fn rotate(State(app): State<App>) -> Result<(StatusCode, Json<RotatedKeys>), IamError> {
    let new = rotate_keys(&app).await?;
    Ok((
        StatusCode::CREATED,
        Json(RotatedKeys {
            kid: new.eddsa.clone(),
            kids: Kids {
                eddsa: new.eddsa,
                rs256: new.rs256,
            },
        }),
    ))
}
