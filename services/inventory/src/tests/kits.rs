//! Kits: assembled from Ordering's activations, issued by supply staff.

use auth::Role;
use contracts::ServiceTypeId;

use super::{
    activation, as_role, deliver, deliver_as_new_event, inventory, on_activated, published,
    refusal, sponge_bill, supply,
};
use crate::client::InventoryClient;
use crate::domain::{KitState, MoveKind};

#[tokio::test]
async fn an_activated_order_gets_one_kit_from_its_bill_however_often_it_is_heard() {
    // Given a bill of 2 sponges for cleaning
    let ts = inventory().await;
    let staff = supply(&ts);
    let (_, cleaning) = sponge_bill(&ts).await;

    // When Ordering's activation of a cleaning order arrives twice, and then again as a
    // new event of the same order
    let consumer = on_activated(&ts);
    let event = activation(&ts, cleaning);
    deliver(&consumer, &event).await;
    deliver(&consumer, &event).await;
    deliver_as_new_event(&consumer, &event).await;

    // Then the order has one kit to assemble, with the bill's lines and what is missing
    let kits = staff.kits(None).await.unwrap();
    assert_eq!(kits.len(), 1);
    let kit = &kits[0];
    assert_eq!(kit.kit.order_id.to_string(), event.aggregate_id);
    assert_eq!(kit.kit.state, KitState::ToAssemble);
    assert_eq!(
        kit.kit
            .lines
            .iter()
            .map(|l| (l.name.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        vec![("Sponge", 2)]
    );
    assert_eq!(kit.missing.len(), 1);
    assert_eq!((kit.missing[0].needed, kit.missing[0].on_hand), (2, 0));
    assert_eq!(staff.kit(kit.kit.id).await.unwrap(), *kit);
    // And its assembly was announced once, naming the kit, what goes in and who is
    // responsible
    let assembled = published(&ts, "inventory.kit.assembled").await;
    assert_eq!(assembled.len(), 1, "{assembled:?}");
    assert_eq!(assembled[0]["data"]["kit_id"], kit.kit.id.to_string());
    assert_eq!(assembled[0]["data"]["items"][0]["quantity"], 2);
    assert_eq!(
        assembled[0]["data"]["responsible_reason"],
        kit.kit.responsible_reason
    );
}

#[tokio::test]
async fn a_kit_is_issued_only_when_stock_covers_it_and_issuing_takes_the_stock() {
    issue_only_when_covered(&inventory().await).await;
}

/// The same on PostgreSQL (the stock sums, the kit's one-per-order insert and the guarded
/// issue are SQL both backends must run alike). A cluster that cannot start fails the
/// test: one that skipped would pass without testing PostgreSQL at all.
#[tokio::test]
async fn a_kit_is_issued_only_when_stock_covers_it_on_postgres() {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    let ts = service::testing::TestService::builder(&crate::SPEC)
        .database(pg.url("inventory_test"))
        .start()
        .await;
    issue_only_when_covered(&ts).await;
}

async fn issue_only_when_covered(ts: &service::testing::TestService) {
    // Given a cleaning order's kit of 2 sponges, with 1 sponge in stock
    let staff = supply(ts);
    let (sponge, cleaning) = sponge_bill(ts).await;
    deliver(&on_activated(ts), &activation(ts, cleaning)).await;
    let kit = staff.kits(Some(KitState::ToAssemble)).await.unwrap()[0]
        .kit
        .clone();
    staff.receive(sponge, 1, None).await.unwrap();

    // When supply staff press Issued
    let short = staff.issue(kit.id).await.unwrap_err();

    // Then it is refused with a clear reason, and nothing moved or was published
    assert_eq!(refusal(&short), (409, Some("consumables_short"), None));
    let detail = short.problem().unwrap().detail.clone();
    assert!(detail.contains("Sponge (needs 2, 1 on hand)"), "{detail}");
    assert_eq!(staff.moves(sponge).await.unwrap().len(), 1);
    assert!(published(ts, "inventory.kit.issued").await.is_empty());

    // When 5 more arrive, and its fortune cookie, and they press Issued again
    staff.receive(sponge, 5, None).await.unwrap();
    super::cookies::cookie_arrives(ts, kit.id).await;
    let issued = staff.issue(kit.id).await.unwrap();

    // Then the kit is issued, stock went down by its lines, by a move naming the kit
    assert_eq!(issued.kit.state, KitState::Issued);
    assert!(issued.missing.is_empty());
    assert_eq!(staff.stock().await.unwrap()[0].on_hand, 4);
    let moves = staff.moves(sponge).await.unwrap();
    let last = moves.last().unwrap();
    assert_eq!(
        (last.quantity, last.kind, last.kit_id),
        (-2, MoveKind::Issue, Some(kit.id))
    );
    // And inventory.kit.issued was published once, for the kit's order
    let events = published(ts, "inventory.kit.issued").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["order_id"], kit.order_id.to_string());
    assert_eq!(events[0]["data"]["items"][0]["quantity"], 2);
    assert_eq!(events[0]["aggregate_version"], 2);

    // When it is pressed once more
    let twice = staff.issue(kit.id).await.unwrap_err();
    // Then it is refused, and stock is taken once
    assert_eq!(refusal(&twice), (409, Some("kit_already_issued"), None));
    assert_eq!(staff.stock().await.unwrap()[0].on_hand, 4);
    // And the queue shows it among the issued, not those to assemble
    assert!(
        staff
            .kits(Some(KitState::ToAssemble))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(staff.kits(Some(KitState::Issued)).await.unwrap().len(), 1);
    let unknown = staff.issue(contracts::KitId::new()).await.unwrap_err();
    assert_eq!(refusal(&unknown), (404, Some("not_found"), None));
}

#[tokio::test]
async fn a_service_type_without_a_bill_gets_an_empty_kit_that_can_be_issued() {
    // Given an order of a service type nobody wrote a bill for
    let ts = inventory().await;
    let staff = supply(&ts);
    deliver(&on_activated(&ts), &activation(&ts, ServiceTypeId::new())).await;
    // When its kit is issued
    let kit = staff.kits(None).await.unwrap()[0].kit.clone();
    assert!(kit.lines.is_empty());
    super::cookies::cookie_arrives(&ts, kit.id).await;
    let issued = staff.issue(kit.id).await.unwrap();
    // Then it is, with nothing taken from stock
    assert_eq!(issued.kit.state, KitState::Issued);
    let events = published(&ts, "inventory.kit.issued").await;
    assert_eq!(events[0]["data"]["items"], serde_json::json!([]));
}

#[tokio::test]
async fn the_acceptance_form_is_printed_for_staff_and_the_orders_worker_only() {
    // Given an active order's kit (client Kim Client, worker Tom Worker)
    let ts = inventory().await;
    let event = activation(&ts, ServiceTypeId::new());
    deliver(&on_activated(&ts), &event).await;
    let kit = supply(&ts).kits(None).await.unwrap()[0].kit.clone();
    let worker: contracts::AccountId = event.data["worker_id"].as_str().unwrap().parse().unwrap();

    // When supply staff print its form
    let pdf = supply(&ts).form(kit.id).await.unwrap();

    // Then it is a PDF whose text names the order, its people and its job
    assert!(pdf.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let text = doc.extract_text(&[1]).unwrap();
    for fact in [
        kit.order_id.to_string().as_str(),
        "Kim Client",
        "Tom Worker",
        "Cleaning (60 minutes)",
        "Kitchen, 2nd floor, Elm St 4",
    ] {
        assert!(text.contains(fact), "{fact:?} not in {text:?}");
    }
    // And the order's worker gets the same form, a manager too
    let own = InventoryClient(ts.client_as(worker, &[Role::Worker]));
    assert_eq!(own.form(kit.id).await.unwrap(), pdf);
    assert_eq!(as_role(&ts, Role::Manager).form(kit.id).await.unwrap(), pdf);
    // But another worker finds no such kit, a client may not ask, and an unknown kit is
    // not found
    let other = as_role(&ts, Role::Worker).form(kit.id).await.unwrap_err();
    assert_eq!(refusal(&other), (404, Some("not_found"), None));
    let client = as_role(&ts, Role::Client).form(kit.id).await.unwrap_err();
    assert_eq!(refusal(&client).0, 403);
    let unknown = supply(&ts).form(contracts::KitId::new()).await.unwrap_err();
    assert_eq!(refusal(&unknown), (404, Some("not_found"), None));
}
