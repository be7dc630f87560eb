use chrono::{DateTime, Utc};
use contracts::{AccountId, Envelope, OrderId};
use messaging::idempotency::Keyed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calls::order_status;
use super::{BetView, Created};
use crate::App;
use crate::domain::Bet;
use crate::error::BetsError;
use crate::store;

/// What a manager opens a bet with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBet {
    /// The order, active or in progress right now.
    pub order_id: OrderId,
    /// A cut-off for stakes (business time, in the future); stakes also close when the
    /// order leaves active / in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stakes_close_at: Option<DateTime<Utc>>,
}

/// `who` opens a bet on `new.order_id`, which Ordering must say is active or in progress
/// (409 `order_not_active`; 404 when it knows no such order). One bet per order (409
/// `bet_exists`). With `key`, a retry answers the first bet.
pub async fn open_bet(
    app: &App,
    who: AccountId,
    new: &NewBet,
    key: Option<&str>,
) -> Result<Created<BetView>, BetsError> {
    let status = order_status(app, new.order_id).await?;
    let now = super::now(app);
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{who} POST /bets"), key, new)
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    let (bet, event) = Bet::open(new.order_id, status, who, new.stakes_close_at, now)?;
    if !store::insert_bet(&mut work, &bet).await? {
        let existing = store::bet_of_order(&mut work, new.order_id).await?;
        return Err(BetsError::conflict(
            "bet_exists",
            format!(
                "order {} has a bet already{}",
                new.order_id,
                existing.map_or(String::new(), |b| format!(": {}", b.id))
            ),
        ));
    }
    work.publish(&Envelope::new(&event, bet.version, None))
        .await?;
    let view = BetView::new(bet, Default::default(), Vec::new());
    work.answer(ticket, 201, &view).await?;
    work.commit().await?;
    Ok(Created::New(view))
}
