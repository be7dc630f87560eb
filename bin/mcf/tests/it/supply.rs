//! The supply side of an order across services, as issue 14 tells it: an order becomes
//! active; its kit appears in the responsible supply employee's queue with its consumables and
//! its job acceptance form, and she is mailed about it; the worker cannot check in; the
//! cookie arrives, she issues the kit, stock goes down (below its mark: supply is told), and
//! the worker checks in. A canceled order's issued kit puts its consumables back.

use std::time::Duration;

use contracts::{KitId, OrderId, ServiceTypeId};
use inventory::KitView;
use inventory::client::InventoryClient;
use inventory::domain::{BomLine, BomSpec, KitState, MoveKind, NewConsumable};
use ordering::client::{CancelRequest, CheckInRequest, OrderingClient};
use ordering::domain::order::OrderRequest;
use serde_json::json;

use crate::harness::{Cluster, Mode, account_id, poll_until};
use crate::hiring::{PHOTO, mailed_link};

/// Polls the responsible employee's own queue until the kit of `order` satisfies `done`.
async fn my_kit(
    supply: &InventoryClient,
    order: OrderId,
    what: &str,
    done: impl Fn(&KitView) -> bool,
) -> KitView {
    poll_until(
        Duration::from_secs(30),
        &format!("order {order}'s kit"),
        || async {
            let mine = supply.my_kits(None).await.unwrap_or_default();
            match mine.into_iter().find(|k| k.kit.order_id == order) {
                Some(kit) if done(&kit) => Ok(kit),
                _ => Err(what.to_owned()),
            }
        },
    )
    .await
}

/// Units of `consumable` on hand.
async fn on_hand(supply: &InventoryClient, consumable: contracts::ConsumableId) -> i64 {
    let stock = supply.stock().await.unwrap();
    stock
        .iter()
        .find(|s| s.consumable.id == consumable)
        .map_or(0, |s| s.on_hand)
}

pub async fn a_kit_goes_from_the_supply_queue_to_the_worker_on_site(mode: Mode) {
    // Given Sue in supply (IAM tells Inventory; she is its only supply employee), sponges
    // marked low below 3 with 4 in stock, a cleaning bill of 2 sponges, and worker Wes
    let mut c = Cluster::start(mode).await;
    let sue = c.token_for("sue", "supply").await;
    let supply = InventoryClient(c.client("inventory", &sue));
    let sponge = NewConsumable {
        name: "Sponge".into(),
        unit: "piece".into(),
        low_stock_threshold: Some(3),
    };
    let sponge = supply.add_consumable(&sponge).await.unwrap().consumable.id;
    supply
        .receive(sponge, 4, Some("first-delivery"))
        .await
        .unwrap();
    let service_type: ServiceTypeId = c.service_type().await.parse().unwrap();
    let bill = BomSpec {
        lines: vec![BomLine {
            consumable_id: sponge,
            quantity: 2,
        }],
    };
    supply.write_bom(service_type, &bill).await.unwrap();
    let wes = c.token_for("wes", "worker").await;
    let (status, sample) = c
        .post(
            "matching",
            "/normal-samples",
            json!({"id": account_id(&wes), "name": "Wes", "skills": {"cleaning": 90}}),
        )
        .await;
    assert_eq!(status, 201, "{sample}");

    // When a client orders a cleaning in 20 minutes (check-in is open) and it becomes active
    let kim = c.token_for("kim", "client").await;
    let client = OrderingClient(c.client("ordering", &kim));
    let request = OrderRequest {
        service_type_id: service_type,
        description: "Elm St 4, 2nd floor: the kitchen".into(),
        scheduled_at: chrono::Utc::now() + chrono::Duration::minutes(20),
    };
    let order = client.request(&request, None).await.unwrap().id;

    // Then its kit appears in Sue's own queue with the bill's consumables
    let kit = my_kit(&supply, order, "in Sue's queue", |_| true).await;
    assert_eq!(kit.kit.lines.len(), 1);
    assert_eq!(kit.kit.lines[0].quantity, 2);
    let who = kit.responsible.as_ref().expect("Sue is responsible");
    assert_eq!(who.name, "sue");
    // And its acceptance form is a PDF naming the order and the job
    let form = supply.form(kit.kit.id).await.unwrap();
    assert!(form.starts_with(b"%PDF-"), "not a PDF");
    let text = String::from_utf8_lossy(&form);
    assert!(text.contains(&order.to_string()), "the order id is printed");
    assert!(text.contains("Elm St 4, 2nd floor: the kitchen"));
    // And Sue was mailed, with the link to the form: the portal's page (she is signed in
    // there), not Inventory's API
    let link = mailed_link(&c, "Kit to assemble", &format!("/kits/{}/form", kit.kit.id)).await;
    assert!(
        link.ends_with(&format!("/kits/{}/form.pdf", kit.kit.id)) && !link.contains("/api/"),
        "{link}"
    );

    // When Wes arrives before his kit was issued, then he may not check in
    let worker = OrderingClient(c.client("ordering", &wes));
    let photo = CheckInRequest {
        photo: PHOTO.into(),
    };
    let e = worker.check_in(order, &photo).await.unwrap_err();
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.code()),
        (Some(409), Some("kit_not_issued")),
        "{e}"
    );

    // When the cookie arrived and Sue presses Issued
    let ready = my_kit(&supply, order, "ready", |k| k.kit.state == KitState::Ready).await;
    let issued = supply.issue(ready.kit.id).await.unwrap();
    assert_eq!(issued.kit.state, KitState::Issued);

    // Then stock went down by the kit's consumables, below the mark: supply is told
    assert_eq!(on_hand(&supply, sponge).await, 2);
    let link = mailed_link(&c, "Low stock: Sponge", "/stock").await;
    assert!(!link.contains("/api/"), "{link}");
    // And once Ordering heard of it, Wes checks in
    c.wait_until(
        "ordering",
        &format!("/orders/{order}"),
        "Ordering hears the kit was issued",
        |o| o["kit_issued"] == true,
    )
    .await;
    let started = worker.check_in(order, &photo).await.unwrap();
    assert_eq!(started.status.as_str(), "in_progress");

    // When another order's kit is issued and then the client cancels that order
    let later = OrderRequest {
        scheduled_at: chrono::Utc::now() + chrono::Duration::days(1),
        ..request
    };
    let second = client.request(&later, None).await.unwrap().id;
    let kit: KitId = my_kit(&supply, second, "ready", |k| k.kit.state == KitState::Ready)
        .await
        .kit
        .id;
    supply.issue(kit).await.unwrap();
    assert_eq!(on_hand(&supply, sponge).await, 0);
    client
        .cancel(second, &CancelRequest::default())
        .await
        .unwrap();

    // Then the kit is canceled and its 2 sponges are back in stock, by a return move
    my_kit(&supply, second, "canceled", |k| {
        k.kit.state == KitState::Canceled
    })
    .await;
    assert_eq!(on_hand(&supply, sponge).await, 2);
    let moves = supply.moves(sponge).await.unwrap();
    assert!(
        moves
            .iter()
            .any(|m| m.kind == MoveKind::Return && m.kit_id == Some(kit) && m.quantity == 2),
        "{moves:?}"
    );
}
