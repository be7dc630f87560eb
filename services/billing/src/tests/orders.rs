//! Ordering's news in, money booked: a client's charge with the loyalty discount, a
//! worker's share, a worker's penalty; each once, whatever is heard twice.

use auth::Role;
use chrono::DateTime;
use contracts::ordering::{OrderActivated, OrderCompleted, OrderFacts, OrderFailed};
use contracts::{AccountId, Envelope, Money, OrderId, ServiceTypeId, WorkerId};
use proptest::prelude::*;

use super::{as_role, billing, billing_on_postgres, deliver, deliver_as_new_event, on_order};
use crate::client::BillingClient;
use crate::domain::{EntryKind, LedgerAccount};

fn m(minor: i64) -> Money {
    Money::from_minor(minor)
}

pub(super) fn activated(client: AccountId, worker: WorkerId, price: i64) -> OrderActivated {
    OrderActivated {
        order_id: OrderId::new(),
        client_id: client,
        worker_id: worker,
        price: m(price),
        service_type_id: ServiceTypeId::new(),
        scheduled_at: DateTime::UNIX_EPOCH,
        service_type_name: "Cleaning".into(),
        duration_minutes: 60,
        rebook_of: None,
        description: "Kitchen".into(),
        client_name: None,
        worker_name: None,
    }
}

fn facts(a: &OrderActivated) -> OrderFacts {
    OrderFacts {
        order_id: a.order_id,
        client_id: a.client_id,
        worker_id: Some(a.worker_id),
        price: Some(a.price),
        service_type_id: a.service_type_id,
        service_type_name: a.service_type_name.clone(),
        scheduled_at: a.scheduled_at,
        duration_minutes: 60,
        rebook_of: None,
    }
}

pub(super) fn completed(a: &OrderActivated) -> OrderCompleted {
    OrderCompleted {
        order: facts(a),
        checked_in_at: DateTime::UNIX_EPOCH,
        completed_at: DateTime::UNIX_EPOCH,
        report_photo: "report".into(),
    }
}

pub(super) fn failed(a: &OrderActivated, reason: &str, at_fault: bool) -> OrderFailed {
    OrderFailed {
        order: facts(a),
        from_status: "active".into(),
        reason: reason.into(),
        worker_at_fault: Some(at_fault),
        deadline: DateTime::UNIX_EPOCH,
        failed_at: DateTime::UNIX_EPOCH,
    }
}

async fn statement_of(admin: &BillingClient, account: LedgerAccount) -> (Money, Vec<EntryKind>) {
    let s = admin.statement(account).await.unwrap();
    (s.balance, s.lines.iter().map(|l| l.kind).collect())
}

#[tokio::test]
async fn given_an_order_activated_and_completed_then_the_client_is_charged_and_the_worker_credited()
{
    // Given Billing and an order of price 101 activated, then completed
    let ts = billing().await;
    let consumer = on_order(&ts);
    let (client, worker) = (AccountId::new(), WorkerId::new());
    let order = activated(client, worker, 101);
    deliver(&consumer, &Envelope::new(&order, 2, None)).await;
    deliver(&consumer, &Envelope::new(&completed(&order), 4, None)).await;
    // Then the client owes the full price (nothing paid yet: no discount), the worker is
    // owed 60 % of it rounded (60.6 -> 61), and the ledger balances
    let admin = as_role(&ts, Role::Admin);
    assert_eq!(
        statement_of(&admin, LedgerAccount::Client(client)).await,
        (m(101), vec![EntryKind::ClientCharge])
    );
    assert_eq!(
        statement_of(&admin, LedgerAccount::Worker(worker)).await,
        (m(-61), vec![EntryKind::WorkerEarning])
    );
    assert_eq!(admin.trial_balance().await.unwrap().total, Money::zero());
    // And both were announced once
    let charged = ts.published("billing.client.charged").await;
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0]["data"]["amount"], 101);
    assert_eq!(charged[0]["data"]["discount_percent"], 0);
    let credited = ts.published("billing.worker.credited").await;
    assert_eq!(credited.len(), 1);
    assert_eq!(credited[0]["data"]["amount"], 61);
}

