//! Supply's pages: the kit queue, a kit's page with its form and consumables, the Issued
//! button, stock and receipts.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use contracts::{ConsumableId, KitId};
use inventory::client::InventoryClient;
use inventory::domain::{KitState, NewConsumable, Stock};
use serde::Deserialize;

use crate::Portal;
use crate::form::Fields;
use crate::pages::client::Tab;
use crate::web::{
    Chrome, Current, FormState, PageError, PageResult, Refusal, path_id, refusal, render,
    render_with, see_other, submit,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/kits", get(kits))
        .route("/kits/{id}", get(kit))
        .route("/kits/{id}/issue", post(issue))
        .route("/kits/{id}/form.pdf", get(form_pdf))
        .route("/stock", get(stock).post(add_consumable))
        .route("/stock/{id}/receipts", post(receive))
}

/// Inventory lets managers and admins in too; the menu shows it to supply.
const SUPPLY: &[Role] = &[Role::Supply, Role::Manager, Role::Admin];

/// The queue's states, in the order work goes.
const STATES: [KitState; 5] = [
    KitState::ToAssemble,
    KitState::WaitingForCookie,
    KitState::Ready,
    KitState::Issued,
    KitState::Canceled,
];

/// The catalogue key of a kit state.
fn state_key(state: KitState) -> &'static str {
    match state {
        KitState::ToAssemble => "kit.state.to_assemble",
        KitState::WaitingForCookie => "kit.state.waiting_for_cookie",
        KitState::Ready => "kit.state.ready",
        KitState::Issued => "kit.state.issued",
        KitState::Canceled => "kit.state.canceled",
    }
}

