use contracts::{AccountId, BetId, Money};
use messaging::idempotency::{KeyError, request_hash};
use service::Refused;

use super::calls::order_status;
use super::resolve_stake;
use crate::App;
use crate::domain::bet::StakesClosed;
use crate::domain::{NewStake, Stake, StakeStatus};
use crate::error::BetsError;
use crate::store;

/// A stake as placed: new, or what the same request placed before.
#[derive(Debug)]
pub struct Placed {
    pub stake: Stake,
    /// A retry of an earlier request (same manager, same Idempotency-Key, same body).
    pub replayed: bool,
}

/// `manager` stakes `new` in bet `bet_id` under Idempotency-Key `key`.
///
/// The stake is recorded pending first (its id is Billing's key), then Billing is asked to
/// charge it outside any transaction, then its answer is recorded: confirmed, it is in the
/// pool (201); refused by Billing, it never is (409 `stake_refused`); Billing unreachable,
/// it stays pending and out of the pool (503), and the same request again (or the sweep)
/// asks Billing again with the same key. Stakes are taken while the bet is open, before its
/// cut-off, and while Ordering says the order is active or in progress (409
/// `stakes_closed`).
pub async fn place_stake(
    app: &App,
    manager: AccountId,
    bet_id: BetId,
    key: &str,
    new: &NewStake,
) -> Result<Placed, BetsError> {
    let hash = request_hash(&[
        bet_id.to_string().as_bytes(),
        &serde_json::to_vec(new).map_err(KeyError::from)?,
    ]);
    if let Some(stake) = earlier(app, manager, key, &hash).await? {
        return finish(app, stake, true).await;
    }
    let now = super::now(app);
    let max = Money::from_minor(app.config.max_stake);
    let stake = Stake::place(bet_id, manager, new, max, now)?;
    let bet = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::bet(&mut conn, bet_id)
            .await?
            .ok_or(Refused::NotFound("bet"))?
    };
    bet.takes_stakes(now).map_err(Refused::from)?;
    let status = order_status(app, bet.order_id).await?;
    let mut work = app.ctx.begin().await?;
    let mut bet = store::lock_bet(&mut work, bet_id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    match bet.takes_stakes_on(status, now) {
        Ok(()) => {}
        Err(StakesClosed::OrderLeft) if !bet.stakes_closed => {
            // Remembered, so later stakes are refused without asking Ordering.
            bet.stakes_closed = true;
            store::save_bet(&mut work, &bet).await?;
            work.commit().await?;
            return Err(Refused::from(StakesClosed::OrderLeft).into());
        }
        Err(closed) => return Err(Refused::from(closed).into()),
    }
    if !store::insert_stake(&mut work, &stake, key, &hash).await? {
        // The same key raced this request in: the stake it recorded is the one.
        work.rollback().await?;
        let stake = earlier(app, manager, key, &hash)
            .await?
            .ok_or(Refused::NotFound("stake"))?;
        return finish(app, stake, true).await;
    }
    work.commit().await?;
    finish(app, stake, false).await
}

/// The stake `manager` placed with `key` before, if any; refused when that was another
/// request (422 `idempotency_key_reused`).
async fn earlier(
    app: &App,
    manager: AccountId,
    key: &str,
    hash: &str,
) -> Result<Option<Stake>, BetsError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    match store::stake_by_key(&mut conn, manager, key).await? {
        Some((_, earlier_hash)) if earlier_hash != hash => {
            Err(Refused::from(KeyError::Reused).into())
        }
        Some((stake, _)) => Ok(Some(stake)),
        None => Ok(None),
    }
}

/// Resolves `stake` with Billing if pending, and answers what it became.
async fn finish(app: &App, stake: Stake, replayed: bool) -> Result<Placed, BetsError> {
    let stake = resolve_stake(app, stake).await?;
    match stake.status {
        StakeStatus::Confirmed => Ok(Placed { stake, replayed }),
        StakeStatus::Refused => Err(stake
            .refused()
            .unwrap_or_else(|| Refused::conflict("stake_refused", "Billing refused it"))
            .into()),
        // Recorded pending by a racing request that has not heard from Billing yet.
        StakeStatus::Pending => Err(BetsError::PeerUnavailable {
            peer: super::calls::BILLING,
            detail: format!("stake {} is still pending", stake.id),
        }),
    }
}
