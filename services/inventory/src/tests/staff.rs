//! The responsible supply employee: supply staff known from IAM's account events, each new
//! kit given to the least loaded of them, the choice explained, `GET /kits?mine=true`.

use auth::Role;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::{AccountId, Envelope, ServiceTypeId};
use service::testing::TestService;

use super::{activation, deliver, inventory, on_account, on_activated, supply};
use crate::client::InventoryClient;
use crate::domain::KitState;

/// IAM's announcement of a new account with `roles`.
fn created(id: AccountId, name: &str, roles: &[&str]) -> Envelope {
    let event = AccountCreated {
        account_id: id,
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        language: None,
    };
    Envelope::new(&event, 1, None)
}

/// IAM's announcement that account `id` changed to `roles` and `status`, at `version`.
fn changed(id: AccountId, name: &str, roles: &[&str], status: &str, version: i64) -> Envelope {
    let event = AccountChanged {
        account_id: id,
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        status: status.into(),
        language: None,
    };
    Envelope::new(&event, version, None)
}

/// Supply employee `id`'s own client.
fn as_person(ts: &TestService, id: AccountId) -> InventoryClient {
    InventoryClient(ts.client_as(id, &[Role::Supply]))
}

#[tokio::test]
async fn each_new_kit_goes_to_the_least_loaded_supply_employee_with_the_reason() {
    least_loaded_and_mine(&inventory().await).await;
}

/// The same on PostgreSQL (the people upsert, the open-kit counts and the filtered kit
/// list are SQL both backends must run alike). A cluster that cannot start fails the test.
#[tokio::test]
async fn each_new_kit_goes_to_the_least_loaded_supply_employee_on_postgres() {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    let ts = TestService::builder(&crate::SPEC)
        .database(pg.url("inventory_test"))
        .start()
        .await;
    least_loaded_and_mine(&ts).await;
}

async fn least_loaded_and_mine(ts: &TestService) {
    // Given IAM's supply employees Ann and Bob (ids in that order), and a client
    let accounts = on_account(ts);
    let (ann, bob, carl) = (AccountId::new(), AccountId::new(), AccountId::new());
    deliver(&accounts, &created(ann, "Ann", &["supply"])).await;
    deliver(&accounts, &created(bob, "Bob", &["worker", "supply"])).await;
    deliver(&accounts, &created(carl, "Carl", &["client"])).await;

    // When three orders become active
    let orders = on_activated(ts);
    for _ in 0..3 {
        deliver(&orders, &activation(ts, ServiceTypeId::new())).await;
    }

    // Then the first goes to Ann (a tie, the smaller id), the second to Bob (Ann has one
    // open), the third to Ann again (a tie at one each), each with its reason
    let kits = supply(ts).kits(None).await.unwrap();
    let mut by_creation = kits.clone();
    by_creation.sort_by_key(|k| k.kit.id);
    let given: Vec<_> = by_creation
        .iter()
        .map(|k| (k.kit.responsible_id, k.kit.responsible_reason.as_str()))
        .collect();
    assert_eq!(
        given,
        vec![
            (
                Some(ann),
                "least loaded: 0 open kits; 2 supply staff (tied with 1, the smaller id taken)"
            ),
            (Some(bob), "least loaded: 0 open kits; 2 supply staff"),
            (
                Some(ann),
                "least loaded: 1 open kit; 2 supply staff (tied with 1, the smaller id taken)"
            ),
        ]
    );
    // And the view names the person as IAM announced them
    let first = supply(ts).kit(by_creation[0].kit.id).await.unwrap();
    let who = first.responsible.expect("Ann is responsible");
    assert_eq!(
        (who.account_id, who.name.as_str(), who.email.as_str()),
        (ann, "Ann", "ann@example.com")
    );

    // And each sees only their own kits with mine=true; someone with none sees none
    let anns = as_person(ts, ann).my_kits(None).await.unwrap();
    assert_eq!(anns.len(), 2);
    assert!(anns.iter().all(|k| k.kit.responsible_id == Some(ann)));
    let bobs = as_person(ts, bob).my_kits(None).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].kit.id, by_creation[1].kit.id);
    assert!(supply(ts).my_kits(None).await.unwrap().is_empty());

    // When Ann issues both of hers, and Bob leaves the supply role
    for k in &anns {
        super::cookies::cookie_arrives(ts, k.kit.id).await;
        as_person(ts, ann).issue(k.kit.id).await.unwrap();
    }
    assert_eq!(
        as_person(ts, ann)
            .my_kits(Some(KitState::ToAssemble))
            .await
            .unwrap()
            .len(),
        0
    );
    deliver(&accounts, &changed(bob, "Bob", &["worker"], "active", 2)).await;
    // And then Bob's older announcement arrives late (it must not give the role back)
    deliver(&accounts, &created(bob, "Bob", &["worker", "supply"])).await;
    deliver(&orders, &activation(ts, ServiceTypeId::new())).await;

    // Then the new kit is Ann's: issued kits are no load, and Bob is no supply staff
    let newest = supply(ts)
        .kits(None)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|k| k.kit.id)
        .unwrap();
    assert_eq!(newest.kit.responsible_id, Some(ann));
    assert_eq!(
        newest.kit.responsible_reason,
        "least loaded: 0 open kits; 1 supply employee"
    );
    // And Bob's kit keeps him as responsible, shown as no longer supply staff
    let bobs = supply(ts).kit(by_creation[1].kit.id).await.unwrap();
    let bob_now = bobs.responsible.expect("Bob stays responsible");
    assert!(!bob_now.supply);
}

