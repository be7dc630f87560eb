//! Inventory's tables: SQL only. Every function reads or writes rows on the connection it
//! is given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes,
//! none decides. Times are the business clock's, passed in, stored as unix microseconds.

mod boms;
mod cookies;
mod kits;
mod people;
mod stock;

pub use boms::{bom, save_bom};
pub use cookies::{cookies_to_cancel, cookies_to_check, cookies_to_order, save_cookie};
pub use kits::{
    assign_responsible, insert_kit, kit, kit_of_order, kits, mark_canceled, mark_issued,
    unassigned_kits,
};
pub use people::{open_kits_by_responsible, people_by_id, supply_staff, upsert_person};
pub use stock::{
    consumables, consumables_by_id, insert_consumable, insert_move, low_stock_state, moves,
    on_hand, set_low_stock_state, touch_consumables,
};

use storage::DbError;
pub(crate) use storage::parsed;

type Result<T> = std::result::Result<T, DbError>;

/// A query with its values bound, ready to run on a connection.
type BoundQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;
