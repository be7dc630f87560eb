//! A signed-in person changes their own password (the first admin replaces the printed
//! one so).
//!
//! A wrong current password counts as a failed sign-in of the account and of the source
//! address, with the same blocks: a stolen access token must not become a way to guess the
//! password without the sign-in page's limits. On success every refresh token of the account
//! is revoked, so every session (this one too) ends when its access token expires; the
//! person signs in again with the new password.

use std::net::IpAddr;

use contracts::AccountId;
use service::Refused;

use super::guesses::Guesses;
use crate::domain::account::{Status, check_password};
use crate::error::IamError;
use crate::{App, store};

/// Replaces the password of `who` (from `peer`) after checking `current`; returns how many
/// sessions ended.
pub(crate) async fn change_password(
    app: &App,
    who: AccountId,
    peer: IpAddr,
    current: &str,
    new: &str,
) -> Result<u64, IamError> {
    check_password(new).map_err(|e| match e {
        IamError::Refused(Refused::Invalid { message, .. }) => {
            IamError::invalid("new_password", &message)
        }
        other => other,
    })?;
    if new == current {
        return Err(IamError::invalid(
            "new_password",
            "must differ from the current password",
        ));
    }
    let (account, hash) = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        let account = store::account(&mut conn, who)
            .await?
            .filter(|a| a.status == Status::Active)
            .ok_or(Refused::NotFound("account"))?;
        store::credentials(&mut conn, &account.email)
            .await?
            .ok_or(Refused::NotFound("account"))?
    };
    // The sign-in page's budget: both count the same guesses.
    let guesses = Guesses::new(&account.email, peer);
    if let Some(seconds) = guesses.blocked_for_s(app).await? {
        return Err(IamError::TooManyAttempts(seconds));
    }
    if !app.passwords.verify(current, hash.as_deref()).await? {
        guesses.failed(app).await?;
        return Err(IamError::invalid("current_password", "is not right"));
    }
    let new_hash = app.passwords.hash(new).await?;
    let mut work = app.ctx.begin().await?;
    let now = app.now();
    store::set_password(&mut work, account.id, &new_hash, now).await?;
    let ended = store::revoke_account_tokens(&mut work, account.id, now).await?;
    guesses.succeeded(&mut work).await?;
    work.commit().await?;
    tracing::info!(account = %account.id, sessions_ended = ended, "password changed");
    Ok(ended)
}