#[tokio::test]
async fn without_supply_staff_a_kit_waits_for_the_first_one_who_is_then_mailed() {
    // Given no supply staff known, only a disabled one
    let ts = inventory().await;
    let accounts = on_account(&ts);
    let dora = AccountId::new();
    deliver(&accounts, &created(dora, "Dora", &["supply"])).await;
    deliver(
        &accounts,
        &changed(dora, "Dora", &["supply"], "disabled", 2),
    )
    .await;

    // When two orders become active
    deliver(&on_activated(&ts), &activation(&ts, ServiceTypeId::new())).await;
    deliver(&on_activated(&ts), &activation(&ts, ServiceTypeId::new())).await;

    // Then their kits have nobody responsible, and say so; nobody is mailed
    let kits = supply(&ts).kits(None).await.unwrap();
    assert_eq!(kits.len(), 2);
    for kit in &kits {
        assert_eq!((kit.kit.responsible_id, &kit.responsible), (None, &None));
        assert_eq!(
            kit.kit.responsible_reason,
            "nobody responsible: no active supply staff known"
        );
    }
    assert!(
        super::notify::mails(&ts, "kit_to_assemble")
            .await
            .is_empty()
    );

    // When a client account appears, nothing changes; when supply employee Eve appears
    deliver(&accounts, &created(AccountId::new(), "Carl", &["client"])).await;
    assert!(
        supply(&ts).kits(None).await.unwrap()[0]
            .kit
            .responsible_id
            .is_none()
    );
    let eve = AccountId::new();
    deliver(&accounts, &created(eve, "Eve", &["supply"])).await;

    // Then both kits are hers, the reason says they were given out later, and she is
    // mailed about each (keyed by the kit)
    let hers = as_person(&ts, eve).my_kits(None).await.unwrap();
    assert_eq!(hers.len(), 2);
    for kit in &hers {
        assert_eq!(
            kit.kit.responsible_reason.split(',').next(),
            Some("given out later")
        );
    }
    let mails = super::notify::mails(&ts, "kit_to_assemble").await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .all(|m| m["request"]["to"] == "eve@example.com")
    );

    // And when Eve's announcement is heard again, nothing is given out or mailed twice
    deliver(&accounts, &changed(eve, "Eve", &["supply"], "active", 2)).await;
    assert_eq!(super::notify::mails(&ts, "kit_to_assemble").await.len(), 2);
}
