//! What IAM shows of its accounts (reads only: no unit of work).

use auth::{Principal, Role};
use service::Refused;

use crate::domain::account::Account;
use crate::error::IamError;
use crate::{App, store};

/// Every account, by e-mail.
pub(crate) async fn accounts(app: &App) -> Result<Vec<Account>, IamError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::accounts(&mut conn).await?)
}

/// The account `id` names (a path segment, any text): admins see every one, everyone else
/// only their own.
pub(crate) async fn account(app: &App, who: &Principal, id: &str) -> Result<Account, IamError> {
    if who.id.to_string() != id && !who.has(Role::Admin) {
        return Err(Refused::Forbidden("your roles do not allow this").into());
    }
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::account_by_text(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("account").into())
}

/// The bearer's own account (`/userinfo`).
pub(crate) async fn me(app: &App, who: &Principal) -> Result<Account, IamError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::account(&mut conn, who.id)
        .await?
        .ok_or(Refused::NotFound("account").into())
}
