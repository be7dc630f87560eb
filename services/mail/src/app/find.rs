//! Looking at messages: a sender at its own, an admin at any.

use auth::{Principal, Role};
use contracts::MessageId;
use service::Refused;

use crate::App;
use crate::domain::{Message, Status};
use crate::error::MailError;
use crate::store;

/// Message `id`, if `who` sent it or is an admin (to anyone else it does not exist).
pub async fn message(app: &App, who: &Principal, id: MessageId) -> Result<Message, MailError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let m = store::get(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("message"))?;
    if m.sender != who.id.to_string() && !who.has(Role::Admin) {
        return Err(Refused::NotFound("message").into());
    }
    Ok(m)
}

/// What an admin looks for.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub status: Option<Status>,
    /// The recipient's address (any case).
    pub to: Option<String>,
    /// 1 to 1000; 100 if absent.
    pub limit: Option<i64>,
}

/// Messages matching `search`, newest first.
pub async fn search(app: &App, search: Search) -> Result<Vec<Message>, MailError> {
    let limit = search.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(MailError::invalid("limit", "must be 1 to 1000"));
    }
    let to = search.to.map(|t| t.trim().to_lowercase());
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::search(&mut conn, search.status, to.as_deref(), limit).await?)
}
