//! A manager's quality pages: the review queue (failed, canceled and sampled orders), an
//! order's file and timeline, and its review.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use contracts::OrderId;
use quality::client::QualityClient;
use quality::domain::ReviewForm;
use quality::{OrderView, QueueQuery};
use serde::Deserialize;

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::pages::client::Tab;
use crate::web::{
    Chrome, Current, FormState, PageResult, Refusal, path_id, render, render_with, see_other,
    submit, wire_name,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/quality", get(queue))
        .route("/quality/orders/{id}", get(order))
        .route("/quality/orders/{id}/review", post(review))
}

const MANAGER: &[Role] = &[Role::Manager, Role::Admin];

/// The verdicts a review may reach, as Quality names them.
const VERDICTS: [&str; 6] = [
    "worker_at_fault",
    "client_side",
    "supply_problem",
    "process_problem",
    "no_fault",
    "inconclusive",
];

/// `?reviewed=`.
#[derive(Debug, Deserialize)]
struct ReviewedQuery {
    reviewed: Option<bool>,
}

struct QueueRow {
    href: String,
    service: String,
    when: String,
    reason: String,
    reviewed: bool,
}

#[derive(Template)]
#[template(path = "quality_queue.html")]
struct QueuePage {
    c: Chrome,
    tabs: Vec<Tab>,
    rows: Vec<QueueRow>,
}

/// `GET /quality?reviewed=`: the queue, not reviewed yet by default.
async fn queue(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<ReviewedQuery>,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let reviewed = q.reviewed.unwrap_or(false);
    let entries = QualityClient(portal.api("quality", user)?)
        .queue(&QueueQuery {
            reviewed: Some(reviewed),
            reason: None,
            limit: None,
        })
        .await?;
    let c = current.chrome("quality.queue");
    let tabs = [(false, "quality.to_review"), (true, "quality.reviewed")]
        .into_iter()
        .map(|(done, key)| Tab {
            href: format!("/quality?reviewed={done}"),
            label: c.t(key),
            current: done == reviewed,
        })
        .collect();
    let rows = entries
        .iter()
        .map(|e| QueueRow {
            href: format!("/quality/orders/{}", e.order_id),
            service: e
                .file
                .as_ref()
                .and_then(|f| f.service_type_name.clone())
                .unwrap_or_else(|| e.order_id.to_string()),
            when: c.when(e.entered_at),
            reason: wire_name(&e.reason),
            reviewed: e.review_id.is_some(),
        })
        .collect();
    render(&QueuePage { c, tabs, rows })
}

/// (when, who, what)
type TimelineRow = (String, String, String);

#[derive(Template)]
#[template(path = "quality_order.html")]
struct OrderPage {
    c: Chrome,
    id: OrderId,
    service: String,
    status: String,
    worker: String,
    client: String,
    timeline: Vec<TimelineRow>,
    reviewed: bool,
    verdicts: Vec<(&'static str, String)>,
    form: FormState,
}

async fn order_page(
    portal: &Portal,
    current: &Current,
    id: OrderId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let OrderView {
        file,
        timeline,
        review,
        ..
    } = QualityClient(portal.api("quality", user)?)
        .order(id)
        .await?;
    let c = current.chrome("quality.review");
    let timeline = timeline
        .iter()
        .map(|e| {
            let who = e.actor.clone().unwrap_or_default();
            (c.when(e.at), who, e.summary.clone())
        })
        .collect();
    let page = OrderPage {
        id,
        service: file.service_type_name.clone().unwrap_or_default(),
        status: wire_name(&file.status),
        worker: file.worker_name.clone().unwrap_or_default(),
        client: file.client_name.clone().unwrap_or_default(),
        timeline,
        reviewed: review.is_some(),
        verdicts: VERDICTS.iter().map(|v| (*v, v.replace('_', " "))).collect(),
        form: form.keyed(),
        c,
    };
    render_with(status, &page)
}

/// `GET /quality/orders/{id}`.
async fn order(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id::<OrderId>(&id)?;
    order_page(&portal, &current, id, FormState::default(), StatusCode::OK).await
}

/// `POST /quality/orders/{id}/review`: the review, once per form shown.
async fn review(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<OrderId>(&id)?;
    let verdict = serde_json::from_value(serde_json::Value::String(form.get("verdict").into()))
        .map_err(|_| Refusal::of("verdict", current.lang.t("error.choose")));
    let asked = verdict.map(|verdict| ReviewForm {
        what_happened: form.get("what_happened").to_owned(),
        client_contacted: form.get("client_contacted") == "on",
        client_contact: form.get("client_contact").to_owned(),
        findings: form.get("findings").to_owned(),
        verdict,
        hypotheses: Vec::new(),
    });
    let (api, key) = (QualityClient(portal.api("quality", user)?), form.key());
    match submit(
        asked,
        |r| async move { api.write_review(id, &r, key).await },
    )
    .await?
    {
        Ok(_) => Ok(see_other(&format!("/quality/orders/{id}"))),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            order_page(
                &portal,
                &current,
                id,
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
