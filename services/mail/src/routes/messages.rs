//! Mail's HTTP API and who may call it: services send, admins look and retry.

use auth::{Access, Principal, Role, Routes};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use web::{Json, Path, Query};

use crate::error::MailError;
use crate::store::{self, Message};
use crate::{App, templates};

const SENDERS: &[Role] = &[Role::Service, Role::Admin];

pub fn router(app: App) -> (Router, Vec<auth::RouteRule>) {
    let (router, rules) = Routes::new()
        .add("POST", "/messages", Access::Roles(SENDERS), post(submit))
        .add(
            "GET",
            "/messages",
            Access::Roles(&[Role::Admin]),
            get(search),
        )
        .add("GET", "/messages/{id}", Access::Roles(SENDERS), get(status))
        .add(
            "POST",
            "/messages/{id}/retry",
            Access::Roles(&[Role::Admin]),
            post(retry),
        )
        .add(
            "GET",
            "/templates",
            Access::Roles(SENDERS),
            get(list_templates),
        )
        .finish();
    (router.with_state(app), rules)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    to: String,
    template: String,
    #[serde(default)]
    variables: serde_json::Map<String, Value>,
    /// The same key from the same sender returns the same message.
    idempotency_key: String,
}

/// `POST /messages`: 202 with the message's id; stored now, delivered soon.
async fn submit(
    State(app): State<App>,
    who: Principal,
    Json(s): Json<Submission>,
) -> Result<(StatusCode, Json<Value>), MailError> {
    // The sender is the account (or, for requests by event, the context): Mail keys
    // idempotency and visibility on it as text.
    let message = compose(
        &who.id.to_string(),
        &s.to,
        &s.template,
        &s.variables,
        &s.idempotency_key,
    )?;
    let key = message.idempotency_key.clone();
    let mut tx = app.rt.db.begin().await?;
    if store::insert(&mut tx, &message).await? {
        tx.commit().await?;
        app.wake.notify_one();
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": message.id, "status": "queued"})),
        ));
    }
    tx.rollback().await?;
    let mut conn = app.rt.db.pool().acquire().await?;
    let first = store::by_key(&mut conn, &who.id.to_string(), &key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("idempotency key conflicted but is gone"))?;
    if first.recipient != message.recipient
        || first.template != message.template
        || first.variables != message.variables
    {
        return Err(MailError::invalid(
            "idempotency_key",
            "was already used for a different message",
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": first.id, "status": first.status})),
    ))
}

/// Checks and renders a message from `sender`; nothing is stored yet.
pub(crate) fn compose(
    sender: &str,
    to: &str,
    template: &str,
    variables: &serde_json::Map<String, Value>,
    idempotency_key: &str,
) -> Result<Message, MailError> {
    let key = idempotency_key.trim();
    // Keys also arrive in other contexts' events, where no HTTP check ran: a control
    // character (NUL cannot even be stored on PostgreSQL) is refused here too.
    if key.is_empty() || key.len() > 200 || key.contains(char::is_control) {
        return Err(MailError::invalid(
            "idempotency_key",
            "must be 1 to 200 characters, none of them control characters",
        ));
    }
    // The address is the one value that goes into a header as it is: the only value of a
    // message that is refused rather than made safe.
    let to = to.trim();
    if to.contains(char::is_control) || to.parse::<lettre::Address>().is_err() {
        return Err(MailError::invalid("to", "is not an e-mail address"));
    }
    let rendered = templates::render(template, variables)
        .map_err(|e| MailError::invalid(e.field(), e.to_string()))?;
    Ok(Message {
        id: uuid::Uuid::now_v7().to_string(),
        recipient: to.to_lowercase(),
        template: template.to_owned(),
        variables: Value::Object(variables.clone()),
        subject: rendered.subject,
        status: "queued".into(),
        attempts: 0,
        last_error: None,
        created_at: store::chrono_free::Time(storage::now_micros()),
        sent_at: None,
        sender: sender.to_owned(),
        idempotency_key: key.to_owned(),
        body_text: rendered.text,
        body_html: rendered.html,
    })
}

/// `GET /messages/{id}`: status, attempts, last error. Senders see their own.
async fn status(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Message>, MailError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    let m = store::get(&mut conn, &id)
        .await?
        .ok_or(MailError::NotFound("message"))?;
    if m.sender != who.id.to_string() && !who.has(Role::Admin) {
        return Err(MailError::NotFound("message"));
    }
    Ok(Json(m))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    status: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

/// `GET /messages?status=&to=&limit=`: admins search.
async fn search(
    State(app): State<App>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Message>>, MailError> {
    if let Some(s) = &q.status
        && !matches!(s.as_str(), "queued" | "sent" | "dead")
    {
        return Err(MailError::invalid("status", "must be queued, sent or dead"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(MailError::invalid("limit", "must be 1 to 1000"));
    }
    let mut conn = app.rt.db.pool().acquire().await?;
    let to = q.to.map(|t| t.trim().to_lowercase());
    Ok(Json(
        store::search(&mut conn, q.status.as_deref(), to.as_deref(), limit).await?,
    ))
}

/// `POST /messages/{id}/retry`: a dead message goes back in the queue.
async fn retry(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode, MailError> {
    let mut tx = app.rt.db.begin().await?;
    if !store::retry(&mut tx, &id).await? {
        let exists = store::get(&mut tx, &id).await?.is_some();
        return Err(if exists {
            MailError::Conflict("not_dead", "only dead messages can be retried".into())
        } else {
            MailError::NotFound("message")
        });
    }
    tx.commit().await?;
    app.wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /templates`: names and the variables each needs.
async fn list_templates() -> Json<Value> {
    Json(Value::Array(
        templates::TEMPLATES
            .iter()
            .map(|t| json!({"name": t.name, "variables": templates::variables_of(t)}))
            .collect(),
    ))
}
