//! The typed client of Billing's API (tests, the portal, other services' sync calls: Bets
//! with its service token).

use client::{Client, ClientError, Method};
use service::clock::{Advance, ClockView};

pub use crate::app::{BankDetailsView, BankView};
// The answers' types, so callers can name them (helpers over a statement, say).
pub use crate::app::{Statement, StatementLine, Summary, TrialBalance, Upcoming};
pub use crate::domain::Invoice;
use crate::domain::LedgerAccount;
pub use crate::domain::{Award, BetBooking, NewAward, StakeCharge, Unwon, Winning};
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

    /// `POST /awards` under `key` (a manager's or admin's token).
    pub async fn award(&self, award: &NewAward, key: &str) -> Result<Award, ClientError> {
        self.0.post_keyed("/awards", award, Some(key)).await
    }

    /// `POST /bets/stakes` under `key` (Bets' service token; its stake id as the key).
    pub async fn charge_stake(
        &self,
        stake: &StakeCharge,
        key: &str,
    ) -> Result<BetBooking, ClientError> {
        self.0.post_keyed("/bets/stakes", stake, Some(key)).await
    }

    /// `POST /bets/payouts` under `key` (Bets' service token; its payout id as the key).
    pub async fn pay_winning(
        &self,
        winning: &Winning,
        key: &str,
    ) -> Result<BetBooking, ClientError> {
        self.0.post_keyed("/bets/payouts", winning, Some(key)).await
    }

    /// `POST /bets/unwon` under `key` (Bets' service token; its payout id as the key).
    pub async fn move_unwon(&self, unwon: &Unwon, key: &str) -> Result<BetBooking, ClientError> {
        self.0.post_keyed("/bets/unwon", unwon, Some(key)).await
    }

    /// `GET /me/invoices`.
    pub async fn my_invoices(&self) -> Result<Vec<Invoice>, ClientError> {
        self.0.get("/me/invoices").await
    }

    /// `GET /invoices` (managers and admins).
    pub async fn invoices(&self) -> Result<Vec<Invoice>, ClientError> {
        self.0.get("/invoices").await
    }

    /// `GET /invoices/{id}`.
    pub async fn invoice(&self, id: &str) -> Result<Invoice, ClientError> {
        self.0.get(&format!("/invoices/{id}")).await
    }

    /// `GET /me/bank`.
    pub async fn my_bank(&self) -> Result<BankDetailsView, ClientError> {
        self.0.get("/me/bank").await
    }

    /// `PUT /me/bank`: the caller's payment method token and/or bank account number.
    pub async fn set_my_bank(
        &self,
        details: &BankDetailsView,
    ) -> Result<BankDetailsView, ClientError> {
        self.0.put("/me/bank", details).await
    }

    /// `GET /ops/bank` (admins).
    pub async fn ops_bank(&self) -> Result<BankView, ClientError> {
        self.0.get("/ops/bank").await
    }

    /// `GET /ops/clock` (admins).
    pub async fn clock(&self) -> Result<ClockView, ClientError> {
        self.0.get("/ops/clock").await
    }

    /// `POST /ops/clock` (admins; where `clock.adjustable` is set): business time moved
    /// forward by `seconds`, the periods it ends run.
    pub async fn advance_clock(&self, seconds: i64) -> Result<ClockView, ClientError> {
        self.0.post("/ops/clock", &Advance::by(seconds)).await
    }

    /// `POST /ops/clock` (admins; where `clock.adjustable` is set): business time
    /// `offset_seconds` ahead of the system clock (forward only; the offset it has already
    /// is accepted, so a retry moves it once), the periods it ends run.
    pub async fn set_clock_offset(&self, offset_seconds: i64) -> Result<ClockView, ClientError> {
        self.0
            .post("/ops/clock", &Advance::to_offset(offset_seconds))
            .await
    }
}
