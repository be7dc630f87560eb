//! A client's pages: orders by status, requesting help, an order's page with its history,
//! cancelling, and booking again after nobody came (the mailed link opens that page).

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::{OrderId, ServiceTypeId};
use ordering::client::{CancelRequest, OrderListQuery, OrderView, OrderingClient, RebookRequest};
use ordering::domain::order::{Order, OrderRequest, Status};
use ordering::domain::service_type::ServiceType;
use serde::Deserialize;

use crate::Portal;
use crate::form::Fields;
use crate::web::{
    Chrome, Current, FormState, PageResult, Refusal, path_id, refusal, render, render_with,
    see_other, submit,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/orders", get(orders))
        .route("/orders/new", get(new_order).post(request))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/rebook", get(rebook_link).post(rebook))
}

/// Who has a client's pages. Staff may read any order, but only clients order.
const CLIENT: &[Role] = &[Role::Client];

/// `?status=`.
#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    pub status: Option<String>,
}

/// An order as a list shows it.
pub struct OrderRow {
    pub href: String,
    pub service: String,
    pub when: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub price: String,
}

impl OrderRow {
    /// `order` as `c` writes it, linking to `base/{id}`.
    pub fn of(c: &Chrome, order: &Order, base: &str) -> Self {
        OrderRow {
            href: format!("{base}/{}", order.id),
            service: order.service_type_name.clone(),
            when: c.when(order.scheduled_at),
            status: order.status.as_str(),
            status_key: status_key(order.status),
            price: c.money(order.price.unwrap_or(order.approximate_price)),
        }
    }
}

/// The catalogue key of an order status.
pub fn status_key(status: Status) -> &'static str {
    match status {
        Status::Requested => "order.status.requested",
        Status::Active => "order.status.active",
        Status::InProgress => "order.status.in_progress",
        Status::Completed => "order.status.completed",
        Status::Canceled => "order.status.canceled",
        Status::Failed => "order.status.failed",
    }
}

/// A tab of a list filtered by status.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// Tabs over `statuses` (and "all") for the list at `base`.
pub fn tabs(c: &Chrome, base: &str, statuses: &[Status], chosen: Option<&str>) -> Vec<Tab> {
    let mut tabs = vec![Tab {
        href: base.to_owned(),
        label: c.t("orders.all"),
        current: chosen.is_none(),
    }];
    for status in statuses {
        tabs.push(Tab {
            href: format!("{base}?status={}", status.as_str()),
            label: c.t(status_key(*status)),
            current: chosen == Some(status.as_str()),
        });
    }
    tabs
}

/// The status asked for, if it is one (anything else lists all).
pub fn chosen_status(q: &StatusQuery) -> Option<&str> {
    q.status
        .as_deref()
        .filter(|s| Status::ALL.iter().any(|st| st.as_str() == *s))
}

#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage {
    pub c: Chrome,
    pub heading: &'static str,
    pub tabs: Vec<Tab>,
    pub rows: Vec<OrderRow>,
}

/// `GET /orders?status=`.
async fn orders(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<StatusQuery>,
) -> PageResult {
    let user = current.require(CLIENT)?;
    let chosen = chosen_status(&q);
    let orders = OrderingClient(portal.api("ordering", user)?)
        .orders(&OrderListQuery {
            status: chosen.map(str::to_owned),
            ..OrderListQuery::default()
        })
        .await?;
    let c = current.chrome("menu.orders");
    render(&OrdersPage {
        tabs: tabs(&c, "/orders", &Status::ALL, chosen),
        rows: orders
            .iter()
            .map(|o| OrderRow::of(&c, o, "/orders"))
            .collect(),
        heading: "menu.orders",
        c,
    })
}

#[derive(Template)]
#[template(path = "order_new.html")]
struct NewOrderPage {
    c: Chrome,
    form: FormState,
    types: Vec<TypeOption>,
}

struct TypeOption {
    id: String,
    label: String,
    selected: bool,
}

async fn new_order_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(CLIENT)?;
    let types = OrderingClient(portal.api("ordering", user)?)
        .service_types(false)
        .await?;
    let c = current.chrome("menu.new_order");
    // A key per form shown: pressing "Request" twice (or the browser retrying) orders once.
    let form = form.keyed();
    let chosen = form.v("service_type_id").to_owned();
    let types = types
        .iter()
        .map(|t: &ServiceType| TypeOption {
            id: t.id.to_string(),
            label: format!(
                "{} · ≈ {} · {} min",
                t.name,
                c.money(t.price),
                t.duration_minutes
            ),
            selected: t.id.to_string() == chosen,
        })
        .collect();
    render_with(status, &NewOrderPage { c, form, types })
}

/// `GET /orders/new`: the service types with their approximate cost, a date and time, a
/// description.
async fn new_order(State(portal): State<Portal>, current: Current) -> PageResult {
    new_order_page(&portal, &current, FormState::default(), StatusCode::OK).await
}

