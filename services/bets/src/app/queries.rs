use std::collections::BTreeMap;

use contracts::bets::Outcome;
use contracts::{AccountId, BetId, Money};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use crate::App;
use crate::domain::{Bet, BetState, Payout, Stake};
use crate::error::BetsError;
use crate::store::{self, Which};

/// A bet as managers and admins read it: its pools per outcome (confirmed stakes only)
/// and, once closed, its payouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BetView {
    #[serde(flatten)]
    pub bet: Bet,
    /// Confirmed stakes summed per outcome (every outcome listed, 0 when nobody staked).
    pub pools: BTreeMap<Outcome, Money>,
    /// The whole pool: every confirmed stake.
    pub pool: Money,
    /// Once closed: each winning stake's share, or the unwon pool to the developers' fund
    /// (no manager); `paid_at` once Billing booked it.
    pub payouts: Vec<Payout>,
}

impl BetView {
    /// `bet` with its pools per outcome (missing outcomes are 0) and `payouts`.
    pub fn new(bet: Bet, pools: BTreeMap<Outcome, Money>, payouts: Vec<Payout>) -> Self {
        let pools: BTreeMap<Outcome, Money> = Outcome::ALL
            .into_iter()
            .map(|o| (o, pools.get(&o).copied().unwrap_or_default()))
            .collect();
        // A sum of stakes each below the configured limit: it fits.
        let pool = pools
            .values()
            .fold(Money::zero(), |sum, p| sum.checked_add(*p).unwrap_or(sum));
        BetView {
            bet,
            pools,
            pool,
            payouts,
        }
    }
}

/// Bet `id` as read.
pub async fn bet_view(app: &App, id: BetId) -> Result<BetView, BetsError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let bet = store::bet(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    let mut pools = store::pools(&mut conn, Which::Bet(id)).await?;
    let mut payouts = store::payouts(&mut conn, Which::Bet(id)).await?;
    Ok(BetView::new(
        bet,
        pools.remove(&id).unwrap_or_default(),
        payouts.remove(&id).unwrap_or_default(),
    ))
}

/// Bets in `state` (all if `None`), newest first, with their pools and payouts.
pub async fn bets(app: &App, state: Option<BetState>) -> Result<Vec<BetView>, BetsError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let bets = store::bets(&mut conn, state).await?;
    let mut pools = store::pools(&mut conn, Which::Listed(state)).await?;
    let mut payouts = store::payouts(&mut conn, Which::Listed(state)).await?;
    Ok(bets
        .into_iter()
        .map(|bet| {
            let id = bet.id;
            BetView::new(
                bet,
                pools.remove(&id).unwrap_or_default(),
                payouts.remove(&id).unwrap_or_default(),
            )
        })
        .collect())
}

/// `manager`'s stakes, newest first.
pub async fn stakes_of_manager(app: &App, manager: AccountId) -> Result<Vec<Stake>, BetsError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::stakes_of_manager(&mut conn, manager).await?)
}

/// Every stake of bet `id`, earliest first (404 when there is no such bet).
pub async fn stakes_of_bet(app: &App, id: BetId) -> Result<Vec<Stake>, BetsError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::bet(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("bet"))?;
    Ok(store::stakes_of_bet(&mut conn, id).await?)
}
