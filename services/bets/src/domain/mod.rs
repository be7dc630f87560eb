//! Bets' rules, pure: no I/O, no clock (times are handed in).
//!
//! - [`bet`]: opening a bet on an active order, when stakes are taken, when it may close.
//! - [`stake`]: a manager's stake and its life (pending until Billing answers).
//! - [`settlement`]: how a pool is shared among the winners, exactly to the unit.

pub mod bet;
pub mod settlement;
pub mod stake;

pub use bet::{Bet, BetState, OrderStatus};
pub use contracts::bets::Outcome;
pub use settlement::{Payout, Settlement, share_pool};
pub use stake::{NewStake, Stake, StakeStatus};
