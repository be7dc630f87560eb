//! Billing's tables: SQL only. Every function reads or writes rows on the connection it is
//! given (a [`messaging::Work`] derefs to one) and returns `DbError`; none publishes, none
//! decides. Times are the business clock's, passed in, stored as unix microseconds.

mod accounts;
mod invoices;
mod ledger;

pub use accounts::{
    AccountRow, Holder, account, accounts, accounts_of_holder, lock_account, open_account,
    remember_holder,
};
pub use invoices::{
    BankDetails, bank_details, carried_over, claim_run, count_run, due, first_booking,
    insert_invoice, invoice, invoice_counts, invoices, last_run, lease, set_bank_details,
    uninvoiced, update_invoice,
};
pub use ledger::{
    StatementRow, balance, balances, cause_balance, entry, insert_entry, kind_total,
    paid_by_client, statement,
};

use storage::DbError;
pub(crate) use storage::parsed;

type Result<T> = std::result::Result<T, DbError>;
