//! Mail's table: SQL only. Times are bound as Unix microseconds.

use chrono::{DateTime, Utc};
use contracts::MessageId;
use storage::{AnyConnection, AnyRow, DbError, Row};

use crate::domain::{Message, Outcome, Status};

type Result<T> = std::result::Result<T, DbError>;

fn message_of(r: &AnyRow) -> Result<Message> {
    let id: String = r.get("id");
    let status: String = r.get("status");
    Ok(Message {
        id: MessageId::parse(&id)
            .map_err(|e| DbError::undecodable(format!("messages.id {id:?}: {e}")))?,
        sender: r.get("sender"),
        idempotency_key: r.get("idempotency_key"),
        recipient: r.get("recipient"),
        template: r.get("template"),
        variables: serde_json::from_str(&r.get::<String, _>("variables")).unwrap_or_default(),
        subject: r.get("subject"),
        body_text: r.get("body_text"),
        body_html: r.get("body_html"),
        status: Status::parse(&status)
            .ok_or_else(|| DbError::undecodable(format!("messages.status {status:?} of {id}")))?,
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        created_at: storage::time(r.get("created_at")),
        sent_at: r.get::<Option<i64>, _>("sent_at").map(storage::time),
    })
}

fn messages_of(rows: &[AnyRow]) -> Result<Vec<Message>> {
    rows.iter().map(message_of).collect()
}

/// Stores a new message, due at once; `false` if its sender already used the key.
pub async fn insert(conn: &mut AnyConnection, m: &Message) -> Result<bool> {
    let created_at = storage::micros(m.created_at);
    Ok(storage::query(
        "INSERT INTO messages (id, sender, idempotency_key, recipient, template, variables, \
         subject, body_text, body_html, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         ON CONFLICT (sender, idempotency_key) DO NOTHING",
    )
    .bind(m.id.to_string())
    .bind(&m.sender)
    .bind(&m.idempotency_key)
    .bind(&m.recipient)
    .bind(&m.template)
    .bind(m.variables.to_string())
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(m.status.as_str())
    .bind(m.attempts)
    .bind(created_at)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// The message `sender` stored under `key`.
pub async fn by_key(conn: &mut AnyConnection, sender: &str, key: &str) -> Result<Option<Message>> {
    storage::query("SELECT * FROM messages WHERE sender = $1 AND idempotency_key = $2")
        .bind(sender)
        .bind(key)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(message_of)
        .transpose()
}

pub async fn get(conn: &mut AnyConnection, id: MessageId) -> Result<Option<Message>> {
    storage::query("SELECT * FROM messages WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(message_of)
        .transpose()
}

/// Newest first, filtered by status and/or recipient.
pub async fn search(
    conn: &mut AnyConnection,
    status: Option<Status>,
    recipient: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>> {
    let rows = storage::query(
        "SELECT * FROM messages WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR recipient = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(status.map(Status::as_str))
    .bind(recipient)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    messages_of(&rows)
}

/// Puts a dead message back in the queue, due at `now`. `false` unless it was dead.
pub async fn retry(conn: &mut AnyConnection, id: MessageId, now: DateTime<Utc>) -> Result<bool> {
    Ok(storage::query(
        "UPDATE messages SET status = 'queued', attempts = 0, next_attempt_at = $1 \
         WHERE id = $2 AND status = 'dead'",
    )
    .bind(storage::micros(now))
    .bind(id.to_string())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Queued messages due at `now`, the longest waiting first; on PostgreSQL locked for the
/// transaction `conn` is in, skipping those another transaction holds.
pub async fn due(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Message>> {
    let sql = format!(
        "SELECT * FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at LIMIT $2{}",
        storage::skip_locked(conn)
    );
    let rows = storage::query(sqlx::AssertSqlSafe(sql))
        .bind(storage::micros(now))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    messages_of(&rows)
}

/// Records the outcome of one attempt at message `id`.
pub async fn record(conn: &mut AnyConnection, id: MessageId, outcome: &Outcome) -> Result<()> {
    match outcome {
        Outcome::Sent { at } => storage::query(
            "UPDATE messages SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
             last_error = NULL WHERE id = $2",
        )
        .bind(storage::micros(*at))
        .bind(id.to_string()),
        Outcome::Failed {
            error,
            dead,
            next_attempt_at,
            ..
        } => storage::query(
            "UPDATE messages SET status = $1, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = $3 WHERE id = $4",
        )
        .bind(if *dead { Status::Dead } else { Status::Queued }.as_str())
        .bind(error.clone())
        .bind(storage::micros(*next_attempt_at))
        .bind(id.to_string()),
    }
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps the language IAM announced for `email` (normalized). Versions only move forward:
/// an older event delivered late never overwrites a newer one.
pub async fn upsert_recipient(
    conn: &mut AnyConnection,
    email: &str,
    language: &str,
    version: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO recipients (email, language, version) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO UPDATE SET language = excluded.language, \
         version = excluded.version WHERE recipients.version < excluded.version",
    )
    .bind(email)
    .bind(language)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// The language IAM announced for `email` (normalized), if any.
pub async fn recipient_language(conn: &mut AnyConnection, email: &str) -> Result<Option<String>> {
    Ok(
        storage::query_scalar("SELECT language FROM recipients WHERE email = $1")
            .bind(email)
            .fetch_optional(conn)
            .await?,
    )
}
