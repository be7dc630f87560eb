//! What Ordering answers without changing anything: orders as their parties may see them,
//! lists, counts, the catalog.

use std::collections::BTreeMap;

use auth::{Principal, Role};
use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use service::Refused;

use crate::App;
use crate::domain::order::{HistoryEntry, Order, Status};
use crate::domain::service_type::ServiceType;
use crate::error::OrderingError;
use crate::store::{self, Owner};

/// Managers and admins: they may see and act on every client's orders.
pub const STAFF: &[Role] = &[Role::Manager, Role::Admin];

/// An order as its parties read it: with its history and its check-in deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    /// Past this time nobody may check in, and the order fails.
    pub check_in_deadline: DateTime<Utc>,
    /// Every status it went through, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Inventory announced its supply kit issued: its worker may check in (not before).
    pub kit_issued: bool,
    /// The issued kit, once it is: its job acceptance form is Inventory's
    /// `GET /kits/{kit_id}/form` (the order's worker may print it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kit_id: Option<contracts::KitId>,
}

pub(super) async fn read_order(app: &App, id: OrderId) -> Result<Order, OrderingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::order(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("order").into())
}

/// Whether `who` may see `order`: its client, its worker, staff, and other services
/// (calling with their own token). Anyone else is told "not found", not "forbidden": its
/// existence is not theirs to learn.
pub fn visible_to(order: &Order, who: &Principal) -> Result<(), OrderingError> {
    let is_worker = order
        .worker_id
        .is_some_and(|w| AccountId::from(w) == who.id);
    if who.id == order.client_id
        || is_worker
        || who.require(STAFF).is_ok()
        || who.has(Role::Service)
    {
        Ok(())
    } else {
        Err(Refused::NotFound("order").into())
    }
}

/// Order `id` with its history, for its client, its worker and staff.
pub async fn order_view(
    app: &App,
    who: &Principal,
    id: OrderId,
) -> Result<OrderView, OrderingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let order = store::order(&mut conn, id)
        .await?
        .ok_or(Refused::NotFound("order"))?;
    visible_to(&order, who)?;
    let history = store::history(&mut conn, id).await?;
    let kit_id = store::issued_kit(&mut conn, id).await?;
    Ok(OrderView {
        check_in_deadline: order.deadline(&app.config.policy()),
        order,
        history,
        kit_issued: kit_id.is_some(),
        kit_id,
    })
}

/// Orders, latest scheduled first. Clients see their own only (asking for another
/// client's is forbidden); staff see everyone's, or one client's (`client_id`, as given).
pub async fn orders(
    app: &App,
    who: &Principal,
    client_id: Option<String>,
    status: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Order>, OrderingError> {
    let client_id = if who.require(STAFF).is_ok() {
        client_id
    } else {
        if client_id.as_ref().is_some_and(|c| *c != who.id.to_string()) {
            return Err(Refused::Forbidden("clients see only their own orders").into());
        }
        Some(who.id.to_string())
    };
    let (status, limit) = status_and_limit(status, limit)?;
    let owner = match client_id.as_deref() {
        Some(c) => Owner::Client(c),
        None => Owner::Anyone,
    };
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::orders(&mut conn, owner, status, limit).await?)
}

/// A worker's jobs (active, completed, canceled, ...), latest scheduled first.
pub async fn jobs(
    app: &App,
    worker: WorkerId,
    status: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Order>, OrderingError> {
    let (status, limit) = status_and_limit(status, limit)?;
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::orders(&mut conn, Owner::Worker(worker), status, limit).await?)
}

fn status_and_limit(
    status: Option<&str>,
    limit: Option<i64>,
) -> Result<(Option<Status>, i64), OrderingError> {
    let status = status
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                OrderingError::invalid(
                    "status",
                    "must be requested, active, in_progress, completed, canceled or failed",
                )
            })
        })
        .transpose()?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(OrderingError::invalid("limit", "must be 1 to 1000"));
    }
    Ok((status, limit))
}

/// How many orders are in each status.
pub async fn status_counts(app: &App) -> Result<BTreeMap<String, i64>, OrderingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::count_by_status(&mut conn).await?)
}

/// The catalog by name. Retired types are listed for staff who ask; clients only ever see
/// what they can order.
pub async fn service_types(
    app: &App,
    who: &Principal,
    include_retired: bool,
) -> Result<Vec<ServiceType>, OrderingError> {
    let include_retired = include_retired && who.require(STAFF).is_ok();
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::service_types(&mut conn, include_retired).await?)
}
