//! Inventory's routes in-process (`service::testing`): the stock list and its ledger,
//! bills of materials, supply staff known from IAM's accounts, kits assembled from
//! Ordering's activations in the care of the least loaded of them and issued by supply
//! staff, each refusal with its status, code and field, written given / when / then. Every
//! answer is also checked against Inventory's OpenAPI document by the kit.

mod cancel;
mod cookies;
mod kits;
mod notify;
mod staff;
mod stock;

use std::sync::Arc;

use auth::Role;
use client::ClientError;
use contracts::ordering::OrderActivated;
use contracts::{AccountId, ConsumableId, Envelope, Money, OrderId, ServiceTypeId, WorkerId};
use messaging::Consumer;
use serde_json::Value;
use service::testing::{TestService, deliver, deliver_as_new_event};

use crate::client::InventoryClient;
use crate::domain::{BomLine, BomSpec, NewConsumable};
use crate::events::{ON_ACCOUNT, ON_ACTIVATED, OnAccount, OnOrderActivated};
use crate::{App, InventoryConfig};

async fn inventory() -> TestService {
    TestService::start(&crate::SPEC, serde_json::json!({})).await
}

fn as_role(ts: &TestService, role: Role) -> InventoryClient {
    InventoryClient(ts.client_as(AccountId::new(), &[role]))
}

fn supply(ts: &TestService) -> InventoryClient {
    as_role(ts, Role::Supply)
}

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

fn consumable(name: &str) -> NewConsumable {
    NewConsumable {
        name: name.into(),
        unit: "piece".into(),
        low_stock_threshold: None,
    }
}

/// A consumable added by supply staff: its id.
async fn add(ts: &TestService, name: &str) -> ConsumableId {
    supply(ts)
        .add_consumable(&consumable(name))
        .await
        .unwrap()
        .consumable
        .id
}

/// Given a bill of 2 sponges for cleaning, written by supply staff: the sponge's id and
/// the cleaning service type.
async fn sponge_bill(ts: &TestService) -> (ConsumableId, ServiceTypeId) {
    let sponge = add(ts, "Sponge").await;
    let cleaning = ServiceTypeId::new();
    let bill = BomSpec {
        lines: vec![BomLine {
            consumable_id: sponge,
            quantity: 2,
        }],
    };
    supply(ts).write_bom(cleaning, &bill).await.unwrap();
    (sponge, cleaning)
}

/// The consumer of Ordering's activations, as `build` makes it (inbox and all).
fn on_activated(ts: &TestService) -> Consumer {
    let app = App::new(ts.ctx().clone(), InventoryConfig::default()).unwrap();
    ts.ctx()
        .consumer(ON_ACTIVATED, Arc::new(OnOrderActivated { app }))
}

/// The consumer of IAM's accounts, as `build` makes it.
fn on_account(ts: &TestService) -> Consumer {
    let app = App::new(ts.ctx().clone(), InventoryConfig::default()).unwrap();
    ts.ctx().consumer(ON_ACCOUNT, Arc::new(OnAccount { app }))
}

/// Ordering's announcement that an order of `service_type` became active.
fn activation(ts: &TestService, service_type: ServiceTypeId) -> Envelope {
    let activated = OrderActivated {
        order_id: OrderId::new(),
        client_id: AccountId::new(),
        worker_id: WorkerId::new(),
        price: Money::from_minor(100),
        service_type_id: service_type,
        scheduled_at: ts.ctx().clock.now() + chrono::Duration::hours(2),
        service_type_name: "Cleaning".into(),
        duration_minutes: 60,
        rebook_of: None,
        description: "Kitchen, 2nd floor, Elm St 4".into(),
        client_name: Some("Kim Client".into()),
        worker_name: Some("Tom Worker".into()),
    };
    Envelope::new(&activated, 2, None)
}

/// The events of `event_type` in Inventory's outbox, oldest first.
async fn published(ts: &TestService, event_type: &str) -> Vec<Value> {
    ts.published(event_type).await
}