#[tokio::test]
async fn given_failures_then_only_a_worker_at_fault_pays_the_penalty_and_the_client_pays_in_full() {
    let ts = billing().await;
    let consumer = on_order(&ts);
    let admin = as_role(&ts, Role::Admin);
    let (client, worker) = (AccountId::new(), WorkerId::new());
    // Given a no-show and an order whose kit was never issued, and a canceled one
    let no_show = activated(client, worker, 100);
    let no_kit = activated(client, worker, 100);
    let canceled = activated(client, worker, 100);
    for a in [&no_show, &no_kit, &canceled] {
        deliver(&consumer, &Envelope::new(a, 2, None)).await;
    }
    deliver(
        &consumer,
        &Envelope::new(&failed(&no_show, "no_show", true), 3, None),
    )
    .await;
    deliver(
        &consumer,
        &Envelope::new(&failed(&no_kit, "kit_not_ready", false), 3, None),
    )
    .await;
    // Then the worker is charged 40 once, the client the three orders in full
    assert_eq!(
        statement_of(&admin, LedgerAccount::Worker(worker)).await,
        (m(40), vec![EntryKind::WorkerPenalty])
    );
    assert_eq!(
        statement_of(&admin, LedgerAccount::Client(client)).await.0,
        m(300)
    );
    let penalized = ts.published("billing.worker.penalized").await;
    assert_eq!(penalized.len(), 1);
    assert_eq!(penalized[0]["data"]["failure_reason"], "no_show");
}

#[tokio::test]
async fn given_an_event_heard_again_under_a_new_id_then_nothing_more_is_booked() {
    heard_again_books_once(&billing().await).await;
}

/// The same on PostgreSQL (the conflict-ignoring insert and the sums are SQL both backends
/// must run alike).
#[tokio::test]
async fn given_an_event_heard_again_on_postgres_then_nothing_more_is_booked() {
    let (_pg, ts) = billing_on_postgres("billing_orders_test").await;
    heard_again_books_once(&ts).await;
}

async fn heard_again_books_once(ts: &service::testing::TestService) {
    let consumer = on_order(ts);
    let (client, worker) = (AccountId::new(), WorkerId::new());
    let order = activated(client, worker, 100);
    let events = [
        Envelope::new(&order, 2, None),
        Envelope::new(&completed(&order), 4, None),
    ];
    // Given each event delivered, then delivered again as a new event of the same fact
    for e in &events {
        deliver(&consumer, e).await;
        deliver(&consumer, e).await;
        deliver_as_new_event(&consumer, e).await;
    }
    // Then each was booked and announced once
    let admin = as_role(ts, Role::Admin);
    assert_eq!(
        statement_of(&admin, LedgerAccount::Client(client)).await.0,
        m(100)
    );
    assert_eq!(
        statement_of(&admin, LedgerAccount::Worker(worker)).await.0,
        m(-60)
    );
    assert_eq!(ts.published("billing.client.charged").await.len(), 1);
    assert_eq!(ts.published("billing.worker.credited").await.len(), 1);
}

