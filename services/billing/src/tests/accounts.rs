//! Payment accounts from IAM's accounts and Hiring's hires, and who sees which statement.

use auth::Role;
use contracts::hiring::WorkerHired;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::{AccountId, ApplicationId, Envelope, Money, WorkerId};

use super::{as_role, billing, deliver, on_account, on_hired, on_order};
use crate::client::BillingClient;
use crate::domain::{AccountKind, CompanyAccount, LedgerAccount};

fn created(id: AccountId, roles: &[&str], name: &str) -> AccountCreated {
    AccountCreated {
        account_id: id,
        email: format!("{name}@cats.test"),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        language: None,
    }
}

#[tokio::test]
async fn given_iam_accounts_then_clients_workers_and_managers_get_payment_accounts() {
    // Given IAM's news of a client who is also a manager, and of a supply clerk
    let ts = billing().await;
    let consumer = on_account(&ts);
    let kim = AccountId::new();
    deliver(
        &consumer,
        &Envelope::new(&created(kim, &["client", "manager"], "kim"), 1, None),
    )
    .await;
    let clerk = AccountId::new();
    deliver(
        &consumer,
        &Envelope::new(&created(clerk, &["supply"], "sam"), 1, None),
    )
    .await;
    // Then Kim holds a client and a manager account, named; the clerk none
    let kims = BillingClient(ts.client_as(kim, &[Role::Client, Role::Manager]));
    let mine = kims.my_statements().await.unwrap();
    let kinds: Vec<AccountKind> = mine.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, vec![AccountKind::Client, AccountKind::Manager]);
    assert!(
        mine.iter()
            .all(|s| s.name == "kim" && s.balance == Money::zero())
    );
    let sams = BillingClient(ts.client_as(clerk, &[Role::Supply]));
    assert!(sams.my_statements().await.unwrap().is_empty());
}

#[tokio::test]
async fn given_an_older_announcement_heard_late_then_the_newer_name_stays() {
    let ts = billing().await;
    let consumer = on_account(&ts);
    let id = AccountId::new();
    let changed = AccountChanged {
        account_id: id,
        email: "kim@cats.test".into(),
        name: "Kim Newname".into(),
        roles: vec!["client".into()],
        status: "active".into(),
        language: None,
    };
    // Given the change (version 2) heard before the creation (version 1)
    deliver(&consumer, &Envelope::new(&changed, 2, None)).await;
    deliver(
        &consumer,
        &Envelope::new(&created(id, &["client"], "kim"), 1, None),
    )
    .await;
    // Then the account keeps the newer name
    let admin = as_role(&ts, Role::Admin);
    let s = admin.statement(LedgerAccount::Client(id)).await.unwrap();
    assert_eq!(s.name, "Kim Newname");
}

#[tokio::test]
async fn given_a_hire_then_the_worker_has_a_payment_account() {
    let ts = billing().await;
    let worker = WorkerId::new();
    let hired = WorkerHired {
        worker_id: worker,
        application_id: ApplicationId::new(),
        name: "Felix".into(),
        age: 3,
        breed: "Tabby".into(),
        coat_colour: "ginger".into(),
        email: "felix@cats.test".into(),
        photo_url: "http://x/photo".into(),
        characteristics: Default::default(),
        strengths: vec![],
        weaknesses: vec![],
        language: None,
    };
    deliver(&on_hired(&ts), &Envelope::new(&hired, 1, None)).await;
    let felix = BillingClient(ts.client_as(AccountId::from(worker), &[Role::Worker]));
    let mine = felix.my_statements().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].account, mine[0].name.as_str()),
        (LedgerAccount::Worker(worker), "Felix")
    );
}

#[tokio::test]
async fn given_someone_elses_account_then_it_is_not_found_but_staff_see_every_one() {
    // Given a client charged for an order
    let ts = billing().await;
    let (client, worker) = (AccountId::new(), WorkerId::new());
    let order = super::orders::activated(client, worker, 100);
    deliver(&on_order(&ts), &Envelope::new(&order, 2, None)).await;
    let account = LedgerAccount::Client(client);
    // When another client, a worker or a clerk asks for its statement: not found
    for role in [Role::Client, Role::Worker, Role::Supply, Role::Service] {
        let e = as_role(&ts, role).statement(account).await.unwrap_err();
        assert_eq!(e.code(), Some("not_found"), "{role:?}");
    }
    // Nor may they read the company's accounts
    let revenue = LedgerAccount::Company(CompanyAccount::Revenue);
    let e = as_role(&ts, Role::Client)
        .statement(revenue)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    // The client sees its own; managers and admins see it and the company's
    let own = BillingClient(ts.client_as(client, &[Role::Client]));
    assert_eq!(
        own.statement(account).await.unwrap().balance,
        Money::from_minor(100)
    );
    for role in [Role::Manager, Role::Admin] {
        let staff = as_role(&ts, role);
        assert_eq!(staff.statement(account).await.unwrap().lines.len(), 1);
        assert_eq!(
            staff.statement(revenue).await.unwrap().balance,
            Money::from_minor(-100)
        );
    }
    // An account that does not parse, or was never opened: not found, even for staff
    let admin = as_role(&ts, Role::Admin);
    let never = LedgerAccount::Client(AccountId::new());
    assert_eq!(
        admin.statement(never).await.unwrap_err().code(),
        Some("not_found")
    );
    let e = admin
        .0
        .get::<serde_json::Value>("/accounts/nobody:1/statement")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
}

#[tokio::test]
async fn given_charges_this_week_then_the_client_sees_what_it_will_owe_on_sunday() {
    let ts = billing().await;
    let (client, worker) = (AccountId::new(), WorkerId::new());
    let consumer = on_order(&ts);
    for price in [100, 120] {
        let order = super::orders::activated(client, worker, price);
        deliver(&consumer, &Envelope::new(&order, 2, None)).await;
    }
    let own = BillingClient(ts.client_as(client, &[Role::Client]));
    let upcoming = own.upcoming().await.unwrap();
    assert_eq!(upcoming.week_total, Money::from_minor(220));
    assert_eq!(upcoming.outstanding, Money::from_minor(220));
    assert_eq!(upcoming.charges.len(), 2);
    assert!(upcoming.week.contains(ts.ctx().clock.now()));
    // Only clients have an upcoming invoice
    let e = as_role(&ts, Role::Worker).upcoming().await.unwrap_err();
    assert_eq!(e.code(), Some("forbidden"));
}
