//! Managers' awards: who, how much, why; once per Idempotency-Key.

use auth::Role;
use client::ClientError;
use contracts::iam::AccountCreated;
use contracts::{AccountId, Envelope, Money, WorkerId};

use super::{as_role, billing, deliver, on_account};
use crate::client::{BillingClient, NewAward};
use crate::domain::{EntryKind, LedgerAccount};

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    (e.status().map_or(0, |s| s.as_u16()), e.code(), e.field())
}

/// A worker IAM announced: Billing holds the worker's payment account.
async fn known_worker(ts: &service::testing::TestService) -> WorkerId {
    let id = AccountId::new();
    let created = AccountCreated {
        account_id: id,
        email: "felix@cats.test".into(),
        name: "Felix".into(),
        roles: vec!["worker".into()],
        language: None,
    };
    deliver(&on_account(ts), &Envelope::new(&created, 1, None)).await;
    WorkerId::from(id)
}

fn award(worker: WorkerId, amount: i64, reason: &str) -> NewAward {
    NewAward {
        worker_id: worker,
        amount: Money::from_minor(amount),
        reason: reason.into(),
    }
}

#[tokio::test]
async fn given_a_manager_awards_a_worker_then_the_worker_is_credited_once_per_key() {
    // Given a known worker and a manager
    let ts = billing().await;
    let worker = known_worker(&ts).await;
    let manager_id = AccountId::new();
    let manager = BillingClient(ts.client_as(manager_id, &[Role::Manager]));
    // When the manager awards 500 for a reason, twice with the same key
    let asked = award(worker, 500, "spotless work all month");
    let first = manager.award(&asked, "award-1").await.unwrap();
    let again = manager.award(&asked, "award-1").await.unwrap();
    // Then one award is booked, the reason and the manager kept
    assert_eq!(first, again);
    assert_eq!(
        (first.amount, first.granted_by),
        (Money::from_minor(500), manager_id)
    );
    let felix = BillingClient(ts.client_as(AccountId::from(worker), &[Role::Worker]));
    let statement = felix
        .statement(LedgerAccount::Worker(worker))
        .await
        .unwrap();
    assert_eq!(statement.balance, Money::from_minor(-500));
    assert_eq!(statement.lines.len(), 1);
    assert_eq!(statement.lines[0].kind, EntryKind::Award);
    assert!(
        statement.lines[0]
            .reason
            .contains("spotless work all month")
    );
    assert_eq!(statement.lines[0].actor, manager_id.to_string());
    let granted = ts.published("billing.award.granted").await;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0]["data"]["reason"], "spotless work all month");
    // A second award under a new key is a second award
    manager.award(&asked, "award-2").await.unwrap();
    let statement = felix
        .statement(LedgerAccount::Worker(worker))
        .await
        .unwrap();
    assert_eq!(statement.balance, Money::from_minor(-1000));
}

#[tokio::test]
async fn given_bad_awards_then_each_is_refused_naming_the_field_and_nothing_is_booked() {
    let ts = billing().await;
    let worker = known_worker(&ts).await;
    let manager = as_role(&ts, Role::Manager);
    let cases = [
        (
            award(worker, 0, "x"),
            Some("k1"),
            (422, Some("validation_failed"), Some("amount")),
        ),
        (
            award(worker, -3, "x"),
            Some("k2"),
            (422, Some("validation_failed"), Some("amount")),
        ),
        (
            award(worker, 10_000_001, "x"),
            Some("k3"),
            (422, Some("validation_failed"), Some("amount")),
        ),
        (
            award(worker, 5, " "),
            Some("k4"),
            (422, Some("validation_failed"), Some("reason")),
        ),
        (
            award(worker, 5, "a\u{0}b"),
            Some("k5"),
            (422, Some("validation_failed"), Some("reason")),
        ),
        (
            award(worker, 5, "good"),
            None,
            (422, Some("validation_failed"), Some("Idempotency-Key")),
        ),
        (
            award(WorkerId::new(), 5, "good"),
            Some("k6"),
            (404, Some("not_found"), None),
        ),
    ];
    for (asked, key, expected) in cases {
        let e = manager
            .0
            .post_keyed::<_, serde_json::Value>("/awards", &asked, key)
            .await
            .unwrap_err();
        assert_eq!(refusal(&e), expected, "{asked:?} {key:?}");
    }
    // The same key for a different award: refused
    manager
        .award(&award(worker, 5, "good"), "k7")
        .await
        .unwrap();
    let e = manager
        .award(&award(worker, 6, "good"), "k7")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("idempotency_key_reused"));
    // Only the one good award was booked
    let admin = as_role(&ts, Role::Admin);
    let statement = admin
        .statement(LedgerAccount::Worker(worker))
        .await
        .unwrap();
    assert_eq!(statement.balance, Money::from_minor(-5));
    // Clients, workers, supply and services may not award
    for role in [Role::Client, Role::Worker, Role::Supply, Role::Service] {
        let e = as_role(&ts, role)
            .award(&award(worker, 5, "x"), "k8")
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("forbidden"), "{role:?}");
    }
}
