//! Mail's table.

use serde::Serialize;
use storage::{AnyConnection, AnyRow, Row};

type Result<T> = std::result::Result<T, storage::DbError>;

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub recipient: String,
    pub template: String,
    pub variables: serde_json::Value,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: chrono_free::Time,
    pub sent_at: Option<chrono_free::Time>,
    #[serde(skip)]
    pub sender: String,
    #[serde(skip)]
    pub idempotency_key: String,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: String,
}

/// Times as RFC 3339 strings without pulling chrono into this crate's API.
pub mod chrono_free {
    /// Unix microseconds, serialized as RFC 3339.
    #[derive(Debug, Clone, Copy)]
    pub struct Time(pub i64);

    impl serde::Serialize for Time {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&storage::time(self.0).to_rfc3339())
        }
    }
}

fn message_of(r: &AnyRow) -> Message {
    Message {
        id: r.get("id"),
        recipient: r.get("recipient"),
        template: r.get("template"),
        variables: serde_json::from_str(&r.get::<String, _>("variables")).unwrap_or_default(),
        subject: r.get("subject"),
        status: r.get("status"),
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        created_at: chrono_free::Time(r.get("created_at")),
        sent_at: r.get::<Option<i64>, _>("sent_at").map(chrono_free::Time),
        sender: r.get("sender"),
        idempotency_key: r.get("idempotency_key"),
        body_text: r.get("body_text"),
        body_html: r.get("body_html"),
    }
}

/// Stores a queued message; `false` if the sender already used the key.
pub async fn insert(conn: &mut AnyConnection, m: &Message) -> Result<bool> {
    let now = storage::now_micros();
    Ok(storage::query(
        "INSERT INTO messages (id, sender, idempotency_key, recipient, template, variables, \
         subject, body_text, body_html, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10) \
         ON CONFLICT (sender, idempotency_key) DO NOTHING",
    )
    .bind(&m.id)
    .bind(&m.sender)
    .bind(&m.idempotency_key)
    .bind(&m.recipient)
    .bind(&m.template)
    .bind(m.variables.to_string())
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn by_key(conn: &mut AnyConnection, sender: &str, key: &str) -> Result<Option<Message>> {
    Ok(
        storage::query("SELECT * FROM messages WHERE sender = $1 AND idempotency_key = $2")
            .bind(sender)
            .bind(key)
            .fetch_optional(conn)
            .await?
            .map(|r| message_of(&r)),
    )
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Message>> {
    Ok(storage::query("SELECT * FROM messages WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| message_of(&r)))
}

/// Newest first, filtered by status and/or recipient.
pub async fn search(
    conn: &mut AnyConnection,
    status: Option<&str>,
    recipient: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>> {
    Ok(storage::query(
        "SELECT * FROM messages WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR recipient = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(status)
    .bind(recipient)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(message_of)
    .collect())
}

/// Puts a dead message back in the queue. `false` unless it was dead.
pub async fn retry(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(storage::query(
        "UPDATE messages SET status = 'queued', attempts = 0, next_attempt_at = $1 \
         WHERE id = $2 AND status = 'dead'",
    )
    .bind(storage::now_micros())
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Due queued messages; on PostgreSQL claimed for this transaction.
pub async fn due(conn: &mut AnyConnection, claim: bool, limit: i64) -> Result<Vec<Message>> {
    let sql = if claim {
        "SELECT * FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT * FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at LIMIT $2"
    };
    Ok(storage::query(sql)
        .bind(storage::now_micros())
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(message_of)
        .collect())
}

pub async fn mark_sent(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let now = storage::now_micros();
    storage::query(
        "UPDATE messages SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
         last_error = NULL WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: queued again at `next_at`, or dead.
pub async fn mark_failed(
    conn: &mut AnyConnection,
    id: &str,
    error: &str,
    dead: bool,
    next_at: i64,
) -> Result<()> {
    storage::query(
        "UPDATE messages SET status = $1, attempts = attempts + 1, last_error = $2, \
         next_attempt_at = $3 WHERE id = $4",
    )
    .bind(if dead { "dead" } else { "queued" })
    .bind(error)
    .bind(next_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
