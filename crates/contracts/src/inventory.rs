//! Events published by Inventory.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;
use crate::iam::MailRequest;
use crate::ids::{AccountId, ConsumableId, KitId, OrderId};

/// An active order's kit was assembled: what goes in (its service type's bill of materials
/// as it was) and the supply employee responsible for handing it out, with why them. The
/// kit's story starts here (Quality shows it beside the order), before it is issued or the
/// order fails for want of it.
///
/// The aggregate is the kit: its assembly is version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KitAssembled {
    pub kit_id: KitId,
    /// The order the kit is for.
    pub order_id: OrderId,
    /// Business time of the assembly (when the order became active).
    pub assembled_at: DateTime<Utc>,
    /// The supply employee responsible for it; `None` when no active supply staff were
    /// known (the kit is in everyone's queue).
    pub responsible_id: Option<AccountId>,
    /// Why that person, or why nobody ("least loaded: 2 open kits; 3 supply staff").
    pub responsible_reason: String,
    /// What goes into the kit (empty when the service type has no bill of materials).
    pub items: Vec<KitItem>,
}

/// One consumable of an assembled kit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KitItem {
    pub consumable_id: ConsumableId,
    /// The consumable's name when the kit was assembled.
    pub name: String,
    /// How many units go in (positive).
    pub quantity: i64,
}

impl Event for KitAssembled {
    const TYPE: &'static str = "inventory.kit.assembled";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";
    fn aggregate_id(&self) -> String {
        self.kit_id.to_string()
    }
}

/// Supply staff handed out an order's kit: its consumables left stock (one stock move
/// each): the order's supplies left the warehouse.
///
/// The aggregate is the kit: version 1 was its assembly, so an issue is version 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KitIssued {
    pub kit_id: KitId,
    /// The order the kit is for.
    pub order_id: OrderId,
    /// The supply employee (or manager) who pressed Issued.
    pub issued_by: AccountId,
    /// Business time of the issue.
    pub issued_at: DateTime<Utc>,
    /// What went into the kit; each line was taken out of stock.
    pub items: Vec<IssuedItem>,
}

/// One consumable of an issued kit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssuedItem {
    pub consumable_id: ConsumableId,
    /// The consumable's name when the kit was issued.
    pub name: String,
    /// How many units were taken out of stock (positive).
    pub quantity: i64,
}

impl Event for KitIssued {
    const TYPE: &'static str = "inventory.kit.issued";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";
    fn aggregate_id(&self) -> String {
        self.kit_id.to_string()
    }
}

/// Inventory asks Mail to tell supply staff something: a kit to assemble (to its
/// responsible employee), a consumable that fell below its low-stock mark (to each active
/// supply employee). Through Inventory's outbox, committed with the change it reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MailRequested {
    /// The kit the mail is about, if any.
    #[serde(default)]
    pub kit_id: Option<KitId>,
    /// The consumable the mail is about, if any.
    #[serde(default)]
    pub consumable_id: Option<ConsumableId>,
    pub request: MailRequest,
}

impl Event for MailRequested {
    const TYPE: &'static str = "inventory.mail.requested";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "inventory";
    /// Each request is its own aggregate (version 1).
    fn aggregate_id(&self) -> String {
        format!("mail:{}", self.request.idempotency_key)
    }
}