/// A `datetime-local` value (`2026-11-30T14:05`, read as UTC: the label says so), or the
/// refusal naming `field`.
pub fn parse_when(field: &str, value: &str, c: &Chrome) -> Result<DateTime<Utc>, Refusal> {
    let value = value.trim();
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map(|at| at.and_utc())
        .map_err(|_| Refusal::of(field, c.t("error.datetime")))
}

/// `POST /orders/new`: the order, then its page.
async fn request(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(CLIENT)?;
    let c = current.chrome("menu.new_order");
    let asked = (|| {
        let service_type_id = form
            .get("service_type_id")
            .parse::<ServiceTypeId>()
            .map_err(|_| Refusal::of("service_type_id", c.t("error.choose")))?;
        Ok(OrderRequest {
            service_type_id,
            description: form.get("description").to_owned(),
            scheduled_at: parse_when("scheduled_at", form.get("scheduled_at"), &c)?,
        })
    })();
    let (ordering, key) = (OrderingClient(portal.api("ordering", user)?), form.key());
    match submit(asked, |a| async move { ordering.request(&a, key).await }).await? {
        Ok(order) => Ok(see_other(&format!("/orders/{}", order.id))),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            new_order_page(&portal, &current, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// An order's page: for its client, or its worker (`/jobs/{id}`).
#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    pub c: Chrome,
    pub view: OrderView,
    pub status_key: &'static str,
    pub history: Vec<(String, &'static str, String)>,
    pub form: FormState,
    /// Its client's actions.
    pub can_cancel: bool,
    pub can_rebook: bool,
    /// Its worker's actions.
    pub can_check_in: bool,
    pub can_finish: bool,
    /// Where its forms post (`/orders/{id}` or `/jobs/{id}`).
    pub base: String,
}

impl OrderPage {
    /// The page of `view` for its client (`worker` false) or its worker.
    pub fn of(c: Chrome, view: OrderView, worker: bool, form: FormState) -> Self {
        let status = view.order.status;
        let history = view
            .history
            .iter()
            .map(|h| {
                (
                    c.when(h.at),
                    status_key(h.status),
                    h.note.clone().unwrap_or_default(),
                )
            })
            .collect();
        let base = if worker {
            format!("/jobs/{}", view.order.id)
        } else {
            format!("/orders/{}", view.order.id)
        };
        OrderPage {
            status_key: status_key(status),
            history,
            form,
            can_cancel: !worker && matches!(status, Status::Requested | Status::Active),
            can_rebook: !worker && status == Status::Failed && view.order.rebooked_as.is_none(),
            can_check_in: worker && status == Status::Active,
            can_finish: worker && status == Status::InProgress,
            base,
            c,
            view,
        }
    }
}

/// `GET /orders/{id}`.
async fn order(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let user = current.require(CLIENT)?;
    let view = OrderingClient(portal.api("ordering", user)?)
        .order(path_id::<OrderId>(&id)?)
        .await?;
    let c = current.chrome("orders.title");
    render(&OrderPage::of(c, view, false, FormState::default()))
}

/// After a client's action on order `id`: the page `to` names, or the order's page again
/// with the refusal next to its field.
async fn answered<T>(
    portal: &Portal,
    current: &Current,
    (id, form): (OrderId, &Fields),
    result: Result<T, Refusal>,
    to: impl FnOnce(T) -> OrderId,
) -> PageResult {
    let refused = match result {
        Ok(done) => return Ok(see_other(&format!("/orders/{}", to(done)))),
        Err(refused) => refused,
    };
    let user = current.require(CLIENT)?;
    let view = OrderingClient(portal.api("ordering", user)?)
        .order(id)
        .await?;
    let c = current.chrome("orders.title");
    let state = FormState::refused(form.values(), &refused);
    render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &OrderPage::of(c, view, false, state),
    )
}

/// `POST /orders/{id}/cancel`.
async fn cancel(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(CLIENT)?;
    let id = path_id::<OrderId>(&id)?;
    let reason = Some(form.get("reason").to_owned()).filter(|r| !r.is_empty());
    let result = OrderingClient(portal.api("ordering", user)?)
        .cancel(id, &CancelRequest { reason })
        .await;
    answered(&portal, &current, (id, &form), refusal(result)?, |o| o.id).await
}

/// `GET /orders/{id}/rebook`: the mailed link opens the order's page at its rebook form.
async fn rebook_link(Path(id): Path<String>) -> PageResult {
    Ok(see_other(&format!(
        "/orders/{}#rebook",
        path_id::<OrderId>(&id)?
    )))
}

/// `POST /orders/{id}/rebook`: a copy for the new date, then its page.
async fn rebook(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(CLIENT)?;
    let id = path_id::<OrderId>(&id)?;
    let c = current.chrome("orders.title");
    let asked = parse_when("scheduled_at", form.get("scheduled_at"), &c);
    let ordering = OrderingClient(portal.api("ordering", user)?);
    let result = submit(asked, |scheduled_at| async move {
        ordering.rebook(id, &RebookRequest { scheduled_at }).await
    })
    .await?;
    answered(&portal, &current, (id, &form), result, |copy| copy.id).await
}
