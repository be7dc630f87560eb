//! Billing's use cases, one file each: load -> decide (the domain's rule) -> save ->
//! publish -> commit, all in one [`messaging::Work`]. Routes and event handlers call these,
//! nothing else. Every booking goes through [`post`].

mod accounts;
mod advance_clock;
mod bets;
mod cycles;
mod grant_award;
mod invoices;
mod orders;
mod post;
mod queries;
mod settle;
mod statements;

pub use accounts::{open_worker_account, remember_account};
pub use advance_clock::advance_clock;
pub use bets::{charge_stake, move_unwon, pay_winning};
pub use cycles::run_cycles;
pub use grant_award::grant_award;
pub use invoices::{
    BankDetailsView, BankView, bank_details, bank_view, invoice, invoices, set_bank_details,
};
pub use orders::{charge_activated, credit_completed, penalize_failed};
pub use post::{Posted, post};
pub use queries::{BalanceLine, TrialBalance, trial_balance};
pub use settle::settle_due;
pub use statements::{
    Reader, Statement, StatementLine, Summary, Upcoming, my_statements, statement, summary,
    upcoming,
};
