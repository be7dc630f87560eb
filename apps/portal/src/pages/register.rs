//! A manager's quality register and samples (Quality): hypotheses about why orders go wrong,
//! tagged (list by tag, add one, change its tags: what Quality's API allows to change), and
//! random samples of completed orders drawn into the review queue (draw one with an optional
//! seed, so it can be repeated and checked; every draw recorded).

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use quality::client::QualityClient;
use quality::domain::{Hypothesis, NewHypothesis, Tags};
use quality::{Draw, DrawRequest, HypothesisQuery};
use serde::Deserialize;
use uuid::Uuid;

use crate::Portal;
use crate::form::Fields;
use crate::web::{
    Chrome, Current, FormState, PageResult, Refusal, path_id, refusal, render_with, see_other,
    submit, urlencode,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/hypotheses", get(hypotheses).post(add))
        .route("/hypotheses/{id}", get(hypothesis))
        .route("/hypotheses/{id}/tags", post(retag))
        .route("/samples", get(samples).post(draw))
}

const MANAGER: &[Role] = &[Role::Manager, Role::Admin];

/// Tags as typed: separated by commas (or new lines), blanks left out.
pub fn tags_typed(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A tag as a link to the hypotheses carrying it.
pub struct TagLink {
    pub tag: String,
    pub href: String,
}

fn tag_links(tags: &[String]) -> Vec<TagLink> {
    tags.iter()
        .map(|t| TagLink {
            tag: t.clone(),
            href: format!("/hypotheses?tag={}", urlencode(t).replace('/', "%2F")),
        })
        .collect()
}

pub struct HypothesisRow {
    pub href: String,
    pub statement: String,
    pub tags: Vec<TagLink>,
    pub reviews: usize,
    pub when: String,
}

#[derive(Template)]
#[template(path = "hypotheses.html")]
pub struct HypothesesPage {
    pub c: Chrome,
    /// The tag the list is filtered by, if any.
    pub tag: Option<String>,
    pub rows: Vec<HypothesisRow>,
    pub form: FormState,
}

/// `?tag=`.
#[derive(Debug, Default, Deserialize)]
struct TagQuery {
    tag: Option<String>,
}

async fn hypotheses_page(
    portal: &Portal,
    current: &Current,
    tag: Option<String>,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let tag = tag.filter(|t| !t.trim().is_empty());
    let list = QualityClient(portal.api("quality", user)?)
        .hypotheses(&HypothesisQuery {
            tag: tag.clone(),
            limit: None,
        })
        .await?;
    let c = current.chrome("menu.hypotheses");
    let rows = list
        .iter()
        .map(|h: &Hypothesis| HypothesisRow {
            href: format!("/hypotheses/{}", h.id),
            statement: h.statement.clone(),
            tags: tag_links(&h.tags),
            reviews: h.reviews.len(),
            when: c.when(h.created_at),
        })
        .collect();
    render_with(status, &HypothesesPage { c, tag, rows, form })
}

/// `GET /hypotheses?tag=`: the register (those with a tag only, if given) and the form to
/// add one.
async fn hypotheses(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<TagQuery>,
) -> PageResult {
    hypotheses_page(
        &portal,
        &current,
        q.tag,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /hypotheses`: a new hypothesis, then its page.
async fn add(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(MANAGER)?;
    let new = NewHypothesis {
        statement: form.get("statement").to_owned(),
        tags: tags_typed(form.get("tags")),
    };
    let answer = QualityClient(portal.api("quality", user)?)
        .add_hypothesis(&new)
        .await;
    match refusal(answer)? {
        Ok(h) => Ok(see_other(&format!("/hypotheses/{}", h.id))),
        Err(refused) => {
            let state = FormState::refused(form.values(), &refused);
            hypotheses_page(
                &portal,
                &current,
                None,
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "hypothesis.html")]
pub struct HypothesisPage {
    pub c: Chrome,
    pub id: Uuid,
    pub statement: String,
    pub tags: Vec<TagLink>,
    pub when: String,
    /// The reviews that support it (ids).
    pub reviews: Vec<String>,
    pub form: FormState,
}

async fn hypothesis_page(
    portal: &Portal,
    current: &Current,
    id: Uuid,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let h = QualityClient(portal.api("quality", user)?)
        .hypothesis(id)
        .await?;
    let c = current.chrome("menu.hypotheses");
    let mut form = form;
    if !form.values.contains_key("tags") {
        form.values.insert("tags".into(), h.tags.join(", "));
    }
    let page = HypothesisPage {
        id,
        statement: h.statement.clone(),
        tags: tag_links(&h.tags),
        when: c.when(h.created_at),
        reviews: h.reviews.iter().map(Uuid::to_string).collect(),
        form,
        c,
    };
    render_with(status, &page)
}

/// `GET /hypotheses/{id}`: the statement, its tags (with the form to change them) and the
/// reviews that support it.
async fn hypothesis(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id::<Uuid>(&id)?;
    hypothesis_page(&portal, &current, id, FormState::default(), StatusCode::OK).await
}

/// `POST /hypotheses/{id}/tags`: its tags replaced by those typed.
async fn retag(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<Uuid>(&id)?;
    let tags = Tags {
        tags: tags_typed(form.get("tags")),
    };
    let answer = QualityClient(portal.api("quality", user)?)
        .tag(id, &tags)
        .await;
    match refusal(answer)? {
        Ok(_) => Ok(see_other(&format!("/hypotheses/{id}"))),
        Err(refused) => {
            let state = FormState::refused(form.values(), &refused);
            hypothesis_page(
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

pub struct DrawRow {
    pub when: String,
    pub seed: i64,
    pub size: i64,
    pub candidates: i64,
    /// The orders drawn: links to their files.
    pub orders: Vec<String>,
}

#[derive(Template)]
#[template(path = "samples.html")]
pub struct SamplesPage {
    pub c: Chrome,
    pub rows: Vec<DrawRow>,
    pub form: FormState,
}

async fn samples_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let mut draws = QualityClient(portal.api("quality", user)?).draws().await?;
    draws.sort_by_key(|d| std::cmp::Reverse(d.drawn_at));
    let c = current.chrome("menu.samples");
    let rows = draws
        .iter()
        .map(|d: &Draw| DrawRow {
            when: c.when(d.drawn_at),
            seed: d.seed,
            size: d.size,
            candidates: d.candidates,
            orders: d.orders.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let form = form.keyed();
    render_with(status, &SamplesPage { c, rows, form })
}

/// `GET /samples`: every draw, newest first, and the form to draw one.
async fn samples(State(portal): State<Portal>, current: Current) -> PageResult {
    samples_page(&portal, &current, FormState::default(), StatusCode::OK).await
}

/// `POST /samples`: a draw of `size` completed orders into the review queue, with the seed
/// typed (or one Quality picks), once per form shown.
async fn draw(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(MANAGER)?;
    let lang = current.lang;
    let asked = (|| {
        let size = form.number("size", lang)?;
        let seed = match form.get("seed") {
            "" => None,
            _ => Some(form.number("seed", lang)?),
        };
        Ok::<_, Refusal>(DrawRequest { size, seed })
    })();
    let (api, key) = (QualityClient(portal.api("quality", user)?), form.key());
    match submit(asked, |r| async move { api.draw(&r, key).await }).await? {
        Ok(_) => Ok(see_other("/samples")),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            samples_page(&portal, &current, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_typed_separated_by_commas_or_lines() {
        assert_eq!(
            tags_typed(" kits, late ,\nSupply,, "),
            ["kits", "late", "Supply"]
        );
        assert!(tags_typed(" , ").is_empty());
        assert_eq!(
            tag_links(&["a b/c".into()])[0].href,
            "/hypotheses?tag=a%20b%2Fc"
        );
    }
}
