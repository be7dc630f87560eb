//! The typed client of Billing's API (tests, the portal, other services' sync calls: Bets
//! with its service token).

use client::{Client, ClientError, Method};

use crate::app::{Statement, Summary, TrialBalance, Upcoming};
use crate::domain::LedgerAccount;
use crate::routes::SummaryQuery;

/// Billing's API over a [`Client`] (its base is Billing's, e.g. `…/api/billing`).
#[derive(Clone)]
pub struct BillingClient(pub Client);

impl BillingClient {
    /// `GET /trial-balance`.
    pub async fn trial_balance(&self) -> Result<TrialBalance, ClientError> {
        self.0.get("/trial-balance").await
    }

    /// `GET /me/statements`.
    pub async fn my_statements(&self) -> Result<Vec<Statement>, ClientError> {
        self.0.get("/me/statements").await
    }

    /// `GET /me/upcoming`.
    pub async fn upcoming(&self) -> Result<Upcoming, ClientError> {
        self.0.get("/me/upcoming").await
    }

    /// `GET /accounts/{account}/statement`.
    pub async fn statement(&self, account: LedgerAccount) -> Result<Statement, ClientError> {
        self.0.get(&format!("/accounts/{account}/statement")).await
    }

    /// `GET /summary`.
    pub async fn summary(&self, query: &SummaryQuery) -> Result<Summary, ClientError> {
        self.0
            .request(Method::GET, "/summary")
            .query(query)
            .send()
            .await?
            .json()
    }
}
