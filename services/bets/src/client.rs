//! The typed client of Bets' API (tests, the portal): one method per route.

use client::{Client, ClientError, Method, Reply};
use contracts::BetId;

pub use crate::app::{BetView, NewBet};
use crate::domain::{NewStake, Stake};
pub use crate::routes::BetQuery;

/// Bets' routes, called as the wrapped client's token allows.
#[derive(Debug, Clone)]
pub struct BetsClient(pub Client);

impl BetsClient {
    /// `POST /bets` (a manager): the new bet, or with `key` on a retry the first one.
    pub async fn open(&self, new: &NewBet, key: Option<&str>) -> Result<BetView, ClientError> {
        self.0.post_keyed("/bets", new, key).await
    }

    /// `GET /bets`: newest first, in `query.state` if given.
    pub async fn bets(&self, query: &BetQuery) -> Result<Vec<BetView>, ClientError> {
        self.0.get_query("/bets", query).await
    }

    /// `GET /bets/{id}`.
    pub async fn bet(&self, id: BetId) -> Result<BetView, ClientError> {
        self.0.get(&format!("/bets/{id}")).await
    }

    /// `POST /bets/{id}/stakes` (a manager) under Idempotency-Key `key`.
    pub async fn stake(&self, id: BetId, new: &NewStake, key: &str) -> Result<Stake, ClientError> {
        self.stake_reply(id, new, Some(key)).await?.json()
    }

    /// `POST /bets/{id}/stakes` as answered: 201 (new) or 200 (a retry); `key` optional here
    /// so tests can leave it out.
    pub async fn stake_reply(
        &self,
        id: BetId,
        new: &NewStake,
        key: Option<&str>,
    ) -> Result<Reply, ClientError> {
        self.0
            .request(Method::POST, &format!("/bets/{id}/stakes"))
            .json(new)
            .maybe_idempotency_key(key)
            .send()
            .await
    }

    /// `GET /bets/{id}/stakes`: the bet's stakes, earliest first.
    pub async fn stakes_of(&self, id: BetId) -> Result<Vec<Stake>, ClientError> {
        self.0.get(&format!("/bets/{id}/stakes")).await
    }

    /// `GET /me/stakes` (a manager): its own stakes.
    pub async fn my_stakes(&self) -> Result<Vec<Stake>, ClientError> {
        self.0.get("/me/stakes").await
    }

    /// `POST /bets/{id}/close` (a manager).
    pub async fn close(&self, id: BetId) -> Result<BetView, ClientError> {
        self.0.post_empty(&format!("/bets/{id}/close")).await
    }
}
