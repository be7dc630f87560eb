//! Someone opens a set-password link and chooses a password. Using a link signs the
//! account out everywhere.
//!
//! This is public, and an argon2 hash costs ~19 MiB and a core for a while, so nothing is
//! hashed for a link that does not work: the link is looked up first (a read), and a source
//! that keeps presenting unknown or spent links is throttled with the sign-in policy (per
//! address, growing, always-ending blocks) before any lookup. The count lives in memory:
//! links are unguessable, so this is about load, not guessing, and a database write per
//! refused request is what a flood from many addresses would cost.

use std::net::IpAddr;

use service::Refused;

use crate::domain::account::check_password;
use crate::error::IamError;
use crate::tokens::digest;
use crate::{App, store};

/// How a set-password attempt ended.
pub(crate) enum Outcome {
    Set,
    /// The link does not work (unknown, used or expired).
    Gone,
    /// The source presented too many links that do not work: blocked this many µs more.
    Throttled(i64),
    /// The password does not fit the rules (the message says why).
    Refused(String),
}

/// Whether the link of `token` still works (the page checks before showing a form).
pub(crate) async fn usable(app: &App, token: &str) -> Result<bool, IamError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::password_link_usable(&mut conn, &digest(token), app.now()).await?)
}

/// Sets the password of the link's account, once, for a request from `peer`.
pub(crate) async fn set_password(
    app: &App,
    peer: IpAddr,
    token: &str,
    password: &str,
) -> Result<Outcome, IamError> {
    let now = app.now();
    let wait = app.link_throttle.blocked_for(peer, now);
    if wait > 0 {
        return Ok(Outcome::Throttled(wait));
    }
    if !usable(app, token).await? {
        app.link_throttle.fail(peer, now);
        return Ok(Outcome::Gone);
    }
    if let Err(IamError::Refused(Refused::Invalid { message, .. })) = check_password(password) {
        return Ok(Outcome::Refused(message));
    }
    let hash = app.passwords.hash(password).await?;
    let mut work = app.ctx.begin().await?;
    let now = app.now();
    // Used atomically here: of two requests racing with one link, one sets the password.
    let Some(account_id) = store::use_password_link(&mut work, &digest(token), now).await? else {
        return Ok(Outcome::Gone);
    };
    store::set_password(&mut work, account_id, &hash, now).await?;
    store::revoke_account_tokens(&mut work, account_id, now).await?;
    work.commit().await?;
    Ok(Outcome::Set)
}
