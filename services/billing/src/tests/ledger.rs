//! The ledger itself: append-only in the database, idempotent by entry id, balanced.

use auth::Role;
use chrono::{DateTime, Utc};
use contracts::{AccountId, Money};

use super::{as_role, billing, billing_on_postgres};
use crate::app::{Posted, post};
use crate::domain::{
    Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind, LedgerAccount,
};

fn award(worker: AccountId, minor: i64, now: DateTime<Utc>) -> Entry {
    let head = EntryHead {
        id: EntryId::of(EntryKind::Award, "test-award"),
        kind: EntryKind::Award,
        reason: "for tests".into(),
        actor: Actor::Billing,
        cause: Cause {
            kind: CauseKind::Award,
            id: "test-award".into(),
            event_id: None,
        },
        booked_at: now,
    };
    Entry::transfer(
        head,
        LedgerAccount::Company(CompanyAccount::Awards),
        LedgerAccount::Worker(worker.into()),
        Money::from_minor(minor),
    )
    .unwrap()
}

#[tokio::test]
async fn given_an_entry_posted_twice_then_the_second_is_a_no_op_answering_the_first() {
    // Given Billing and an award entry posted once
    let ts = billing().await;
    let now = ts.ctx().clock.now();
    let worker = AccountId::new();
    let mut work = ts.ctx().begin().await.unwrap();
    let first = post(&mut work, award(worker, 500, now), now).await.unwrap();
    work.commit().await.unwrap();
    assert!(first.is_new());
    // When the same cause is posted again, even with another amount
    let mut work = ts.ctx().begin().await.unwrap();
    let again = post(&mut work, award(worker, 900, now), now).await.unwrap();
    work.commit().await.unwrap();
    // Then nothing is written and the first entry is the one that counts
    let Posted::Already(stored) = &again else {
        panic!("posted twice: {again:?}")
    };
    assert_eq!(stored.id(), first.entry().id());
    let account = LedgerAccount::Worker(worker.into());
    assert_eq!(stored.amount_for(account), Money::from_minor(-500));
    let trial = as_role(&ts, Role::Admin).trial_balance().await.unwrap();
    assert_eq!(trial.total, Money::zero());
    let line = |account: LedgerAccount| {
        trial
            .accounts
            .iter()
            .find(|l| l.account == account)
            .map(|l| l.balance)
    };
    assert_eq!(
        line(LedgerAccount::Worker(worker.into())),
        Some(Money::from_minor(-500))
    );
    assert_eq!(
        line(LedgerAccount::Company(CompanyAccount::Awards)),
        Some(Money::from_minor(500))
    );
}

#[tokio::test]
async fn given_a_booked_entry_then_the_database_refuses_to_update_or_delete_it() {
    append_only(&billing().await).await;
}

/// The same on PostgreSQL, whose triggers are its own (a plpgsql function).
#[tokio::test]
async fn given_a_booked_entry_on_postgres_then_the_database_refuses_to_change_it() {
    let (_pg, ts) = billing_on_postgres("billing_ledger_test").await;
    append_only(&ts).await;
    // TRUNCATE too, which SQLite does not have
    for table in ["ledger_postings", "ledger_entries"] {
        let e = storage::query(if table == "ledger_postings" {
            "TRUNCATE ledger_postings"
        } else {
            "TRUNCATE ledger_entries CASCADE"
        })
        .execute(ts.ctx().db.pool())
        .await
        .expect_err(table);
        assert!(e.to_string().contains("append-only"), "{table}: {e}");
    }
}

async fn append_only(ts: &service::testing::TestService) {
    // Given an entry in the ledger
    let now = ts.ctx().clock.now();
    let mut work = ts.ctx().begin().await.unwrap();
    post(&mut work, award(AccountId::new(), 500, now), now)
        .await
        .unwrap();
    work.commit().await.unwrap();
    // When anyone updates or deletes an entry or a posting, Then the database refuses
    for sql in [
        "UPDATE ledger_entries SET reason = 'changed'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_postings SET amount = 0",
        "DELETE FROM ledger_postings",
    ] {
        let e = storage::query(sql)
            .execute(ts.ctx().db.pool())
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // And the entry is as it was
    let trial = as_role(ts, Role::Manager).trial_balance().await.unwrap();
    assert_eq!(trial.total, Money::zero());
    assert!(
        trial
            .accounts
            .iter()
            .any(|l| l.balance == Money::from_minor(500))
    );
}

#[tokio::test]
async fn given_a_client_or_worker_then_the_trial_balance_is_not_theirs_to_see() {
    let ts = billing().await;
    for role in [Role::Client, Role::Worker, Role::Supply] {
        let e = as_role(&ts, role).trial_balance().await.unwrap_err();
        assert_eq!(e.code(), Some("forbidden"), "{role:?}");
    }
}
