//! Inventory's tables: SQL only. Every function reads or writes rows on the connection it
//! is given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes,
//! none decides. Times are the business clock's, passed in, stored as unix microseconds.

mod boms;
mod kits;
mod people;
mod stock;

pub use boms::{bom, save_bom};
pub use kits::{insert_kit, kit, kits, mark_issued};
pub use people::{open_kits_by_responsible, people_by_id, supply_staff, upsert_person};
pub use stock::{
    consumables, consumables_by_id, insert_consumable, insert_move, moves, on_hand,
    touch_consumables,
};

use storage::{AnyRow, DbError, Row};

type Result<T> = std::result::Result<T, DbError>;

/// A stored value that does not parse (only a bug or a hand edit makes one).
fn undecodable(message: String) -> DbError {
    DbError::Sqlx(sqlx::Error::Decode(message.into()))
}

/// Column `column` of `row`, parsed (a typed id or a state stored as text).
fn parsed<T>(row: &AnyRow, column: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.get(column);
    text.parse()
        .map_err(|e| undecodable(format!("{column} {text:?}: {e}")))
}
