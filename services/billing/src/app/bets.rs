//! Bets' synchronous calls: a stake charged, a winning paid, an unwon pool moved. Each
//! under the caller's `Idempotency-Key` (required) and an entry id from Bets' own id, so a
//! retry answers the first booking and a second booking of the same stake or payout under
//! another key moves nothing (it answers the stored one, or 409 `entry_exists` when it
//! asks for something else).

use contracts::{AccountId, BetId, Money};
use messaging::Work;
use messaging::idempotency::Keyed;
use service::{Created, Refused};

use super::post;
use crate::App;
use crate::domain::bets::{check_pool, pool_holds};
use crate::domain::{
    BetBooking, CauseKind, CompanyAccount, Entry, LedgerAccount, StakeCharge, Unwon, Winning,
};
use crate::error::BillingError;
use crate::store;

/// What a bet's pool holds now (its entries' credits to the pool less their debits). On
/// PostgreSQL the pool's account row is locked first, so two payouts of one bet on two
/// replicas take turns and the second sees what the first took (SQLite has one writer).
async fn pool(work: &mut Work, bet: BetId) -> Result<Money, BillingError> {
    store::lock_account(work, LedgerAccount::Company(CompanyAccount::BetPool)).await?;
    let postings = store::cause_balance(
        work,
        LedgerAccount::Company(CompanyAccount::BetPool),
        CauseKind::Bet,
        &bet.to_string(),
    )
    .await?;
    Ok(pool_holds(postings))
}

/// A manager with no payment account cannot stake or win: 409 `no_account`.
async fn manager_account(work: &mut Work, manager: AccountId) -> Result<(), BillingError> {
    if store::account(work, LedgerAccount::Manager(manager))
        .await?
        .is_none()
    {
        return Err(Refused::conflict(
            "no_account",
            format!("manager {manager} has no payment account (not a manager IAM announced)"),
        )
        .into());
    }
    Ok(())
}

/// The shape every bet booking takes: claim the key, check, post, answer.
async fn book<R: serde::Serialize>(
    app: &App,
    scope: &str,
    key: Option<&str>,
    request: &R,
    entry: Entry,
    check: impl AsyncFnOnce(&mut Work) -> Result<(), BillingError>,
    booked: impl FnOnce(&Entry) -> BetBooking,
) -> Result<Created<BetBooking>, BillingError> {
    let key = key.ok_or_else(|| {
        BillingError::invalid("Idempotency-Key", "is required: a bet booking moves money")
    })?;
    let now = entry.head.booked_at;
    let mut work = app.ctx.begin().await?;
    let ticket = match work.claim_key(scope, Some(key), request).await? {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    if let Some(stored) = store::entry(&mut work, entry.id()).await? {
        // Booked before under another key: the same booking answers it, another is refused.
        if !stored.moves_the_same(&entry) {
            return Err(Refused::conflict(
                "entry_exists",
                format!("{} was booked before with other amounts", entry.id()),
            )
            .into());
        }
        let answer = booked(&stored);
        work.answer(ticket, 201, &answer).await?;
        work.commit().await?;
        return Ok(Created::New(answer));
    }
    check(&mut work).await?;
    let posted = post(&mut work, entry, now).await?;
    let answer = booked(posted.entry());
    work.answer(ticket, 201, &answer).await?;
    work.commit().await?;
    Ok(Created::New(answer))
}

/// Charges a manager's stake into the bet's pool.
pub async fn charge_stake(
    app: &App,
    caller: AccountId,
    key: Option<&str>,
    stake: &StakeCharge,
) -> Result<Created<BetBooking>, BillingError> {
    let entry = stake.entry(caller, app.ctx.clock.now())?;
    let scope = format!("{caller} POST /bets/stakes");
    book(
        app,
        &scope,
        key,
        stake,
        entry,
        async |work: &mut Work| manager_account(work, stake.manager_id).await,
        |e| stake.booked(e),
    )
    .await
}

/// Pays a winner's share from the bet's pool (never more than it holds).
pub async fn pay_winning(
    app: &App,
    caller: AccountId,
    key: Option<&str>,
    winning: &Winning,
) -> Result<Created<BetBooking>, BillingError> {
    let entry = winning.entry(caller, app.ctx.clock.now())?;
    let scope = format!("{caller} POST /bets/payouts");
    book(
        app,
        &scope,
        key,
        winning,
        entry,
        async |work: &mut Work| {
            manager_account(work, winning.manager_id).await?;
            Ok(check_pool(
                winning.amount,
                pool(work, winning.bet_id).await?,
            )?)
        },
        |e| winning.booked(e),
    )
    .await
}

/// Moves what nobody won of the bet's pool to the developers' fund (never more than it
/// holds).
pub async fn move_unwon(
    app: &App,
    caller: AccountId,
    key: Option<&str>,
    unwon: &Unwon,
) -> Result<Created<BetBooking>, BillingError> {
    let entry = unwon.entry(caller, app.ctx.clock.now())?;
    let scope = format!("{caller} POST /bets/unwon");
    book(
        app,
        &scope,
        key,
        unwon,
        entry,
        async |work: &mut Work| Ok(check_pool(unwon.amount, pool(work, unwon.bet_id).await?)?),
        |e| unwon.booked(e),
    )
    .await
}
