//! The bank ("Gold Hat"), as Billing calls it (I/O at the edge): collections from clients'
//! payment methods and payouts to workers' accounts, each under an `Idempotency-Key` that
//! is the ledger entry it will book (`collection:<invoice>`, `payout:<invoice>`), so a
//! retry, or a call repeated after a crash between the call and recording its answer,
//! moves no money twice; and the bank's statement, read for an operation whose answer was
//! lost (a timeout, a 500, a closed connection after the bank executed it). Attempts,
//! doubling pauses and the breaker are the shared [`partner::Partner`]'s.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::Money;
use serde::{Deserialize, Serialize};

pub use partner::{BreakerView, CallError};

use crate::config::BillingConfig;
use crate::domain::InvoiceKind;

/// An operation the bank executed, as it answers and lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Operation {
    pub operation_id: String,
    /// The `Idempotency-Key` it was executed under.
    pub key: String,
    pub amount: i64,
    pub executed_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Collection<'a> {
    payment_method: &'a str,
    amount: i64,
    reference: &'a str,
}

#[derive(Serialize)]
struct Payout<'a> {
    account: &'a str,
    amount: i64,
    reference: &'a str,
}

/// The bank's client: its URL and the partner calling it.
pub struct Bank {
    partner: partner::Partner,
    url: String,
}

impl Bank {
    /// The client `config` describes.
    pub fn new(config: &BillingConfig) -> anyhow::Result<Bank> {
        let settings = partner::Settings {
            timeout: Duration::from_millis(config.bank_timeout_ms),
            attempts: config.bank_attempts,
            backoff: Duration::from_millis(config.bank_backoff_ms),
            breaker_failures: config.bank_breaker_failures,
            breaker_cool_down: Duration::from_millis(config.bank_breaker_cool_down_ms),
        };
        Ok(Bank {
            partner: partner::Partner::new("bank", &settings)?,
            url: config.bank_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The breaker as admins see it now.
    pub fn breaker_view(&self) -> BreakerView {
        self.partner.breaker_view()
    }

    /// Executes `kind` for `amount` under `key`, for invoice `reference`: a collection from
    /// the payment method `target`, or a payout to the account `target`.
    pub async fn execute(
        &self,
        kind: InvoiceKind,
        key: &str,
        target: &str,
        amount: Money,
        reference: &str,
    ) -> Result<Operation, CallError> {
        let amount = amount.minor();
        match kind {
            InvoiceKind::Collection => {
                let body = Collection {
                    payment_method: target,
                    amount,
                    reference,
                };
                self.operate("collections", key, &body).await
            }
            InvoiceKind::Payout => {
                let body = Payout {
                    account: target,
                    amount,
                    reference,
                };
                self.operate("payouts", key, &body).await
            }
        }
    }

    /// POSTs `body` to `/{path}` under `key`, retried with the same key.
    async fn operate(
        &self,
        path: &str,
        key: &str,
        body: &impl Serialize,
    ) -> Result<Operation, CallError> {
        let url = format!("{}/{path}", self.url);
        self.partner
            .call(|| {
                self.partner
                    .http()
                    .post(&url)
                    .header("Idempotency-Key", key)
                    .json(body)
            })
            .await
    }

    /// The operation the bank executed under `key`, if it did: how an ambiguous answer is
    /// settled without moving money again.
    pub async fn executed(&self, key: &str) -> Result<Option<Operation>, CallError> {
        // Keys are Billing's entry ids: letters, digits, '-', ':' (nothing to escape).
        let url = format!("{}/statement?key={key}", self.url);
        let operations: Vec<Operation> =
            self.partner.call(|| self.partner.http().get(&url)).await?;
        Ok(operations.into_iter().find(|op| op.key == key))
    }
}
