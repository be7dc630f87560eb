//! The stock list, receipts and the ledger; bills of materials.

use auth::Role;
use contracts::{ConsumableId, ServiceTypeId};

use super::{add, as_role, consumable, inventory, refusal, supply};
use crate::domain::{BomLine, BomSpec, MoveKind, NewConsumable};

#[tokio::test]
async fn consumables_are_refused_naming_the_field_and_a_name_is_taken_once() {
    // Given Inventory and supply staff with a sponge on the list
    let ts = inventory().await;
    let staff = supply(&ts);
    let sponge = staff.add_consumable(&consumable(" Sponge ")).await.unwrap();
    assert_eq!(sponge.consumable.name, "Sponge");
    assert_eq!((sponge.on_hand, sponge.low), (0, true));
    assert_eq!(
        sponge.consumable.low_stock_threshold, 10,
        "the configured default"
    );

    // When the name is added again, or a field is wrong
    let again = staff
        .add_consumable(&consumable("Sponge"))
        .await
        .unwrap_err();
    let no_unit = NewConsumable {
        unit: " ".into(),
        ..consumable("Gloves")
    };
    let negative = NewConsumable {
        low_stock_threshold: Some(-1),
        ..consumable("Gloves")
    };

    // Then each is refused, naming what is wrong; the list holds the sponge only
    assert_eq!(refusal(&again), (409, Some("consumable_exists"), None));
    for (spec, field) in [(no_unit, "unit"), (negative, "low_stock_threshold")] {
        let e = staff.add_consumable(&spec).await.unwrap_err();
        assert_eq!(refusal(&e), (422, Some("validation_failed"), Some(field)));
    }
    let stock = staff.stock().await.unwrap();
    assert_eq!(stock.len(), 1);
}

#[tokio::test]
async fn only_supply_staff_managers_and_admins_keep_stock() {
    // Given Inventory
    let ts = inventory().await;
    // When a client or a worker asks for the stock list, or nobody signed in does
    for role in [Role::Client, Role::Worker] {
        let e = as_role(&ts, role).stock().await.unwrap_err();
        // Then they are refused
        assert_eq!(e.status().unwrap().as_u16(), 403, "{role:?}");
    }
    let anonymous = crate::client::InventoryClient(ts.client());
    assert_eq!(
        anonymous
            .stock()
            .await
            .unwrap_err()
            .status()
            .unwrap()
            .as_u16(),
        401
    );
    // And managers and admins are let in
    for role in [Role::Manager, Role::Admin] {
        assert!(as_role(&ts, role).stock().await.is_ok(), "{role:?}");
    }
}

#[tokio::test]
async fn receipts_add_by_moves_and_a_retried_receipt_adds_once() {
    // Given a sponge on the list
    let ts = inventory().await;
    let staff = supply(&ts);
    let sponge = add(&ts, "Sponge").await;

    // When 4 and then 8 arrive, the second booked twice with the same key
    assert_eq!(staff.receive(sponge, 4, None).await.unwrap().on_hand, 4);
    let first = staff.receive(sponge, 8, Some("delivery-2")).await.unwrap();
    let retry = staff.receive(sponge, 8, Some("delivery-2")).await.unwrap();

    // Then the retry answers what the first got and adds nothing
    assert_eq!((first.on_hand, first.low), (12, false));
    assert_eq!(retry, first);
    let moves = staff.moves(sponge).await.unwrap();
    assert_eq!(
        moves
            .iter()
            .map(|m| (m.quantity, m.kind))
            .collect::<Vec<_>>(),
        vec![(4, MoveKind::Receipt), (8, MoveKind::Receipt)]
    );
    // And on hand is the sum of the moves
    let on_hand = staff.stock().await.unwrap()[0].on_hand;
    assert_eq!(on_hand, moves.iter().map(|m| m.quantity).sum::<i64>());

    // When the key is reused for another quantity, a quantity is not positive, or the
    // consumable does not exist
    let reused = staff
        .receive(sponge, 9, Some("delivery-2"))
        .await
        .unwrap_err();
    let zero = staff.receive(sponge, 0, None).await.unwrap_err();
    let unknown = staff
        .receive(ConsumableId::new(), 1, None)
        .await
        .unwrap_err();
    // Then each is refused and stock stays as it was
    assert_eq!(
        refusal(&reused),
        (422, Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    assert_eq!(
        refusal(&zero),
        (422, Some("validation_failed"), Some("quantity"))
    );
    assert_eq!(refusal(&unknown), (404, Some("not_found"), None));
    assert_eq!(staff.stock().await.unwrap()[0].on_hand, 12);
    let e = staff.moves(ConsumableId::new()).await.unwrap_err();
    assert_eq!(refusal(&e), (404, Some("not_found"), None));
}

#[tokio::test]
async fn a_bill_of_materials_is_kept_by_supply_staff_or_managers_and_names_real_consumables() {
    // Given a sponge and gloves, and a service type without a bill
    let ts = inventory().await;
    let (sponge, gloves) = (add(&ts, "Sponge").await, add(&ts, "Gloves").await);
    let cleaning = ServiceTypeId::new();
    let e = supply(&ts).bom(cleaning).await.unwrap_err();
    assert_eq!(refusal(&e), (404, Some("not_found"), None));
    let line = |consumable_id, quantity| BomLine {
        consumable_id,
        quantity,
    };

    // When supply staff write it, then a manager rewrites it
    let spec = BomSpec {
        lines: vec![line(sponge, 2), line(gloves, 1)],
    };
    let written = supply(&ts).write_bom(cleaning, &spec).await.unwrap();
    assert_eq!(written.lines.len(), 2);
    let manager = as_role(&ts, Role::Manager);
    let only_gloves = BomSpec {
        lines: vec![line(gloves, 3)],
    };
    manager.write_bom(cleaning, &only_gloves).await.unwrap();

    // Then the bill is the last one written, its lines named
    let bom = supply(&ts).bom(cleaning).await.unwrap();
    assert_eq!(
        bom.lines
            .iter()
            .map(|l| (l.consumable_id, l.name.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        vec![(gloves, "Gloves", 3)]
    );

    // When a line names a consumable that does not exist, or a worker writes a bill
    let unknown = BomSpec {
        lines: vec![line(sponge, 1), line(ConsumableId::new(), 1)],
    };
    let e = manager.write_bom(cleaning, &unknown).await.unwrap_err();
    let worker = as_role(&ts, Role::Worker).write_bom(cleaning, &spec).await;
    // Then each is refused, and the bill is unchanged
    assert_eq!(
        refusal(&e),
        (
            422,
            Some("validation_failed"),
            Some("lines[1].consumable_id")
        )
    );
    assert_eq!(worker.unwrap_err().status().unwrap().as_u16(), 403);
    assert_eq!(supply(&ts).bom(cleaning).await.unwrap().lines.len(), 1);
}
