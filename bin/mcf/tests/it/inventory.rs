//! Inventory's first slice across services: an order that becomes active in Ordering gets
//! its supply kit in Inventory, built from its service type's bill of materials; supply
//! staff cannot issue it while stock is short, and issuing takes the consumables out.

use std::time::Duration;

use contracts::ServiceTypeId;
use inventory::client::InventoryClient;
use inventory::domain::{BomLine, BomSpec, KitState, NewConsumable};

use crate::harness::{Cluster, Mode};

pub async fn an_active_order_gets_its_kit_and_issuing_takes_its_stock(mode: Mode) {
    // Given a service type whose bill of materials needs two sponges, one sponge in stock,
    // and a supply clerk
    let mut c = Cluster::start(mode).await;
    let service_type: ServiceTypeId = c.service_type().await.parse().unwrap();
    c.register_worker("Tom", 90).await;
    let clerk = c.token_for("clerk", "supply").await;
    let supply = InventoryClient(c.client("inventory", &clerk));
    let sponge = NewConsumable {
        name: "Sponge".into(),
        unit: "piece".into(),
        low_stock_threshold: None,
    };
    let sponge = supply.add_consumable(&sponge).await.unwrap().consumable.id;
    supply.receive(sponge, 1, Some("delivery-1")).await.unwrap();
    let bom = BomSpec {
        lines: vec![BomLine {
            consumable_id: sponge,
            quantity: 2,
        }],
    };
    supply.write_bom(service_type, &bom).await.unwrap();

    // When a client's order becomes active
    c.token_for("client-k", "client").await;
    let ids = c
        .request_orders(1, &service_type.to_string(), "client-k")
        .await;
    assert_eq!(ids.len(), 1);
    let order = ids[0].clone();

    // Then its kit appears in the clerk's queue with the bill's consumables, one short
    let start = std::time::Instant::now();
    let kit = loop {
        let kits = supply.kits(Some(KitState::ToAssemble)).await.unwrap();
        if let Some(kit) = kits
            .into_iter()
            .find(|k| k.kit.order_id.to_string() == order)
        {
            break kit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no kit for order {order}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(kit.kit.lines.len(), 1);
    assert_eq!(kit.missing.len(), 1, "{:?}", kit.missing);

    // When the clerk presses Issued while a sponge is missing, then it is refused, naming why
    let refused = supply.issue(kit.kit.id).await.unwrap_err();
    assert_eq!(refused.code(), Some("consumables_short"), "{refused:?}");

    // When the second sponge arrives and the clerk issues the kit
    supply.receive(sponge, 1, Some("delivery-2")).await.unwrap();
    let issued = supply.issue(kit.kit.id).await.unwrap();

    // Then the kit is issued and the stock went down by its consumables, by a move
    assert_eq!(issued.kit.state, KitState::Issued);
    let stock = supply.stock().await.unwrap();
    let on_hand = stock
        .iter()
        .find(|s| s.consumable.id == sponge)
        .map(|s| s.on_hand);
    assert_eq!(on_hand, Some(0));
    let moves = supply.moves(sponge).await.unwrap();
    assert_eq!(moves.len(), 3, "two receipts and one issue: {moves:?}");
    // And the same delivery retried is not received twice
    supply.receive(sponge, 1, Some("delivery-2")).await.unwrap();
    assert_eq!(supply.moves(sponge).await.unwrap().len(), 3);
}
