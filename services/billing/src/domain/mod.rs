//! Billing's rules, pure: no I/O, no clock (times are passed in). One file per thing.

pub mod awards;
pub mod bets;
pub mod invoice;
pub mod ledger;
pub mod orders;
pub mod period;

pub use awards::{Award, NewAward};
pub use bets::{BetBooking, StakeCharge, Unwon, Winning};
pub use invoice::{Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Outcome, Retry};
pub use ledger::{
    AccountKind, Actor, Cause, CauseKind, CompanyAccount, Entry, EntryHead, EntryId, EntryKind,
    LedgerAccount, LedgerError, Posting,
};
pub use orders::{Charge, LoyaltyTable, OrderMoneyError};
pub use period::{Period, PeriodKind, Zone, month_of, period_of, week_of};
