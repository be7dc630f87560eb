//! Ordering's news that moves money: an activation charges the client, a completion
//! credits the worker, a failure at the worker's fault penalizes the worker. Each in the
//! consumer's unit of work, booked once per order whatever is heard twice.

use chrono::{DateTime, Utc};
use contracts::billing::{ClientCharged, WorkerCredited, WorkerPenalized};
use contracts::ordering::{OrderActivated, OrderCompleted, OrderFailed};
use contracts::{Envelope, Event, Money};
use messaging::Work;

use super::{Posted, post};
use crate::App;
use crate::domain::{Charge, Entry, LedgerAccount, OrderMoneyError, orders};
use crate::error::BillingError;
use crate::store;

/// The event cannot be booked as it is (a negative price): refused, never retried.
fn bad_event(e: OrderMoneyError) -> BillingError {
    service::Refused::invalid("data", e.to_string()).into()
}

/// Books `entry` (when the rule made one) in answer to `event` and, when it is new,
/// publishes what `announce` makes of it: heard again, nothing is booked or published.
async fn book<E: Event>(
    work: &mut Work,
    event: &Envelope,
    entry: Option<Entry>,
    now: DateTime<Utc>,
    announce: impl FnOnce(&Entry) -> Result<E, BillingError>,
) -> Result<Option<E>, BillingError> {
    let Some(entry) = entry else {
        return Ok(None);
    };
    let Posted::New(entry) = post(work, entry, now).await? else {
        return Ok(None);
    };
    let announced = announce(&entry)?;
    work.publish(&Envelope::new(&announced, 1, Some(event)))
        .await?;
    Ok(Some(announced))
}

/// An order became active: its client is charged the price less the loyalty discount for
/// what the client has paid so far (collected invoices), and `billing.client.charged` is
/// published. Heard again: nothing more.
pub async fn charge_activated(
    app: &App,
    work: &mut Work,
    event: &Envelope,
    activated: &OrderActivated,
) -> Result<Option<ClientCharged>, BillingError> {
    let now = app.ctx.clock.now();
    let paid = store::paid_by_client(work, activated.client_id).await?;
    let charge = Charge::of(activated.price, paid, &app.config.loyalty()).map_err(bad_event)?;
    let entry = orders::client_charge(activated, &charge, event.id, now).map_err(bad_event)?;
    book(work, event, entry, now, |entry| {
        Ok(ClientCharged {
            entry_id: entry.id().to_string(),
            order_id: activated.order_id,
            client_id: activated.client_id,
            price: charge.price,
            discount_percent: charge.discount_percent,
            discount: charge.discount,
            amount: charge.amount,
            booked_at: now,
        })
    })
    .await
}

/// An order was completed: its worker is credited the configured share of its price and
/// `billing.worker.credited` is published. Heard again: nothing more.
pub async fn credit_completed(
    app: &App,
    work: &mut Work,
    event: &Envelope,
    completed: &OrderCompleted,
) -> Result<Option<WorkerCredited>, BillingError> {
    let now = app.ctx.clock.now();
    let share = app.config.worker_share_percent;
    let earned = orders::worker_earning(completed, share, event.id, now).map_err(bad_event)?;
    let worker = earned.as_ref().map(|(worker, _)| *worker);
    book(work, event, earned.map(|(_, e)| e), now, |entry| {
        let worker = worker.ok_or_else(|| BillingError::ledger("an earning without a worker"))?;
        Ok(WorkerCredited {
            entry_id: entry.id().to_string(),
            order_id: completed.order.order_id,
            worker_id: worker,
            order_price: completed.order.price.unwrap_or_default(),
            amount: Money::zero()
                .checked_sub(entry.amount_for(LedgerAccount::Worker(worker)))
                .ok_or_else(|| BillingError::ledger("a worker's share beyond 64 bits"))?,
            booked_at: now,
        })
    })
    .await
}

/// An order failed: a worker at fault is charged the penalty and
/// `billing.worker.penalized` is published; a worker not at fault (the kit never issued)
/// and an order nobody was matched to cost nothing. Heard again: nothing more.
pub async fn penalize_failed(
    app: &App,
    work: &mut Work,
    event: &Envelope,
    failed: &OrderFailed,
) -> Result<Option<WorkerPenalized>, BillingError> {
    let now = app.ctx.clock.now();
    let penalty = Money::from_minor(app.config.failure_penalty);
    let fined = orders::worker_penalty(failed, penalty, event.id, now).map_err(bad_event)?;
    let worker = fined.as_ref().map(|(worker, _)| *worker);
    book(work, event, fined.map(|(_, e)| e), now, |entry| {
        let worker = worker.ok_or_else(|| BillingError::ledger("a penalty without a worker"))?;
        Ok(WorkerPenalized {
            entry_id: entry.id().to_string(),
            order_id: failed.order.order_id,
            worker_id: worker,
            amount: entry.amount_for(LedgerAccount::Worker(worker)),
            failure_reason: failed.reason.clone(),
            booked_at: now,
        })
    })
    .await
}
