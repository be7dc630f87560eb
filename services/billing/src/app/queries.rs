//! What people read: balances, statements, summaries. Read-only, on a pooled connection.

use contracts::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::domain::{AccountKind, LedgerAccount};
use crate::error::BillingError;
use crate::store;

/// One line of the trial balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BalanceLine {
    pub account: LedgerAccount,
    pub kind: AccountKind,
    /// The holder's name as IAM or Hiring told it (the company's account's description).
    pub name: String,
    /// Sum of the account's postings: positive, the holder owes MCF (or the company
    /// account was debited); negative, MCF owes the holder (or it was credited).
    pub balance: Money,
}

/// Every account's balance and their sum, which the ledger keeps at zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TrialBalance {
    pub accounts: Vec<BalanceLine>,
    /// The sum of every balance: always zero.
    pub total: Money,
}

/// The trial balance: every open account with its balance, and their sum.
pub async fn trial_balance(app: &App) -> Result<TrialBalance, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let balances = store::balances(&mut conn).await?;
    let mut total = Money::zero();
    let mut accounts = Vec::new();
    for row in store::accounts(&mut conn, None).await? {
        let balance = balances
            .get(&row.account.to_string())
            .copied()
            .unwrap_or_default();
        total = total
            .checked_add(balance)
            .ok_or_else(|| BillingError::ledger("the trial balance overflows"))?;
        accounts.push(BalanceLine {
            account: row.account,
            kind: row.kind,
            name: row.name,
            balance,
        });
    }
    Ok(TrialBalance { accounts, total })
}
