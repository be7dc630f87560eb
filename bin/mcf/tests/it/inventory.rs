//! Inventory across services: an order that becomes active in Ordering gets its supply kit
//! in Inventory, built from its service type's bill of materials, and its fortune cookie
//! from the sandbox contractor (a real HTTP server, delivering after a second); supply
//! staff cannot issue the kit while stock is short or the cookie has not come, and issuing
//! takes the consumables out. The contractor's faults, switched over its HTTP API, each end
//! with one cookie baked per kit and the kit ready or visibly failed.

use std::time::Duration;

use contracts::ServiceTypeId;
use inventory::KitView;
use inventory::client::InventoryClient;
use inventory::domain::{BomLine, BomSpec, CookieStatus, KitState, NewConsumable};
use serde_json::json;

use crate::harness::{Cluster, Mode, poll_until};

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

    // Then its kit appears in the clerk's own queue (the only supply employee, so the
    // responsible one) with the bill's consumables, one short
    let kit = poll_until(Duration::from_secs(20), &format!("order {order}"), || {
        kit_of(&supply, &order, Some(KitState::ToAssemble), true)
    })
    .await;
    assert_eq!(kit.kit.lines.len(), 1);
    assert_eq!(kit.missing.len(), 1, "{:?}", kit.missing);
    let responsible = kit.responsible.as_ref().map(|p| p.name.as_str());
    assert_eq!(responsible, Some("clerk"), "{kit:?}");

    // When the clerk presses Issued while a sponge is missing, then it is refused, naming why
    let refused = supply.issue(kit.kit.id).await.unwrap_err();
    assert_eq!(refused.code(), Some("consumables_short"), "{refused:?}");

    // When the second sponge arrives
    supply.receive(sponge, 1, Some("delivery-2")).await.unwrap();

    // Then the kit waits for its cookie, ordered from the contractor with the client's
    // details, and cannot be issued before it comes
    let kit_id = kit.kit.id;
    let waiting = supply.kit(kit_id).await.unwrap();
    if waiting.kit.cookie.status != CookieStatus::Arrived {
        assert_eq!(waiting.kit.state, KitState::WaitingForCookie, "{waiting:?}");
        let early = supply.issue(kit_id).await.unwrap_err();
        assert_eq!(early.code(), Some("cookie_not_arrived"), "{early:?}");
    }
    // And after the contractor's delay the cookie arrives and the kit is ready
    let ready = kit_until(&supply, kit_id, |k| k.kit.state == KitState::Ready).await;
    assert_eq!(ready.kit.cookie.status, CookieStatus::Arrived);
    assert_eq!(c.cookies.baked_for(&kit_id.to_string()), 1);
    let baked = c.cookies.sandbox.baked();
    let cookie = baked.iter().find(|b| b.key == kit_id.to_string()).unwrap();
    assert_eq!(cookie.client_name, "client-k");
    assert_eq!(cookie.client_email, "client-k@cats.test");

    // When the clerk issues the kit
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

/// The kit of `order` in the caller's own queue (`mine`) or all kits, in `state` (any
/// when `None`); `Err` while it is not listed.
async fn kit_of(
    supply: &InventoryClient,
    order: &str,
    state: Option<KitState>,
    mine: bool,
) -> Result<KitView, String> {
    let kits = if mine {
        supply.my_kits(state).await
    } else {
        supply.kits(state).await
    };
    kits.unwrap()
        .into_iter()
        .find(|k| k.kit.order_id.to_string() == order)
        .ok_or_else(|| "no kit".to_owned())
}

/// Kit `id` once `done` holds (within 30 s).
async fn kit_until(
    supply: &InventoryClient,
    id: contracts::KitId,
    done: impl Fn(&KitView) -> bool,
) -> KitView {
    poll_until(Duration::from_secs(30), &format!("kit {id}"), || async {
        let kit = supply.kit(id).await.unwrap();
        if done(&kit) {
            Ok(kit)
        } else {
            Err(format!("never got there: {kit:?}"))
        }
    })
    .await
}

/// The contractor fault matrix across the system: for each fault (switched on over the
/// sandbox's HTTP API), one order's kit gets exactly one cookie baked and ends ready, or,
/// refused, visibly failed until supply staff order it again.
pub async fn every_contractor_fault_ends_with_one_cookie_per_kit(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let service_type = c.service_type().await;
    c.register_worker("Tom", 90).await;
    c.token_for("client-f", "client").await;
    let clerk = c.token_for("clerk", "supply").await;
    let supply = InventoryClient(c.client("inventory", &clerk));
    // Each attempt may take 1 s in the test systems: slower answers time out.
    let cases = [
        ("slow answer", json!({"slow_ms": 2500, "times": 1})),
        (
            "500 after the work",
            json!({"error_after_work": true, "times": 2}),
        ),
        ("connection reset", json!({"reset": true, "times": 2})),
        ("duplicate callbacks", json!({"duplicate_callbacks": true})),
        ("late callback", json!({"late_callback_ms": 4000})),
        ("refusal", json!({"refuse": true})),
    ];
    for (fault, faults) in cases {
        set_faults(&c, faults).await;
        let ids = c.request_orders(1, &service_type, "client-f").await;
        assert_eq!(ids.len(), 1, "{fault}");
        let order = ids[0].clone();
        // The order's kit appears
        let kit = poll_until(Duration::from_secs(30), fault, || {
            kit_of(&supply, &order, None, false)
        })
        .await;
        let id = kit.kit.id;
        let end = kit_until(&supply, id, |k| {
            matches!(
                k.kit.cookie.status,
                CookieStatus::Arrived | CookieStatus::Failed
            )
        })
        .await;
        if fault == "refusal" {
            // Refused: visibly failed, nothing baked; re-ordered once the contractor bakes
            assert_eq!(end.kit.cookie.status, CookieStatus::Failed, "{fault}");
            let why = end.kit.cookie.failure.clone().unwrap_or_default();
            assert!(why.contains("cannot bake"), "{fault}: {why}");
            assert_eq!(c.cookies.baked_for(&id.to_string()), 0, "{fault}");
            set_faults(&c, json!({})).await;
            supply.reorder_cookie(id).await.unwrap();
            kit_until(&supply, id, |k| {
                k.kit.cookie.status == CookieStatus::Arrived
            })
            .await;
        } else {
            assert_eq!(
                end.kit.cookie.status,
                CookieStatus::Arrived,
                "{fault}: {end:?}"
            );
        }
        // Duplicate and late callbacks come after the arrival: let them, then count
        tokio::time::sleep(Duration::from_millis(if fault == "late callback" {
            4500
        } else {
            300
        }))
        .await;
        assert_eq!(c.cookies.baked_for(&id.to_string()), 1, "{fault}");
        let after = supply.kit(id).await.unwrap();
        assert_eq!(after.kit.cookie.status, CookieStatus::Arrived, "{fault}");
        assert_eq!(after.kit.state, KitState::Ready, "{fault}");
    }
    set_faults(&c, json!({})).await;
}

/// Switches the contractor's `faults` over its HTTP API (`{}`: none).
async fn set_faults(c: &Cluster, faults: serde_json::Value) {
    let put = c
        .http
        .put(format!("{}/faults", c.cookies.url))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200, "{faults}");
}
