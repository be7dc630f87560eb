//! The typed client of Ordering's API: one method per route, with the types the routes
//! declare. Wraps a [`client::Client`] whose base URL is Ordering's API
//! (`http://host:port/api/ordering`, or an in-process router from `service::testing`) and
//! whose token is the caller's.
//!
//! ```no_run
//! # async fn run(req: ordering::domain::order::OrderRequest) -> Result<(), client::ClientError> {
//! use ordering::client::OrderingClient;
//!
//! let api = client::Client::new("http://127.0.0.1:8080/api/ordering");
//! let ordering = OrderingClient(api.with_token("a client's token"));
//! let order = ordering.request(&req, Some("order-42")).await?;
//! assert_eq!(ordering.order(order.id).await?.order, order);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use client::{Client, ClientError, Method, Reply};
use contracts::{OrderId, ServiceTypeId};

pub use crate::app::{OrderView, PHOTO_MEDIA, PhotoKind};
use crate::domain::order::{Order, OrderRequest};
use crate::domain::service_type::{NewServiceType, ServiceType, ServiceTypeEdit};
pub use crate::routes::{
    Advance, CancelRequest, CheckInRequest, ClockView, CompleteRequest, JobsQuery, OrderListQuery,
    RebookRequest, ServiceTypeListQuery,
};

/// Ordering's routes, called as the wrapped client's token allows.
#[derive(Debug, Clone)]
pub struct OrderingClient(pub Client);

impl OrderingClient {
    /// `POST /service-types` (staff): 201 with the new type; with `key`, a retry of the same
    /// request gets the first (200).
    pub async fn add_service_type(
        &self,
        new: &NewServiceType,
        key: Option<&str>,
    ) -> Result<ServiceType, ClientError> {
        self.0.post_keyed("/service-types", new, key).await
    }

    /// `GET /service-types`: the catalog by name (retired types too, for staff who ask).
    pub async fn service_types(
        &self,
        include_retired: bool,
    ) -> Result<Vec<ServiceType>, ClientError> {
        let query = ServiceTypeListQuery { include_retired };
        self.0.get_query("/service-types", &query).await
    }

    /// `PATCH /service-types/{id}` (staff).
    pub async fn edit_service_type(
        &self,
        id: ServiceTypeId,
        edit: &ServiceTypeEdit,
    ) -> Result<ServiceType, ClientError> {
        self.0.patch(&format!("/service-types/{id}"), edit).await
    }

    /// `POST /service-types/{id}/retire` (staff).
    pub async fn retire_service_type(&self, id: ServiceTypeId) -> Result<ServiceType, ClientError> {
        self.0
            .post_empty(&format!("/service-types/{id}/retire"))
            .await
    }

    /// `POST /orders` (a client): the new order, or with `key` on a retry the first one.
    pub async fn request(
        &self,
        req: &OrderRequest,
        key: Option<&str>,
    ) -> Result<Order, ClientError> {
        self.request_reply(req, key).await?.json()
    }

    /// `POST /orders` as answered: 201 (new) or 200 (a replay), `Location`, the order.
    pub async fn request_reply(
        &self,
        req: &OrderRequest,
        key: Option<&str>,
    ) -> Result<Reply, ClientError> {
        self.0
            .request(Method::POST, "/orders")
            .json(req)
            .maybe_idempotency_key(key)
            .send()
            .await
    }

    /// `GET /orders`: a client's own, or for staff anyone's.
    pub async fn orders(&self, query: &OrderListQuery) -> Result<Vec<Order>, ClientError> {
        self.0.get_query("/orders", query).await
    }

    /// `GET /orders/{id}`: with its history and check-in deadline, for its parties.
    pub async fn order(&self, id: OrderId) -> Result<OrderView, ClientError> {
        self.0.get(&format!("/orders/{id}")).await
    }

    /// `POST /orders/{id}/cancel` (its client, or staff).
    pub async fn cancel(&self, id: OrderId, req: &CancelRequest) -> Result<Order, ClientError> {
        self.0.post(&format!("/orders/{id}/cancel"), req).await
    }

    /// `POST /orders/{id}/rebook` (its client) as answered: 201 with the copy, or 200 with
    /// the copy made before.
    pub async fn rebook_reply(
        &self,
        id: OrderId,
        req: &RebookRequest,
    ) -> Result<Reply, ClientError> {
        self.0
            .request(Method::POST, &format!("/orders/{id}/rebook"))
            .json(req)
            .send()
            .await
    }

    /// `POST /orders/{id}/rebook`: the copy.
    pub async fn rebook(&self, id: OrderId, req: &RebookRequest) -> Result<Order, ClientError> {
        self.rebook_reply(id, req).await?.json()
    }

    /// `POST /orders/{id}/check-in` (its worker).
    pub async fn check_in(&self, id: OrderId, req: &CheckInRequest) -> Result<Order, ClientError> {
        self.0.post(&format!("/orders/{id}/check-in"), req).await
    }

    /// `POST /orders/{id}/complete` (its worker).
    pub async fn complete(&self, id: OrderId, req: &CompleteRequest) -> Result<Order, ClientError> {
        self.0.post(&format!("/orders/{id}/complete"), req).await
    }

    /// `GET /orders/{id}/photos/{kind}`: the photo's bytes, its media type in the reply's
    /// `Content-Type`.
    pub async fn photo(&self, id: OrderId, kind: PhotoKind) -> Result<Reply, ClientError> {
        self.0
            .request(
                Method::GET,
                &format!("/orders/{id}/photos/{}", kind.as_str()),
            )
            .send()
            .await
    }

    /// `GET /jobs` (a worker): its jobs.
    pub async fn jobs(&self, query: &JobsQuery) -> Result<Vec<Order>, ClientError> {
        self.0.get_query("/jobs", query).await
    }

    /// `GET /ops/orders` (admin): orders per status.
    pub async fn counts(&self) -> Result<BTreeMap<String, i64>, ClientError> {
        self.0.get("/ops/orders").await
    }

    /// `GET /ops/clock` (admin): business time.
    pub async fn clock(&self) -> Result<ClockView, ClientError> {
        self.0.get("/ops/clock").await
    }

    /// `POST /ops/clock` (admin): moves business time forward and sweeps no-shows.
    pub async fn advance_clock(&self, seconds: i64) -> Result<ClockView, ClientError> {
        self.0.post("/ops/clock", &Advance::by(seconds)).await
    }

    /// `POST /ops/clock` (admin): business time `offset_seconds` ahead of the system clock
    /// (forward only; the offset it has already is accepted, so a retry moves it once),
    /// no-shows swept.
    pub async fn set_clock_offset(&self, offset_seconds: i64) -> Result<ClockView, ClientError> {
        self.0
            .post("/ops/clock", &Advance::to_offset(offset_seconds))
            .await
    }
}
