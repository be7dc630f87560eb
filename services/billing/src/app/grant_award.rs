use contracts::billing::AwardGranted;
use contracts::{AccountId, AwardId, Envelope, Money};
use messaging::idempotency::Keyed;
use service::{Created, Refused};

use super::{Posted, post};
use crate::App;
use crate::domain::{Award, LedgerAccount, NewAward};
use crate::error::BillingError;
use crate::store;

/// Manager `who` awards `asked.amount` to a worker for `asked.reason`, under the request's
/// `key` (required: an award moves money): the worker's account credited, the awards cost
/// debited, `billing.award.granted` published. The same key again answers the first award
/// and books nothing; a worker Billing has no payment account for is not found.
pub async fn grant_award(
    app: &App,
    who: AccountId,
    key: Option<&str>,
    asked: &NewAward,
) -> Result<Created<Award>, BillingError> {
    let key = key.ok_or_else(|| {
        BillingError::invalid("Idempotency-Key", "is required: an award moves money")
    })?;
    let now = app.ctx.clock.now();
    let (award, entry) = asked.grant(
        AwardId::new(),
        who,
        Money::from_minor(app.config.max_award),
        now,
    )?;
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{who} POST /awards"), Some(key), asked)
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    if store::account(&mut work, LedgerAccount::Worker(award.worker_id))
        .await?
        .is_none()
    {
        return Err(Refused::NotFound("worker").into());
    }
    // A fresh award id each time: only the key makes a retry the same award.
    let Posted::New(_) = post(&mut work, entry, now).await? else {
        return Err(BillingError::ledger(format!(
            "award {} booked twice",
            award.id
        )));
    };
    let granted = AwardGranted {
        entry_id: award.entry_id.to_string(),
        award_id: award.id,
        worker_id: award.worker_id,
        amount: award.amount,
        reason: award.reason.clone(),
        granted_by: who,
        booked_at: now,
    };
    work.publish(&Envelope::new(&granted, 1, None)).await?;
    work.answer(ticket, 201, &award).await?;
    work.commit().await?;
    Ok(Created::New(award))
}