fn state_name(state: KitState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `?state=`.
#[derive(Debug, Deserialize)]
struct StateQuery {
    state: Option<String>,
}

struct KitRow {
    href: String,
    service: String,
    when: String,
    state: String,
    state_key: &'static str,
    responsible: String,
}

#[derive(Template)]
#[template(path = "kits.html")]
struct KitsPage {
    c: Chrome,
    tabs: Vec<Tab>,
    rows: Vec<KitRow>,
}

/// `GET /kits?state=`: the queue, soonest job first.
async fn kits(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<StateQuery>,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let chosen = STATES
        .into_iter()
        .find(|s| q.state.as_deref() == Some(state_name(*s).as_str()));
    let kits = InventoryClient(portal.api("inventory", user)?)
        .kits(chosen)
        .await?;
    let c = current.chrome("kit.queue");
    let mut tabs = vec![Tab {
        href: "/kits".into(),
        label: c.t("orders.all"),
        current: chosen.is_none(),
    }];
    for state in STATES {
        tabs.push(Tab {
            href: format!("/kits?state={}", state_name(state)),
            label: c.t(state_key(state)),
            current: chosen == Some(state),
        });
    }
    let rows = kits
        .iter()
        .map(|k| KitRow {
            href: format!("/kits/{}", k.kit.id),
            service: k
                .kit
                .job
                .as_ref()
                .map(|j| j.service_type_name.clone())
                .unwrap_or_else(|| k.kit.order_id.to_string()),
            when: c.when(k.kit.scheduled_at),
            state: state_name(k.kit.state),
            state_key: state_key(k.kit.state),
            responsible: k
                .responsible
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        })
        .collect();
    render(&KitsPage { c, tabs, rows })
}

#[derive(Template)]
#[template(path = "kit.html")]
struct KitPage {
    c: Chrome,
    kit: inventory::KitView,
    state: String,
    state_key: &'static str,
    form: FormState,
}

async fn kit_page(
    portal: &Portal,
    current: &Current,
    id: KitId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let kit = InventoryClient(portal.api("inventory", user)?)
        .kit(id)
        .await?;
    render_with(
        status,
        &KitPage {
            c: current.chrome("menu.kits"),
            state: state_name(kit.kit.state),
            state_key: state_key(kit.kit.state),
            kit,
            form,
        },
    )
}

/// `GET /kits/{id}`.
async fn kit(State(portal): State<Portal>, current: Current, Path(id): Path<String>) -> PageResult {
    kit_page(
        &portal,
        &current,
        path_id::<KitId>(&id)?,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /kits/{id}/issue`: the Issued button (Inventory refuses while stock or the cookie
/// is missing; the page says why).
async fn issue(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    _form: Fields,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let id = path_id::<KitId>(&id)?;
    let issued = InventoryClient(portal.api("inventory", user)?)
        .issue(id)
        .await;
    match refusal(issued)? {
        Ok(_) => Ok(see_other(&format!("/kits/{id}"))),
        Err(refused) => {
            let state = FormState::refused(Default::default(), &refused);
            kit_page(&portal, &current, id, state, StatusCode::CONFLICT).await
        }
    }
}

/// `GET /kits/{id}/form.pdf`: the job acceptance form, fetched with the person's token.
async fn form_pdf(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let user = current.require(&[Role::Supply, Role::Manager, Role::Admin, Role::Worker])?;
    let pdf = InventoryClient(portal.api("inventory", user)?)
        .form(path_id::<KitId>(&id)?)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"job-form-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}

struct StockRow {
    id: String,
    name: String,
    unit: String,
    on_hand: i64,
    low: bool,
}

#[derive(Template)]
#[template(path = "stock.html")]
struct StockPage {
    c: Chrome,
    rows: Vec<StockRow>,
    form: FormState,
    /// The consumable a refused receipt was for.
    refused_for: String,
}

async fn stock_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    refused_for: String,
    status: StatusCode,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let stock = InventoryClient(portal.api("inventory", user)?)
        .stock()
        .await?;
    let form = form.keyed();
    let rows = stock
        .iter()
        .map(|s: &Stock| StockRow {
            id: s.consumable.id.to_string(),
            name: s.consumable.name.clone(),
            unit: s.consumable.unit.clone(),
            on_hand: s.on_hand,
            low: s.low,
        })
        .collect();
    render_with(
        status,
        &StockPage {
            c: current.chrome("menu.stock"),
            rows,
            form,
            refused_for,
        },
    )
}

/// `GET /stock`.
async fn stock(State(portal): State<Portal>, current: Current) -> PageResult {
    stock_page(
        &portal,
        &current,
        FormState::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// After a stock form: the stock, or the stock again with the refusal (next to the
/// receipt of consumable `refused_for`, or the new consumable's form when empty).
async fn stock_answered<T>(
    (portal, current): (&Portal, &Current),
    form: &Fields,
    refused_for: String,
    result: Result<T, Refusal>,
) -> PageResult {
    match result {
        Ok(_) => Ok(see_other("/stock")),
        Err(refused) => {
            let state = FormState::again(form, &refused);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            stock_page(portal, current, state, refused_for, status).await
        }
    }
}

/// `POST /stock`: a new consumable.
async fn add_consumable(
    State(portal): State<Portal>,
    current: Current,
    form: Fields,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let asked = match form.get("low_stock_threshold") {
        "" => Ok(None),
        _ => form.number("low_stock_threshold", current.lang).map(Some),
    };
    let inventory = InventoryClient(portal.api("inventory", user)?);
    let new = |low_stock_threshold| NewConsumable {
        name: form.get("name").to_owned(),
        unit: form.get("unit").to_owned(),
        low_stock_threshold,
    };
    let result = submit(asked, |low| async move {
        inventory.add_consumable(&new(low)).await
    })
    .await?;
    stock_answered((&portal, &current), &form, String::new(), result).await
}

/// `POST /stock/{id}/receipts`: a delivery booked into stock, once per form shown.
async fn receive(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(SUPPLY)?;
    let consumable: ConsumableId = id.parse().map_err(|_| PageError::NotFound)?;
    let (inventory, key) = (InventoryClient(portal.api("inventory", user)?), form.key());
    let asked = form.number("quantity", current.lang);
    let result = submit(asked, |quantity| async move {
        inventory.receive(consumable, quantity, key).await
    })
    .await?;
    let refused_for = consumable.to_string();
    stock_answered((&portal, &current), &form, refused_for, result).await
}
