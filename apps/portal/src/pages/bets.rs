//! A manager's bets on how orders end: open one on a running order, stake on an outcome,
//! close it (Bets settles through Billing).

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use bets::client::{BetQuery, BetView, BetsClient, NewBet};
use bets::domain::NewStake;
use contracts::{BetId, OrderId};

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::pages::client::parse_when;
use crate::pages::manager::parse_money;
use crate::web::{
    Chrome, Current, FormState, PageResult, Refusal, path_id, refusal, render_with, see_other,
    submit, wire_name,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/bets", get(bets).post(open))
        .route("/bets/{id}", get(bet))
        .route("/bets/{id}/stakes", post(stake))
        .route("/bets/{id}/close", post(close))
}

const MANAGER: &[Role] = &[Role::Manager];

struct BetRow {
    href: String,
    order: String,
    state: String,
    pool: String,
}

#[derive(Template)]
#[template(path = "bets.html")]
struct BetsPage {
    c: Chrome,
    rows: Vec<BetRow>,
    form: FormState,
}

async fn bets_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let bets = BetsClient(portal.api("bets", user)?)
        .bets(&BetQuery::default())
        .await?;
    let c = current.chrome("menu.bets");
    let rows = bets
        .iter()
        .map(|b| BetRow {
            href: format!("/bets/{}", b.bet.id),
            order: b.bet.order_id.to_string(),
            state: wire_name(&b.bet.state),
            pool: c.money(b.pool),
        })
        .collect();
    let form = form.keyed();
    render_with(status, &BetsPage { c, rows, form })
}

/// `GET /bets`: every bet, newest first, and the form to open one.
async fn bets(State(portal): State<Portal>, current: Current) -> PageResult {
    bets_page(&portal, &current, FormState::default(), StatusCode::OK).await
}

/// `POST /bets`: a bet on a running order.
async fn open(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(MANAGER)?;
    let c = current.chrome("menu.bets");
    let asked = (|| {
        let order_id = path_id::<OrderId>(form.get("order_id"))
            .map_err(|_| Refusal::of("order_id", c.t("error.choose")))?;
        let stakes_close_at = match form.get("stakes_close_at") {
            "" => None,
            at => Some(parse_when("stakes_close_at", at, &c)?),
        };
        Ok(NewBet {
            order_id,
            stakes_close_at,
        })
    })();
    let (api, key) = (BetsClient(portal.api("bets", user)?), form.key());
    match submit(asked, |new| async move { api.open(&new, key).await }).await? {
        Ok(bet) => Ok(see_other(&format!("/bets/{}", bet.bet.id))),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            bets_page(&portal, &current, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

struct StakeRow {
    outcome: String,
    amount: String,
    status: String,
    when: String,
}

#[derive(Template)]
#[template(path = "bet.html")]
struct BetPage {
    c: Chrome,
    view: BetView,
    state: String,
    /// (outcome, its pool)
    pools: Vec<(String, String)>,
    stakes: Vec<StakeRow>,
    form: FormState,
}

async fn bet_page(
    portal: &Portal,
    current: &Current,
    id: BetId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let api = BetsClient(portal.api("bets", user)?);
    let view = api.bet(id).await?;
    let stakes = api.stakes_of(id).await?;
    let c = current.chrome("menu.bets");
    let pools = view
        .pools
        .iter()
        .map(|(outcome, pool)| (wire_name(outcome), c.money(*pool)))
        .collect();
    let stakes = stakes
        .iter()
        .map(|s| StakeRow {
            outcome: wire_name(&s.outcome),
            amount: c.money(s.amount),
            status: wire_name(&s.status),
            when: c.when(s.placed_at),
        })
        .collect();
    let page = BetPage {
        state: wire_name(&view.bet.state),
        pools,
        stakes,
        form: form.keyed(),
        view,
        c,
    };
    render_with(status, &page)
}

/// `GET /bets/{id}`: its pools, stakes, and the stake and close forms.
async fn bet(State(portal): State<Portal>, current: Current, Path(id): Path<String>) -> PageResult {
    bet_page(
        &portal,
        &current,
        path_id::<BetId>(&id)?,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// After a form on bet `id`: its page, or its page again with the refusal.
async fn answered<T>(
    (portal, current): (&Portal, &Current),
    (id, form): (BetId, &Fields),
    result: Result<T, Refusal>,
) -> PageResult {
    match result {
        Ok(_) => Ok(see_other(&format!("/bets/{id}"))),
        Err(refused) => {
            let state = FormState::again(form, &refused);
            bet_page(portal, current, id, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /bets/{id}/stakes`: an outcome and an amount, once per form shown.
async fn stake(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<BetId>(&id)?;
    let lang = current.lang;
    let asked = (|| {
        let outcome = serde_json::from_value(serde_json::Value::String(form.get("outcome").into()))
            .map_err(|_| Refusal::of("outcome", lang.t("error.choose")))?;
        let amount = parse_money(form.get("amount"))
            .ok_or_else(|| Refusal::of("amount", lang.t("error.money")))?;
        Ok(NewStake { outcome, amount })
    })();
    // A form always carries its key; a request without one gets a fresh one (Bets wants it).
    let key = form
        .key()
        .map(str::to_owned)
        .unwrap_or_else(crate::session::random_token);
    let api = BetsClient(portal.api("bets", user)?);
    let result = submit(asked, |new| async move { api.stake(id, &new, &key).await }).await?;
    answered((&portal, &current), (id, &form), result).await
}

/// `POST /bets/{id}/close`: Bets learns how the order ended and settles.
async fn close(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<BetId>(&id)?;
    let result = BetsClient(portal.api("bets", user)?).close(id).await;
    answered((&portal, &current), (id, &form), refusal(result)?).await
}
