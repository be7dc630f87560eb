//! Bets' tables: SQL only. Every function reads or writes rows on the connection it is
//! given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes, none
//! decides. Times are the business clock's, passed in, stored as unix microseconds.

mod bets;
mod payouts;
mod stakes;

pub use bets::{
    BETS_LISTED, bet, bet_of_order, bets, insert_bet, lock_bet, save_bet, settling_bets,
};
pub use payouts::{insert_payouts, mark_paid, payouts};
pub use stakes::{
    insert_stake, pending_stakes, pools, resolve_stake, stake, stake_by_key, stakes_of_bet,
    stakes_of_manager,
};

use contracts::BetId;
use storage::DbError;

use crate::domain::BetState;

type Result<T> = std::result::Result<T, DbError>;

/// An optional stored time.
fn time_opt(us: Option<i64>) -> Option<chrono::DateTime<chrono::Utc>> {
    us.map(storage::time)
}

/// A query with its values bound, ready to run on a connection.
type BoundQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Which bets a read is about: one, or those a list shows. The list, its pools and its
/// payouts share the one filter, so each is one query whatever the number of bets.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// Bet `id`.
    Bet(BetId),
    /// The bets in a state (all if `None`), newest first, at most [`BETS_LISTED`].
    Listed(Option<BetState>),
}

impl Which {
    /// `sql` with `{ids}` standing for a subquery of the bets' ids, its values bound.
    fn query<'q>(self, sql: &str) -> BoundQuery<'q> {
        let ids = match self {
            Which::Bet(_) => "SELECT id FROM bets WHERE id = $1",
            Which::Listed(_) => {
                "SELECT id FROM bets WHERE ($1 = '' OR state = $1) \
                 ORDER BY opened_at DESC, id DESC LIMIT $2"
            }
        };
        // Safe: only the constant subquery goes into the text; the values are bound.
        let query = storage::query(sqlx::AssertSqlSafe(sql.replace("{ids}", ids)));
        match self {
            Which::Bet(id) => query.bind(id.to_string()),
            Which::Listed(state) => query
                .bind(state.map_or("", |s| s.as_str()))
                .bind(BETS_LISTED),
        }
    }
}
