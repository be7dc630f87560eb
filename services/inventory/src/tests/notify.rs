//! Mails to supply staff: the responsible employee hears of a new kit (with links to it and
//! its acceptance form), and staff hear once each time a consumable falls below its mark.

use contracts::iam::AccountCreated;
use contracts::{AccountId, Envelope, ServiceTypeId};
use serde_json::Value;
use service::testing::TestService;

use super::{
    activation, add, deliver, deliver_as_new_event, inventory, on_account, on_activated, published,
    supply,
};
use crate::domain::{BomLine, BomSpec, NewConsumable};

const MAIL: &str = "inventory.mail.requested";

/// IAM's announcement of supply employee `name`.
fn supply_employee(id: AccountId, name: &str) -> Envelope {
    let event = AccountCreated {
        account_id: id,
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        roles: vec!["supply".into()],
        language: None,
    };
    Envelope::new(&event, 1, None)
}

/// The mail requests Inventory published with `template`: their `data`.
pub(super) async fn mails(ts: &TestService, template: &str) -> Vec<Value> {
    published(ts, MAIL)
        .await
        .into_iter()
        .map(|e| e["data"].clone())
        .filter(|d| d["request"]["template"] == template)
        .collect()
}

#[tokio::test]
async fn the_responsible_employee_is_mailed_once_with_links_to_the_kit_and_its_form() {
    // Given supply employee Sam
    let ts = inventory().await;
    let sam = AccountId::new();
    deliver(&on_account(&ts), &supply_employee(sam, "Sam")).await;

    // When an order becomes active, and its activation is heard twice
    let event = activation(&ts, ServiceTypeId::new());
    let consumer = on_activated(&ts);
    deliver(&consumer, &event).await;
    deliver_as_new_event(&consumer, &event).await;

    // Then Sam is asked once, by a request keyed by the kit, with the order's facts and
    // links to the kit and its form
    let kit = supply(&ts).kits(None).await.unwrap().remove(0).kit;
    let sent = mails(&ts, "kit_to_assemble").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = &sent[0]["request"];
    assert_eq!(sent[0]["kit_id"], kit.id.to_string());
    assert_eq!(request["to"], "sam@example.com");
    assert_eq!(request["idempotency_key"], kit.id.to_string());
    let vars = &request["variables"];
    assert_eq!(vars["name"], "Sam");
    assert_eq!(vars["order"], kit.order_id.to_string());
    assert_eq!(vars["service"], "Cleaning");
    let when = kit
        .scheduled_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(vars["when"], when.as_str());
    // Portal pages (the kit, its form's PDF), not Inventory's API.
    let portal = &ts.ctx().portal_url;
    assert_eq!(vars["link"], format!("{portal}/kits/{}", kit.id));
    assert_eq!(vars["form"], format!("{portal}/kits/{}/form.pdf", kit.id));
    assert!(!vars["link"].as_str().unwrap().contains("/api/"), "{vars}");
}

#[tokio::test]
async fn without_anyone_responsible_nobody_is_mailed_about_the_kit() {
    let ts = inventory().await;
    deliver(&on_activated(&ts), &activation(&ts, ServiceTypeId::new())).await;
    assert_eq!(supply(&ts).kits(None).await.unwrap().len(), 1);
    assert!(published(&ts, MAIL).await.is_empty());
}

#[tokio::test]
async fn supply_staff_hear_once_per_fall_below_the_mark() {
    // Given Sam and Ann in supply, and sponges marked low below 5, 10 received
    let ts = inventory().await;
    let accounts = on_account(&ts);
    deliver(&accounts, &supply_employee(AccountId::new(), "Sam")).await;
    deliver(&accounts, &supply_employee(AccountId::new(), "Ann")).await;
    let staff = supply(&ts);
    let sponge = staff
        .add_consumable(&NewConsumable {
            name: "Sponge".into(),
            unit: "piece".into(),
            low_stock_threshold: Some(5),
        })
        .await
        .unwrap()
        .consumable
        .id;
    let gloves = add(&ts, "Gloves").await;
    staff.receive(sponge, 10, None).await.unwrap();
    assert!(mails(&ts, "low_stock").await.is_empty(), "10 is not low");
    let cleaning = ServiceTypeId::new();
    let bill = BomSpec {
        lines: vec![BomLine {
            consumable_id: sponge,
            quantity: 3,
        }],
    };
    staff.write_bom(cleaning, &bill).await.unwrap();
    // When a kit takes 3 (7 left: fine), then another 3 (4 left: below 5)
    issue_one(&ts, cleaning).await;
    assert!(mails(&ts, "low_stock").await.is_empty(), "7 is not low");
    issue_one(&ts, cleaning).await;

    // Then each supply employee is told once, with the level and the mark
    let told = mails(&ts, "low_stock").await;
    assert_eq!(told.len(), 2, "{told:?}");
    let mut to: Vec<&str> = told
        .iter()
        .map(|m| m["request"]["to"].as_str().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(to, ["ann@example.com", "sam@example.com"]);
    let vars = &told[0]["request"]["variables"];
    assert_eq!(
        (
            &vars["consumable"],
            &vars["on_hand"],
            &vars["threshold"],
            &vars["unit"]
        ),
        (
            &Value::from("Sponge"),
            &Value::from(4),
            &Value::from(5),
            &Value::from("piece")
        )
    );
    assert_eq!(told[0]["consumable_id"], sponge.to_string());

    // When it falls further (1 left), nobody is told again
    issue_one(&ts, cleaning).await;
    assert_eq!(mails(&ts, "low_stock").await.len(), 2);
    // Nor when a delivery leaves it still low, nor another consumable's delivery
    staff.receive(sponge, 1, None).await.unwrap();
    staff.receive(gloves, 20, None).await.unwrap();
    assert_eq!(mails(&ts, "low_stock").await.len(), 2);

    // When a delivery brings it back up (12) and a kit takes it below the mark again
    staff.receive(sponge, 10, None).await.unwrap();
    assert_eq!(mails(&ts, "low_stock").await.len(), 2);
    issue_one(&ts, cleaning).await;
    issue_one(&ts, cleaning).await;
    issue_one(&ts, cleaning).await;

    // Then staff are told again, once, under new keys
    let told = mails(&ts, "low_stock").await;
    assert_eq!(told.len(), 4, "{told:?}");
    let mut keys: Vec<&str> = told
        .iter()
        .map(|m| m["request"]["idempotency_key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 4);
    assert_eq!(told[3]["request"]["variables"]["on_hand"], 3);
}

/// An order of `service_type` becomes active, its cookie arrives and its kit is issued.
async fn issue_one(ts: &TestService, service_type: ServiceTypeId) {
    deliver(&on_activated(ts), &activation(ts, service_type)).await;
    let staff = supply(ts);
    let kit = staff
        .kits(None)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kit.issued_at.is_none())
        .unwrap()
        .kit;
    super::cookies::cookie_arrives(ts, kit.id).await;
    staff.issue(kit.id).await.unwrap();
}
