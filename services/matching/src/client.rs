//! The typed client of Matching's API, for tests, the portal and other services: one
//! method per route, with the types the routes declare.
//!
//! ```no_run
//! # async fn run() -> Result<(), client::ClientError> {
//! use matching::client::{MatchingClient, NormalSampleIn};
//! let api = client::Client::new("http://127.0.0.1:8080/api/matching").with_token("a manager's");
//! let matching = MatchingClient(api);
//! let ann = NormalSampleIn { id: None, name: "Ann".into(), available: true, skills: [("cleaning".into(), 80)].into() };
//! let (created, sample) = matching.register(&ann, None).await?;
//! assert!(created);
//! let profile = matching.profile(sample.id).await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use client::{Client, ClientError, Method, Reply, StatusCode};
use contracts::{OrderId, WorkerId};

pub use crate::app::profile::{BookingView, HistoryView, Profile};
pub use crate::domain::adjustments::Adjustment;
pub use crate::domain::pipeline::RunnerUp;
pub use crate::domain::roster::{BookingSlot, RosterView, SampleView};
pub use crate::domain::samples::{Assignment, NormalSample, SampleResult};
pub use crate::routes::normal_samples::{AdjustmentRequest, AdjustmentsPage, NormalSampleIn};

/// Matching's routes, through a client whose base URL is Matching's API
/// (`.../api/matching`).
#[derive(Debug, Clone)]
pub struct MatchingClient(pub Client);

/// Whether a keyed POST created (201) or answered 200 (replaced, or the first answer again).
fn created(reply: &Reply) -> bool {
    reply.status == StatusCode::CREATED
}

impl MatchingClient {
    /// `GET /normal-samples`: every normal sample, by name (staff).
    pub async fn list(&self) -> Result<Vec<NormalSample>, ClientError> {
        self.0.get("/normal-samples").await
    }

    /// `POST /normal-samples`: registers a worker (true) or replaces its profile (false);
    /// with `key`, a retry answers the first result (false).
    pub async fn register(
        &self,
        sample: &NormalSampleIn,
        key: Option<&str>,
    ) -> Result<(bool, NormalSample), ClientError> {
        let reply = self
            .0
            .request(Method::POST, "/normal-samples")
            .json(sample)
            .maybe_idempotency_key(key)
            .send()
            .await?;
        Ok((created(&reply), reply.json()?))
    }

    /// `GET /normal-samples/{id}`: the profile as people read it.
    pub async fn profile(&self, id: WorkerId) -> Result<Profile, ClientError> {
        self.0.get(&format!("/normal-samples/{id}")).await
    }

    /// `PUT /normal-samples/{id}`: replaces a registered worker's profile.
    pub async fn update(
        &self,
        id: WorkerId,
        sample: &NormalSampleIn,
    ) -> Result<NormalSample, ClientError> {
        self.0.put(&format!("/normal-samples/{id}"), sample).await
    }

    /// `POST /normal-samples/{id}/adjustments`: sets or changes one level (true: applied
    /// now; false: the first answer to the same keyed request).
    pub async fn adjust(
        &self,
        id: WorkerId,
        adjustment: &AdjustmentRequest,
        key: Option<&str>,
    ) -> Result<(bool, Adjustment), ClientError> {
        let reply = self
            .0
            .request(Method::POST, &format!("/normal-samples/{id}/adjustments"))
            .json(adjustment)
            .maybe_idempotency_key(key)
            .send()
            .await?;
        Ok((created(&reply), reply.json()?))
    }

    /// `GET /normal-samples/{id}/adjustments`: a page of the audit, newest first.
    pub async fn adjustments(
        &self,
        id: WorkerId,
        page: &AdjustmentsPage,
    ) -> Result<Vec<Adjustment>, ClientError> {
        self.0
            .get_query(&format!("/normal-samples/{id}/adjustments"), page)
            .await
    }

    /// `GET /reference-samples/{order_id}`: the order's match and why.
    pub async fn assignment(&self, order_id: OrderId) -> Result<Assignment, ClientError> {
        self.0.get(&format!("/reference-samples/{order_id}")).await
    }

    /// `GET /ops/reference-samples`: reference samples per status (admins).
    pub async fn counts(&self) -> Result<BTreeMap<String, i64>, ClientError> {
        self.0.get("/ops/reference-samples").await
    }

    /// `GET /ops/roster`: the answering process's in-memory roster, canonical, with its
    /// digest (admins).
    pub async fn roster(&self) -> Result<RosterView, ClientError> {
        self.0.get("/ops/roster").await
    }
}
