//! Invoices as their holders, managers and admins see them; what a person gave MCF for the
//! bank; the bank line as admins see it.

use std::collections::BTreeMap;

use contracts::AccountId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use super::Reader;
use crate::App;
use crate::bank::BreakerView;
use crate::domain::Invoice;
use crate::error::BillingError;
use crate::store::{self, BankDetails};

/// The most invoices one listing answers (newest periods first).
const LISTED: i64 = 200;

/// `holder`'s invoices (everyone's when `None`), newest period first, without their lines.
pub async fn invoices(app: &App, holder: Option<AccountId>) -> Result<Vec<Invoice>, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::invoices(&mut conn, holder, LISTED).await?)
}

/// Invoice `id` with its lines, for its holder or a reader who sees all; "not found" for
/// anyone else, as for an invoice that does not exist.
pub async fn invoice(app: &App, reader: Reader, id: &str) -> Result<Invoice, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let invoice = store::invoice(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("invoice"))?;
    if !reader.sees_all && invoice.account.holder() != Some(reader.id) {
        return Err(Refused::NotFound("invoice").into());
    }
    Ok(invoice)
}

/// What a person gave MCF for the bank: the payment method a client's invoices are
/// collected from, the account a worker's are paid out to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BankDetailsView {
    /// The token of a payment method registered at the bank (`pm_...`).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// The number of an account at the bank (`GH...`).
    #[serde(default)]
    pub payout_account: Option<String>,
}

/// A bank token or account number: 1 to 64 letters, digits, `_` or `-`.
fn bank_text(field: &str, value: &Option<String>) -> Result<(), BillingError> {
    let Some(value) = value else {
        return Ok(());
    };
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(BillingError::invalid(
            field,
            "1 to 64 letters, digits, '_' or '-', as the bank gave it",
        ));
    }
    Ok(())
}

/// Replaces what `holder` gave MCF for the bank; an invoice that failed for the lack of it
/// is tried again at its next attempt.
pub async fn set_bank_details(
    app: &App,
    holder: AccountId,
    details: BankDetailsView,
) -> Result<BankDetailsView, BillingError> {
    bank_text("payment_method", &details.payment_method)?;
    bank_text("payout_account", &details.payout_account)?;
    let mut work = app.ctx.begin().await?;
    let stored = BankDetails {
        payment_method: details.payment_method.clone(),
        payout_account: details.payout_account.clone(),
    };
    store::set_bank_details(&mut work, holder, &stored, app.ctx.clock.now()).await?;
    work.commit().await?;
    Ok(details)
}

/// What `holder` gave MCF for the bank.
pub async fn bank_details(app: &App, holder: AccountId) -> Result<BankDetailsView, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let stored = store::bank_details(&mut conn, holder).await?;
    Ok(BankDetailsView {
        payment_method: stored.payment_method,
        payout_account: stored.payout_account,
    })
}

/// The bank line as admins see it: where it is, its breaker (this process's), invoices by
/// status and how many open ones wait in doubt for the bank's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BankView {
    pub url: String,
    pub breaker: BreakerView,
    pub invoices: BTreeMap<String, i64>,
    pub in_doubt: i64,
}

pub async fn bank_view(app: &App) -> Result<BankView, BillingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let (invoices, in_doubt) = store::invoice_counts(&mut conn).await?;
    Ok(BankView {
        url: app.config.bank_url.clone(),
        breaker: app.bank.breaker_view(),
        invoices,
        in_doubt,
    })
}
