//! `/accounts`: people's accounts, their roles and set-password links. Admins only, but
//! everyone may read their own account.

use auth::{Access, Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use contracts::AccountId;
use serde::{Deserialize, Serialize};
use web::{IdempotencyKey, Json, Path};

use super::ADMIN;
use crate::App;
use crate::app::change_account::{Change, change_account};
use crate::app::create_account::{NewAccount as Asked, create_account};
use crate::app::{password_link, read};
use crate::domain::account::{Account, Status};
use crate::error::IamError;

/// `POST /accounts`: a person's account.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Their e-mail address (stored lower-case; one account per address).
    pub email: String,
    /// Their name, one line.
    pub name: String,
    /// Person roles (`admin`, `manager`, `supply`, `worker`, `client`).
    pub roles: Vec<String>,
    /// Optional: without it the person gets a set-password link by mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `PATCH /accounts/{id}`: what changes (the rest stays).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `disabled` ends every sign-in of the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A set-password link, to hand to the person.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PasswordLink {
    /// Works once.
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/accounts", ADMIN)
                .summary("Create a person's account")
                .idempotency_key()
                .body::<NewAccount>()
                .returns::<Account>(StatusCode::CREATED),
            create,
        )
        .route(
            Route::get("/accounts", ADMIN)
                .summary("Every account, by e-mail")
                .returns::<Vec<Account>>(StatusCode::OK),
            list,
        )
        // Everyone may read their own account; the use case checks the owner.
        .route(
            Route::get("/accounts/{id}", Access::SignedIn)
                .summary("An account (admins: any; others: their own)")
                .param::<AccountId>("id")
                .returns::<Account>(StatusCode::OK),
            get,
        )
        .route(
            Route::patch("/accounts/{id}", ADMIN)
                .summary("Change an account's roles, status or name")
                .param::<AccountId>("id")
                .body::<AccountChange>()
                .returns::<Account>(StatusCode::OK),
            change,
        )
        .route(
            Route::post("/accounts/{id}/password-link", ADMIN)
                .summary("A set-password link for the person")
                .param::<AccountId>("id")
                .returns::<PasswordLink>(StatusCode::CREATED),
            create_link,
        )
}

async fn create(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Json(new): Json<NewAccount>,
) -> Result<Response, IamError> {
    let asked = Asked {
        email: &new.email,
        name: &new.name,
        roles: &new.roles,
        password: new.password.as_deref(),
    };
    // A retry with the key gets the first answer again, as it was.
    Ok(create_account(&app, who.id, asked, key.as_deref())
        .await?
        .respond(StatusCode::CREATED))
}

async fn list(State(app): State<App>) -> Result<Json<Vec<Account>>, IamError> {
    Ok(Json(read::accounts(&app).await?))
}

async fn get(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Account>, IamError> {
    Ok(Json(read::account(&app, &who, &id).await?))
}

async fn change(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(change): Json<AccountChange>,
) -> Result<Json<Account>, IamError> {
    let change = Change {
        roles: change.roles,
        status: change.status,
        name: change.name,
    };
    Ok(Json(change_account(&app, who.id, &id, change).await?))
}

async fn create_link(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PasswordLink>), IamError> {
    let link = password_link::create_link(&app, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(PasswordLink {
            link: link.url,
            expires_at: link.expires_at,
        }),
    ))
}
