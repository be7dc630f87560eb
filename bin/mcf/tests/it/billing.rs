//! Billing across the system (issue 15): an order activated and completed over HTTP gives
//! the client's charge and the worker's earning in their own statements, a manager's award
//! reaches the worker, nobody reads another's account, and the trial balance is zero.

use std::time::Duration;

use billing::Statement;
use billing::client::{BillingClient, NewAward};
use billing::domain::{EntryKind, LedgerAccount};
use contracts::{AccountId, Money, WorkerId};

use crate::harness::{Cluster, Mode, account_id, poll_until};
use crate::lifecycle::{completed_order, worker};

/// `who`'s statement of `account` once it has `lines` lines (Billing hears of orders by
/// events: a moment later).
async fn statement_with(
    billing: &BillingClient,
    account: LedgerAccount,
    lines: usize,
) -> Statement {
    poll_until(
        Duration::from_secs(30),
        &format!("{account}'s statement"),
        || async {
            match billing.statement(account).await {
                Ok(s) if s.lines.len() >= lines => Ok(s),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

pub async fn an_order_charges_its_client_and_credits_its_worker(mode: Mode) {
    // Given a client, a worker who can be matched and a manager
    let mut c = Cluster::start(mode).await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    let (tom, tom_id) = worker(&mut c, "tom", 90).await;
    let max = c.token_for("max", "manager").await;
    let client_id: AccountId = account_id(&kim).parse().unwrap();
    let worker_id: WorkerId = tom_id.parse().unwrap();

    // When Kim orders a cleaning in 20 minutes (check-in is open), it becomes active, its
    // kit is issued, Tom checks in and completes it
    let (id, price) = completed_order(&mut c, &kim, &tom, service_type).await;

    // Then Kim's statement shows the charge (nothing paid before: no discount)
    let kims = BillingClient(c.client("billing", &kim));
    let mine = statement_with(&kims, LedgerAccount::Client(client_id), 1).await;
    assert_eq!(mine.balance, price);
    assert_eq!(mine.lines[0].kind, EntryKind::ClientCharge);
    assert_eq!(mine.lines[0].cause.id, id.to_string());
    // And she sees what she will owe on Sunday
    let upcoming = kims.upcoming().await.unwrap();
    assert_eq!(upcoming.week_total, price);
    // And Tom's shows 60 % of the price owed to him
    let toms = BillingClient(c.client("billing", &tom));
    let his = statement_with(&toms, LedgerAccount::Worker(worker_id), 1).await;
    let share = price.percent(60).unwrap();
    assert_eq!(his.balance, Money::zero().checked_sub(share).unwrap());
    assert_eq!(his.lines[0].kind, EntryKind::WorkerEarning);
    // Neither may read the other's account
    let e = kims
        .statement(LedgerAccount::Worker(worker_id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    let e = toms
        .statement(LedgerAccount::Client(client_id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_found"));

    // When Max awards Tom 500 (twice with the same key: once)
    let maxs = BillingClient(c.client("billing", &max));
    let award = NewAward {
        worker_id,
        amount: Money::from_minor(500),
        reason: "spotless kitchen".into(),
    };
    let first = maxs.award(&award, "award-tom-1").await.unwrap();
    assert_eq!(maxs.award(&award, "award-tom-1").await.unwrap(), first);
    // Then Tom sees it, and the manager sees both accounts and a zero trial balance
    let his = statement_with(&toms, LedgerAccount::Worker(worker_id), 2).await;
    assert_eq!(his.lines.len(), 2);
    let owed = share.checked_add(Money::from_minor(500)).unwrap();
    assert_eq!(his.balance, Money::zero().checked_sub(owed).unwrap());
    assert_eq!(
        maxs.statement(LedgerAccount::Client(client_id))
            .await
            .unwrap()
            .balance,
        price
    );
    let trial = maxs.trial_balance().await.unwrap();
    assert_eq!(trial.total, Money::zero(), "{trial:?}");
    let summary = maxs.summary(&Default::default()).await.unwrap();
    assert_eq!(summary.revenue, price);
    assert_eq!(summary.worker_earnings, share);
    assert_eq!(summary.awards, Money::from_minor(500));
}