#[tokio::test]
async fn given_a_negative_price_then_the_event_is_dead_lettered_and_nothing_booked() {
    let ts = billing().await;
    let consumer = on_order(&ts);
    let order = activated(AccountId::new(), WorkerId::new(), -5);
    let body = serde_json::to_vec(&Envelope::new(&order, 2, None)).unwrap();
    assert_eq!(
        consumer.process(&body, 1).await,
        messaging::consumer::Disposition::Done
    );
    assert_eq!(ts.ops().dead_letters(false).await.unwrap().len(), 1);
    let trial = as_role(&ts, Role::Admin).trial_balance().await.unwrap();
    assert!(trial.accounts.iter().all(|l| l.balance == Money::zero()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    /// Any mix of order events, each delivered any number of times, books each order's
    /// charge, share and penalty at most once, and the trial balance stays zero.
    #[test]
    fn replaying_any_order_event_is_a_no_op(
        prices in proptest::collection::vec(0i64..100_000, 1..4),
        repeats in 1usize..4,
        fail in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let ts = billing().await;
            let consumer = on_order(&ts);
            let (client, worker) = (AccountId::new(), WorkerId::new());
            let mut client_total = 0;
            let mut worker_total = 0;
            for price in &prices {
                let order = activated(client, worker, *price);
                let end = if fail {
                    Envelope::new(&failed(&order, "no_show", true), 3, None)
                } else {
                    Envelope::new(&completed(&order), 4, None)
                };
                let start = Envelope::new(&order, 2, None);
                for _ in 0..repeats {
                    deliver_as_new_event(&consumer, &start).await;
                    deliver_as_new_event(&consumer, &end).await;
                }
                client_total += price;
                worker_total += if fail { 40 } else { -m(*price).percent(60).unwrap().minor() };
            }
            let admin = as_role(&ts, Role::Admin);
            let trial = admin.trial_balance().await.unwrap();
            assert_eq!(trial.total, Money::zero());
            assert_eq!(statement_of(&admin, LedgerAccount::Client(client)).await.0, m(client_total));
            let worker_balance = admin
                .statement(LedgerAccount::Worker(worker))
                .await
                .map(|s| s.balance)
                .unwrap_or_default();
            assert_eq!(worker_balance, m(worker_total));
        });
    }
}

/// A collected invoice of `minor` for `client`, as the weekly cycle books it.
async fn collected(ts: &service::testing::TestService, client: AccountId, minor: i64, key: &str) {
    use crate::domain::{
        Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind,
    };
    let now = ts.ctx().clock.now();
    let head = EntryHead {
        id: EntryId::of(EntryKind::Collection, key),
        kind: EntryKind::Collection,
        reason: "weekly invoice collected".into(),
        actor: Actor::Billing,
        cause: Cause {
            kind: CauseKind::Cycle,
            id: key.into(),
            event_id: None,
        },
        booked_at: now,
    };
    let entry = Entry::transfer(
        head,
        LedgerAccount::Company(CompanyAccount::BankCollections),
        LedgerAccount::Client(client),
        m(minor),
    )
    .unwrap();
    let mut work = ts.ctx().begin().await.unwrap();
    crate::app::post(&mut work, entry, now).await.unwrap();
    work.commit().await.unwrap();
}

#[tokio::test]
async fn given_what_a_client_paid_then_the_next_charge_has_its_loyalty_discount() {
    let ts = billing().await;
    let consumer = on_order(&ts);
    let admin = as_role(&ts, Role::Admin);
    let (client, worker) = (AccountId::new(), WorkerId::new());
    // Given 20 000 charged but never collected: not paid, so no discount
    deliver(
        &consumer,
        &Envelope::new(&activated(client, worker, 20_000), 2, None),
    )
    .await;
    let order = activated(client, worker, 110);
    deliver(&consumer, &Envelope::new(&order, 2, None)).await;
    let charged = ts.published("billing.client.charged").await;
    assert_eq!(charged[1]["data"]["discount_percent"], 0);
    // When exactly 10 000 was collected: still nothing ("over" is strict)
    collected(&ts, client, 10_000, "w1").await;
    let order = activated(client, worker, 110);
    deliver(&consumer, &Envelope::new(&order, 2, None)).await;
    assert_eq!(
        ts.published("billing.client.charged").await[2]["data"]["amount"],
        110
    );
    // When one more unit was collected: 5 % off, the half rounded in the client's favour
    collected(&ts, client, 1, "w2").await;
    let order = activated(client, worker, 110);
    deliver(&consumer, &Envelope::new(&order, 2, None)).await;
    let last = &ts.published("billing.client.charged").await[3]["data"];
    assert_eq!(
        (
            &last["discount_percent"],
            &last["discount"],
            &last["amount"]
        ),
        (&5.into(), &6.into(), &104.into())
    );
    // And the client's account agrees: charges less what was collected
    let statement = admin
        .statement(LedgerAccount::Client(client))
        .await
        .unwrap();
    assert_eq!(statement.balance, m(20_000 + 110 + 110 + 104 - 10_001));
    assert_eq!(admin.trial_balance().await.unwrap().total, Money::zero());
}
