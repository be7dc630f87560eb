//! Quality's tables: SQL only. Every function reads or writes rows on the connection it is
//! given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes, none
//! decides. Times are stored as unix microseconds.

mod adjustments;
mod hypotheses;
mod queue;
mod reviews;
mod timeline;

pub use adjustments::{
    adjustment, adjustments_of, claim_adjustment, drop_adjustment, finish_adjustment,
};
pub use hypotheses::{hypotheses, hypothesis, insert_hypothesis, set_tags, unknown_hypotheses};
pub use queue::{
    Draw, completed_not_queued, draw, draws, enqueue, insert_draw, queue, queue_entry,
};
pub use reviews::{
    hypotheses_of_review, insert_review, link_hypotheses, review_head, review_of_order, revisions,
    save_revision,
};
pub use timeline::{
    OrderSearch, clear_projection, entries, file, finished, insert_entry, lock_file, save_file,
    search,
};

use storage::DbError;

type Result<T> = std::result::Result<T, DbError>;

/// A value bound to a query built from parts (a search's optional filters).
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

type BoundQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// `query` with `binds` bound in order.
fn bind_all<'q>(mut query: BoundQuery<'q>, binds: &'q [Bind]) -> BoundQuery<'q> {
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t.as_str()),
            Bind::Int(i) => query.bind(*i),
        };
    }
    query
}

/// A uuid column.
fn uuid(row: &storage::AnyRow, column: &str) -> Result<uuid::Uuid> {
    storage::parsed(row, column)
}
