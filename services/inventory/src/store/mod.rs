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
    consumables, consumables_by_id, insert_consumable, insert_move, low_stock_states, moves,
    on_hand, set_low_stock_state, touch_consumables,
};

use storage::DbError;
pub(crate) use storage::{parsed, parsed_opt};

type Result<T> = std::result::Result<T, DbError>;

/// A query with its values bound, ready to run on a connection.
type BoundQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// A query about a list of rows: `sql` with `{ids}` standing for the list of an `IN`, the
/// `ids` bound as text to `$1..$n`. One round trip for the list instead of one per id (each
/// a network round trip in distributed mode). The caller skips an empty list (`IN ()` is
/// not SQL).
fn with_ids<'q, T: ToString>(sql: &str, ids: &[T]) -> BoundQuery<'q> {
    // Safe: only the placeholders' numbers go into the text; the ids are bound.
    let sql = sql.replace("{ids}", &storage::placeholders(1, ids.len()));
    let mut query = storage::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.to_string());
    }
    query
}
