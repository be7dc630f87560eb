//! A canceled order's kit: canceled, what it took back in stock by a move, its cookie to be
//! called off at the contractor; an order canceled while requested had no kit.

use std::sync::Arc;

use contracts::ordering::{OrderActivated, OrderCanceled, OrderFacts};
use contracts::{AccountId, Envelope, ServiceTypeId};
use messaging::Consumer;
use messaging::consumer::Disposition;
use service::testing::TestService;

use super::{
    activation, deliver, deliver_as_new_event, inventory, on_activated, refusal, sponge_bill,
    supply,
};
use crate::domain::{CookieStatus, KitState, MoveKind};
use crate::events::{ON_CANCELED, OnOrderCanceled};
use crate::{App, InventoryConfig};

/// The consumer of Ordering's cancels, as `build` makes it.
fn on_canceled(ts: &TestService) -> Consumer {
    let app = App::new(ts.ctx().clone(), InventoryConfig::default()).unwrap();
    ts.ctx()
        .consumer(ON_CANCELED, Arc::new(OnOrderCanceled { app }))
}

/// Ordering's announcement that the order `activation` announced was canceled by its
/// client, from `from_status`.
fn cancellation(activation: &Envelope, from_status: &str) -> (Envelope, AccountId) {
    let a: OrderActivated = activation.decode().unwrap();
    let event = OrderCanceled {
        order: OrderFacts {
            order_id: a.order_id,
            client_id: a.client_id,
            worker_id: Some(a.worker_id),
            price: Some(a.price),
            service_type_id: a.service_type_id,
            service_type_name: a.service_type_name,
            scheduled_at: a.scheduled_at,
            duration_minutes: a.duration_minutes,
            rebook_of: None,
        },
        from_status: from_status.into(),
        canceled_at: a.scheduled_at - chrono::Duration::hours(1),
        canceled_by: a.client_id,
        reason: Some("plans changed".into()),
    };
    (Envelope::new(&event, 3, None), a.client_id)
}

/// Hands `event` to `consumer` and says what the bus would do next.
async fn process(consumer: &Consumer, event: &Envelope) -> Disposition {
    consumer
        .process(&serde_json::to_vec(event).unwrap(), 1)
        .await
}

#[tokio::test]
async fn an_issued_kits_consumables_come_back_by_a_move_when_its_order_is_canceled() {
    // Given a cleaning order's kit of 2 sponges, issued (5 received, 3 left)
    let ts = inventory().await;
    let staff = supply(&ts);
    let (sponge, cleaning) = sponge_bill(&ts).await;
    staff.receive(sponge, 5, None).await.unwrap();
    let activated = activation(&ts, cleaning);
    deliver(&on_activated(&ts), &activated).await;
    let kit = staff.kits(None).await.unwrap().remove(0).kit;
    super::cookies::cookie_arrives(&ts, kit.id).await;
    staff.issue(kit.id).await.unwrap();
    assert_eq!(staff.stock().await.unwrap()[0].on_hand, 3);

    // When its order is canceled, and the cancel is heard twice
    let (event, client) = cancellation(&activated, "active");
    let consumer = on_canceled(&ts);
    deliver(&consumer, &event).await;
    deliver_as_new_event(&consumer, &event).await;

    // Then the kit is canceled and the 2 sponges are back, by one return move naming the
    // kit and the client who canceled
    let canceled = staff.kit(kit.id).await.unwrap();
    assert_eq!(canceled.kit.state, KitState::Canceled);
    assert!(canceled.missing.is_empty());
    assert_eq!(staff.stock().await.unwrap()[0].on_hand, 5);
    let moves = staff.moves(sponge).await.unwrap();
    let returns: Vec<_> = moves
        .iter()
        .filter(|m| m.kind == MoveKind::Return)
        .collect();
    assert_eq!(returns.len(), 1, "{moves:?}");
    assert_eq!(
        (returns[0].quantity, returns[0].kit_id, returns[0].actor),
        (2, Some(kit.id), client)
    );
    // And the queue lists it among the canceled; it cannot be issued again
    let listed = staff.kits(Some(KitState::Canceled)).await.unwrap();
    assert_eq!(listed.len(), 1);
    let e = staff.issue(kit.id).await.unwrap_err();
    assert_eq!(refusal(&e), (409, Some("kit_canceled"), None));
}

#[tokio::test]
async fn an_open_kits_cookie_is_to_be_called_off_and_nothing_moves_when_its_order_is_canceled() {
    // Given an order's kit, not issued, its cookie still to come
    let ts = inventory().await;
    let activated = activation(&ts, ServiceTypeId::new());
    deliver(&on_activated(&ts), &activated).await;
    let kit = supply(&ts).kits(None).await.unwrap().remove(0).kit;
    assert_ne!(kit.cookie.status, CookieStatus::Arrived);

    // When its order is canceled
    deliver(&on_canceled(&ts), &cancellation(&activated, "active").0).await;

    // Then the kit is canceled, its cookie is to be called off (the cookie job does it),
    // and no stock moved
    let canceled = supply(&ts).kit(kit.id).await.unwrap().kit;
    assert_eq!(canceled.state, KitState::Canceled);
    assert_eq!(canceled.cookie.status, CookieStatus::ToCancel);
    assert!(supply(&ts).stock().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_cancel_heard_before_its_kit_waits_and_a_requested_order_had_none() {
    // Given an activation not yet heard
    let ts = inventory().await;
    let activated = activation(&ts, ServiceTypeId::new());
    let consumer = on_canceled(&ts);

    // When the cancel of the active order comes first, then it is to be heard again later
    let (event, _) = cancellation(&activated, "active");
    assert!(matches!(
        process(&consumer, &event).await,
        Disposition::Retry(_)
    ));
    // And once the kit is there, hearing it again cancels the kit
    deliver(&on_activated(&ts), &activated).await;
    assert_eq!(process(&consumer, &event).await, Disposition::Done);
    assert_eq!(
        supply(&ts).kits(None).await.unwrap()[0].kit.state,
        KitState::Canceled
    );

    // When an order canceled while requested (no kit ever) is heard, nothing is made
    let other = activation(&ts, ServiceTypeId::new());
    let (requested, _) = cancellation(&other, "requested");
    assert_eq!(process(&consumer, &requested).await, Disposition::Done);
    assert_eq!(supply(&ts).kits(None).await.unwrap().len(), 1);
}
