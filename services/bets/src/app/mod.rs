//! Bets' use cases, one file each: load -> decide (the domain's rule) -> save -> publish
//! -> commit, with the calls to Ordering and Billing made outside any transaction
//! (`calls.rs`, `billing.rs`). Routes and the sweep call these, nothing else.

mod billing;
pub(crate) mod calls;
mod close_bet;
mod finish_settling;
mod open_bet;
mod place_stake;
mod queries;
mod resolve_stake;
mod sweep;

pub use close_bet::close_bet;
pub use finish_settling::finish_settling;
pub use open_bet::{NewBet, open_bet};
pub use place_stake::place_stake;
pub use queries::{BetView, bet_view, bets, stakes_of_bet, stakes_of_manager};
pub use resolve_stake::resolve_stake;
pub use service::Created;
pub use sweep::sweep;

/// Business time at the precision stored (microseconds), so a first answer and what is
/// read back later (a replay, a list) say the same time.
fn now(app: &crate::App) -> chrono::DateTime<chrono::Utc> {
    storage::time(storage::micros(app.ctx.clock.now()))
}
