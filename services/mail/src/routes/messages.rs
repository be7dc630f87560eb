//! `/messages`: services (and admins) ask for mail and follow it; admins search and retry.

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use contracts::MessageId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use service::Refused;
use web::{Json, Path, Query};

use super::SENDERS;
use crate::App;
use crate::app::{self, find::Search};
use crate::domain::{Message, Request, Status};
use crate::error::MailError;

const ADMINS: Access = Access::Roles(&[Role::Admin]);

pub fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/messages", Access::Roles(SENDERS))
                .summary("Queue a message rendered from a template")
                .body::<Submission>()
                .returns::<Submitted>(StatusCode::ACCEPTED),
            submit,
        )
        .route(
            Route::get("/messages", ADMINS)
                .summary("Search messages, newest first")
                .query::<SearchQuery>()
                .returns::<Vec<MessageOut>>(StatusCode::OK),
            search,
        )
        .route(
            Route::get("/messages/{id}", Access::Roles(SENDERS))
                .summary("A message: status, attempts, last error (senders see their own)")
                .param::<MessageId>("id")
                .returns::<MessageOut>(StatusCode::OK),
            status,
        )
        .route(
            Route::post("/messages/{id}/retry", ADMINS)
                .summary("Queue a dead message again")
                .param::<MessageId>("id")
                .returns_empty(StatusCode::NO_CONTENT),
            retry,
        )
}

/// A message to send.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The recipient's e-mail address.
    pub to: String,
    /// One of `GET /templates`.
    pub template: String,
    /// The template's variables.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// The same key from the same sender returns the same message (and the key for another
    /// message is refused). 1 to 200 characters.
    pub idempotency_key: String,
    /// The language to write it in (`en`, `ru`); absent (or one Mail does not write): the
    /// recipient's as IAM announced it, else English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A queued message: stored now, delivered soon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Submitted {
    pub id: MessageId,
    /// Where it is now (`queued` for a new one).
    pub status: Status,
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageOut {
    pub id: MessageId,
    pub recipient: String,
    pub template: String,
    /// The JSON object it was rendered with.
    pub variables: Value,
    pub subject: String,
    pub status: Status,
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        MessageOut {
            id: m.id,
            recipient: m.recipient,
            template: m.template,
            variables: m.variables,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// The query of `GET /messages`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub status: Option<Status>,
    /// The recipient's address (any case).
    pub to: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// `POST /messages`: 202 with the message's id.
async fn submit(
    State(app): State<App>,
    who: Principal,
    Json(s): Json<Submission>,
) -> Result<(StatusCode, Json<Submitted>), MailError> {
    // The sender is the account (or, for requests by event, the context): Mail keys
    // idempotency and visibility on it as text.
    let request = Request {
        to: &s.to,
        template: &s.template,
        variables: &s.variables,
        idempotency_key: &s.idempotency_key,
        language: s.language.as_deref(),
    };
    let m = app::submit::submit(&app, &who.id.to_string(), request).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Submitted {
            id: m.id,
            status: m.status,
        }),
    ))
}

/// A path id: one that is not a message id names no message (404, as any unknown id).
fn message_id(id: &str) -> Result<MessageId, MailError> {
    MessageId::parse(id).map_err(|_| Refused::NotFound("message").into())
}

/// `GET /messages/{id}`.
async fn status(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<MessageOut>, MailError> {
    let m = app::find::message(&app, &who, message_id(&id)?).await?;
    Ok(Json(m.into()))
}

/// `GET /messages?status=&to=&limit=`.
async fn search(
    State(app): State<App>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<MessageOut>>, MailError> {
    let search = Search {
        status: q.status,
        to: q.to,
        limit: q.limit,
    };
    let found = app::find::search(&app, search).await?;
    Ok(Json(found.into_iter().map(MessageOut::from).collect()))
}

/// `POST /messages/{id}/retry`.
async fn retry(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode, MailError> {
    app::retry::retry(&app, message_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
