//! The typed client of Quality's API (tests, the portal).

use client::{Client, ClientError, Method, StatusCode};
use contracts::OrderId;
use ordering::client::PhotoKind;
use uuid::Uuid;

use crate::app::{OrderView, QueueEntry, ReviewView};
use crate::domain::{
    AdjustmentIn, Figure, Hypothesis, NewHypothesis, OrderFile, ReviewForm, Tags, WorkerAdjustment,
};
use crate::routes::{
    DrawRequest, FiguresQuery, HypothesisQuery, OrderQuery, QueueQuery, ReviewEdit,
};
use crate::store::Draw;

/// Quality's API over a [`Client`] (its base is Quality's, e.g. `…/api/quality`).
#[derive(Clone)]
pub struct QualityClient(pub Client);

impl QualityClient {
    /// `GET /orders`.
    pub async fn orders(&self, query: &OrderQuery) -> Result<Vec<OrderFile>, ClientError> {
        self.0.get_query("/orders", query).await
    }

    /// `GET /orders/{id}`.
    pub async fn order(&self, id: OrderId) -> Result<OrderView, ClientError> {
        self.0.get(&format!("/orders/{id}")).await
    }

    /// `GET /orders/{id}/photos/{kind}`: the bytes and their media type.
    pub async fn photo(
        &self,
        id: OrderId,
        kind: PhotoKind,
    ) -> Result<(Vec<u8>, String), ClientError> {
        let reply = self
            .0
            .request(
                Method::GET,
                &format!("/orders/{id}/photos/{}", kind.as_str()),
            )
            .send()
            .await?;
        let media = reply.header("content-type").unwrap_or_default().to_owned();
        Ok((reply.body.to_vec(), media))
    }

    /// `GET /queue`.
    pub async fn queue(&self, query: &QueueQuery) -> Result<Vec<QueueEntry>, ClientError> {
        self.0.get_query("/queue", query).await
    }

    /// `POST /samples`, with `key` as `Idempotency-Key` if given.
    pub async fn draw(
        &self,
        request: &DrawRequest,
        key: Option<&str>,
    ) -> Result<Draw, ClientError> {
        self.0
            .request(Method::POST, "/samples")
            .json(request)
            .maybe_idempotency_key(key)
            .send()
            .await?
            .json()
    }

    /// `GET /samples`.
    pub async fn draws(&self) -> Result<Vec<Draw>, ClientError> {
        self.0.get("/samples").await
    }

    /// `GET /samples/{id}`.
    pub async fn sample(&self, id: Uuid) -> Result<Draw, ClientError> {
        self.0.get(&format!("/samples/{id}")).await
    }

    /// `POST /orders/{id}/review`, with `key` as `Idempotency-Key` if given.
    pub async fn write_review(
        &self,
        order: OrderId,
        form: &ReviewForm,
        key: Option<&str>,
    ) -> Result<ReviewView, ClientError> {
        self.0
            .request(Method::POST, &format!("/orders/{order}/review"))
            .json(form)
            .maybe_idempotency_key(key)
            .send()
            .await?
            .json()
    }

    /// `GET /reviews/{id}`.
    pub async fn review(&self, id: Uuid) -> Result<ReviewView, ClientError> {
        self.0.get(&format!("/reviews/{id}")).await
    }

    /// `PUT /reviews/{id}`.
    pub async fn edit_review(
        &self,
        id: Uuid,
        edit: &ReviewEdit,
    ) -> Result<ReviewView, ClientError> {
        self.0.put(&format!("/reviews/{id}"), edit).await
    }

    /// `POST /reviews/{id}/adjustments`: true when made now (201), false when it was made
    /// before (200).
    pub async fn adjust(
        &self,
        review: Uuid,
        adjustment: &AdjustmentIn,
    ) -> Result<(bool, WorkerAdjustment), ClientError> {
        let reply = self
            .0
            .request(Method::POST, &format!("/reviews/{review}/adjustments"))
            .json(adjustment)
            .send()
            .await?;
        Ok((reply.status == StatusCode::CREATED, reply.json()?))
    }

    /// `POST /hypotheses`.
    pub async fn add_hypothesis(&self, new: &NewHypothesis) -> Result<Hypothesis, ClientError> {
        self.0.post("/hypotheses", new).await
    }

    /// `GET /hypotheses`.
    pub async fn hypotheses(
        &self,
        query: &HypothesisQuery,
    ) -> Result<Vec<Hypothesis>, ClientError> {
        self.0.get_query("/hypotheses", query).await
    }

    /// `GET /hypotheses/{id}`.
    pub async fn hypothesis(&self, id: Uuid) -> Result<Hypothesis, ClientError> {
        self.0.get(&format!("/hypotheses/{id}")).await
    }

    /// `PUT /hypotheses/{id}/tags`.
    pub async fn tag(&self, id: Uuid, tags: &Tags) -> Result<Hypothesis, ClientError> {
        self.0.put(&format!("/hypotheses/{id}/tags"), tags).await
    }

    /// `GET /figures`.
    pub async fn figures(&self, query: &FiguresQuery) -> Result<Vec<Figure>, ClientError> {
        self.0.get_query("/figures", query).await
    }
}
