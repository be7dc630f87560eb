//! The budget of password guesses a sign-in and a change of password share: failures count
//! against the account and against the source address, blocks grow and always end
//! (`domain::throttle`), and a success clears the account's count.

use std::net::IpAddr;

use crate::App;
use crate::domain::throttle;
use crate::error::IamError;
use crate::store;

/// The throttle keys of one guess: this account (by e-mail) from this address.
pub(crate) struct Guesses {
    account_key: String,
    address_key: String,
}

impl Guesses {
    pub(crate) fn new(email: &str, peer: IpAddr) -> Guesses {
        Guesses {
            account_key: format!("account:{}", email.trim().to_lowercase()),
            address_key: format!("address:{peer}"),
        }
    }

    /// Whole seconds to wait before guessing again, if either key is blocked now.
    pub(crate) async fn blocked_for_s(&self, app: &App) -> Result<Option<i64>, IamError> {
        let now = app.now();
        let mut conn = app.ctx.db.pool().acquire().await?;
        let by_account = store::throttle(&mut conn, &self.account_key).await?;
        let by_address = store::throttle(&mut conn, &self.address_key).await?;
        let wait = by_account.blocked_for(now).max(by_address.blocked_for(now));
        Ok((wait > 0).then(|| (wait + 999_999) / 1_000_000))
    }

    /// A wrong password: counted against the account and the address.
    pub(crate) async fn failed(&self, app: &App) -> Result<(), IamError> {
        let now = app.now();
        let mut work = app.ctx.begin().await?;
        store::record_failure(&mut work, &self.account_key, throttle::ACCOUNT, now).await?;
        store::record_failure(&mut work, &self.address_key, throttle::ADDRESS, now).await?;
        work.commit().await?;
        Ok(())
    }

    /// The right password: the account's count starts again (in the caller's work).
    pub(crate) async fn succeeded(&self, work: &mut messaging::Work) -> Result<(), IamError> {
        store::clear_throttle(work, &self.account_key).await?;
        Ok(())
    }
}
