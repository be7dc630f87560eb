//! Inventory's rules, without I/O: consumables and the stock ledger ([`stock`]: quantity on
//! hand is the sum of stock moves), bills of materials per service type ([`bom`]) and the
//! supply kit of an order ([`kit`]: assembled from its bill, issued only when stock covers
//! it, taking its consumables out by moves) with its responsible supply employee
//! ([`staff`]: the least loaded active holder of the `supply` role, the choice explained).

pub mod bom;
pub mod cancel;
pub mod cookie;
#[cfg(test)]
mod fixtures;
pub mod kit;
pub mod staff;
pub mod stock;

pub use bom::{Bom, BomLine, BomSpec};
pub use cancel::Cancel;
pub use cookie::{Cookie, CookieStatus};
pub use kit::{Issue, Job, Kit, KitState, Shortage};
pub use staff::{Person, Responsibility, choose_responsible};
pub use stock::{
    Consumable, LowStockNews, MoveKind, NewConsumable, OnHand, Receipt, Stock, StockMove,
};

use contracts::ConsumableId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A quantity of a named consumable: a line of a bill of materials or of a kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    pub consumable_id: ConsumableId,
    /// The consumable's name (copied into a kit when it is assembled).
    pub name: String,
    /// Units per order (positive).
    pub quantity: i64,
}
