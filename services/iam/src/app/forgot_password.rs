//! "Forgot your password?": a set-password link mailed to the address if it is an active
//! person's account. The answer is the same whether or not it is, so nobody learns which
//! addresses have accounts.
//!
//! It is public and mails people, so it is limited like sign-in: every request counts
//! against its source address with the sign-in address policy (growing blocks that always
//! end), checked before any lookup; and an account gets at most one such mail per quarter
//! hour (the mail's idempotency key), so nobody can bury a person in reset mails.

use std::net::IpAddr;

use auth::Role;

use crate::domain::account::{Status, normalize_email};
use crate::error::IamError;
use crate::{App, app, store};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered "if it has an account, a link is on its way" (mailed or not).
    Answered,
    /// The source asked too often: blocked this many µs more.
    Throttled(i64),
}

/// One reset mail per account per this window (µs).
const MAIL_WINDOW: i64 = 15 * 60 * 1_000_000;

/// Someone at `peer` forgot the password of `email`.
pub(crate) async fn forgot_password(
    app: &App,
    peer: IpAddr,
    email: &str,
) -> Result<Outcome, IamError> {
    let now = app.now();
    let wait = app.forgot_throttle.blocked_for(peer, now);
    if wait > 0 {
        return Ok(Outcome::Throttled(wait));
    }
    app.forgot_throttle.fail(peer, now);
    let Ok(email) = normalize_email(email) else {
        return Ok(Outcome::Answered);
    };
    let mut work = app.ctx.begin().await?;
    let found = store::credentials(&mut work, &email).await?;
    if let Some((account, _)) = found
        && account.status == Status::Active
        && !account.roles.contains(&Role::Service)
    {
        let key = format!("reset-{}-{}", account.id, now / MAIL_WINDOW);
        app::password_link::mail_link(app, &mut work, &account, "password_reset", key, None)
            .await?;
    }
    work.commit().await?;
    Ok(Outcome::Answered)
}
