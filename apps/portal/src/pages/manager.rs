//! A manager's pages: hiring (tests, applications with a status filter, a candidate with
//! photo and results, assigning tests, accepting or declining with a reason), the service
//! catalog, workers' profiles with their adjustments, and why a worker was matched.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use contracts::{ApplicationId, Money, OrderId, ServiceTypeId, TestId, WorkerId};
use hiring::client::HiringClient;
use hiring::domain::application::Status as ApplicationStatus;
use hiring::domain::{Question, Test, TestSpec};
use hiring::{ApplicationDetail, PageQuery};
use matching::client::{
    Adjustment, AdjustmentRequest, AdjustmentsPage, Assignment, MatchingClient, Profile,
};
use ordering::client::OrderingClient;
use ordering::domain::service_type::{NewServiceType, ServiceType};
use serde::Deserialize;

use crate::Portal;
use crate::form::Fields;
use crate::i18n::Speak;
use crate::pages::client::Tab;
use crate::web::{
    Chrome, Current, FormState, PageError, PageResult, Refusal, path_id, refusal, render,
    render_with, see_other, submit,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/hiring", get(hiring).post(create_test))
        .route("/hiring/applications/{id}", get(application))
        .route("/hiring/applications/{id}/photo", get(photo))
        .route("/hiring/applications/{id}/tests", post(assign))
        .route("/hiring/applications/{id}/accept", post(accept))
        .route("/hiring/applications/{id}/decline", post(decline))
        .route("/catalog", get(catalog).post(add_service_type))
        .route("/catalog/{id}/retire", post(retire_service_type))
        .route("/workers", get(workers))
        .route("/workers/{id}", get(worker).post(adjust))
        .route("/matches/{order_id}", get(explain))
}

const MANAGER: &[Role] = &[Role::Manager, Role::Admin];

fn application_status_name(status: ApplicationStatus) -> &'static str {
    match status {
        ApplicationStatus::Open => "open",
        ApplicationStatus::Accepted => "accepted",
        ApplicationStatus::Declined => "declined",
    }
}

fn application_status_key(status: ApplicationStatus) -> &'static str {
    match status {
        ApplicationStatus::Open => "status.open",
        ApplicationStatus::Accepted => "status.accepted",
        ApplicationStatus::Declined => "status.declined",
    }
}

/// `?status=` of the applications.
#[derive(Debug, Deserialize)]
struct HiringQuery {
    status: Option<String>,
    page: Option<i64>,
}

struct ApplicationRow {
    href: String,
    name: String,
    email: String,
    status: &'static str,
    status_key: &'static str,
}

#[derive(Template)]
#[template(path = "hiring.html")]
struct HiringPage {
    c: Chrome,
    tabs: Vec<Tab>,
    applications: Vec<ApplicationRow>,
    tests: Vec<Test>,
    form: FormState,
    page: i64,
    next: Option<String>,
}

async fn hiring_page(
    portal: &Portal,
    current: &Current,
    q: HiringQuery,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let api = HiringClient(portal.api("hiring", user)?);
    let chosen = [
        ApplicationStatus::Open,
        ApplicationStatus::Accepted,
        ApplicationStatus::Declined,
    ]
    .into_iter()
    .find(|s| q.status.as_deref() == Some(application_status_name(*s)));
    let page = q.page.unwrap_or(1).clamp(1, 500_000);
    let applications = api
        .applications(&PageQuery {
            status: chosen,
            page: Some(page),
            per_page: Some(50),
        })
        .await?;
    let tests = api.tests().await?;
    let c = current.chrome("menu.hiring");
    let mut tabs = vec![Tab {
        href: "/hiring".into(),
        label: c.t("orders.all"),
        current: chosen.is_none(),
    }];
    for s in [
        ApplicationStatus::Open,
        ApplicationStatus::Accepted,
        ApplicationStatus::Declined,
    ] {
        let name = application_status_name(s);
        tabs.push(Tab {
            href: format!("/hiring?status={name}"),
            label: c.t(application_status_key(s)),
            current: chosen == Some(s),
        });
    }
    let next = (applications.items.len() as i64 == applications.per_page).then(|| {
        let status = chosen
            .map(|s| format!("status={}&", application_status_name(s)))
            .unwrap_or_default();
        format!("/hiring?{status}page={}", page + 1)
    });
    let applications = applications
        .items
        .iter()
        .map(|a| ApplicationRow {
            href: format!("/hiring/applications/{}", a.id),
            name: a.name.clone(),
            email: a.email.clone(),
            status: application_status_name(a.status),
            status_key: application_status_key(a.status),
        })
        .collect();
    let form = form.keyed();
    render_with(
        status,
        &HiringPage {
            c,
            tabs,
            applications,
            tests,
            form,
            page,
            next,
        },
    )
}

/// `GET /hiring?status=&page=`.
async fn hiring(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<HiringQuery>,
) -> PageResult {
    hiring_page(&portal, &current, q, FormState::default(), StatusCode::OK).await
}

/// The questions of the test form: one per line, `question | choice | *right | choice`.
fn parse_questions(text: &str) -> Result<Vec<Question>, String> {
    let mut questions = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let mut parts = line.split('|').map(str::trim);
        let question = parts.next().unwrap_or_default().to_owned();
        let mut choices = Vec::new();
        let mut answer = None;
        for choice in parts {
            match choice.strip_prefix('*') {
                Some(right) => {
                    if answer.replace(choices.len()).is_some() {
                        return Err(format!("line {}: mark one right choice with *", n + 1));
                    }
                    choices.push(right.trim().to_owned());
                }
                None => choices.push(choice.to_owned()),
            }
        }
        let Some(answer) = answer else {
            return Err(format!("line {}: mark the right choice with *", n + 1));
        };
        questions.push(Question {
            text: question,
            choices,
            answer,
        });
    }
    Ok(questions)
}

/// `POST /hiring`: a new test (Hiring checks the rest).
async fn create_test(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let user = current.require(MANAGER)?;
    let asked = (|| {
        let pass_mark = form.number("pass_mark", current.lang)?;
        let text = form.text.get("questions").and_then(|v| v.first());
        let questions = parse_questions(text.map_or("", String::as_str))
            .map_err(|message| Refusal::of("questions", &message))?;
        Ok(TestSpec {
            name: form.get("name").to_owned(),
            characteristic: form.get("characteristic").to_owned(),
            pass_mark,
            questions,
        })
    })();
    let (hiring, key) = (HiringClient(portal.api("hiring", user)?), form.key());
    let result = submit(
        asked,
        |spec| async move { hiring.create_test(&spec, key).await },
    )
    .await?;
    let Err(mut refused) = result else {
        return Ok(see_other("/hiring"));
    };
    // Hiring names question fields by index (`questions[0].choices`): the form has one field
    // for them all.
    if let Some(field) = refused.field.take_if(|f| f.starts_with("questions")) {
        refused.message = format!("{field}: {}", refused.message);
        refused.field = Some("questions".into());
    }
    let q = HiringQuery {
        status: None,
        page: None,
    };
    let state = FormState::again(&form, &refused);
    hiring_page(
        &portal,
        &current,
        q,
        state,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Template)]
#[template(path = "application.html")]
struct ApplicationPage {
    c: Chrome,
    detail: ApplicationDetail,
    status: &'static str,
    status_key: &'static str,
    /// Tests not retired and not assigned yet.
    assignable: Vec<Test>,
    form: FormState,
}

async fn application_page(
    portal: &Portal,
    current: &Current,
    id: ApplicationId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let api = HiringClient(portal.api("hiring", user)?);
    let detail = api.application(id).await?;
    let assignable = api
        .tests()
        .await?
        .into_iter()
        .filter(|t| !t.retired && !detail.tests.iter().any(|a| a.test_id == t.id))
        .collect();
    render_with(
        status,
        &ApplicationPage {
            c: current.chrome("hiring.applications"),
            status: application_status_name(detail.application.status),
            status_key: application_status_key(detail.application.status),
            detail,
            assignable,
            form,
        },
    )
}

/// `GET /hiring/applications/{id}`.
async fn application(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    application_page(
        &portal,
        &current,
        path_id::<ApplicationId>(&id)?,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// `GET /hiring/applications/{id}/photo`: the candidate's photo, fetched with the manager's
/// token.
async fn photo(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let photo = HiringClient(portal.api("hiring", user)?)
        .photo(path_id::<ApplicationId>(&id)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, photo.media_type)], photo.bytes).into_response())
}

/// After a decision on an application: its page, or the page again with the refusal.
async fn decided<T>(
    portal: &Portal,
    current: &Current,
    id: ApplicationId,
    form: &Fields,
    result: Result<T, client::ClientError>,
) -> PageResult {
    match refusal(result)? {
        Ok(_) => Ok(see_other(&format!("/hiring/applications/{id}"))),
        Err(refused) => {
            let state = FormState::refused(form.values(), &refused);
            application_page(portal, current, id, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /hiring/applications/{id}/tests`: the checked tests (Hiring mails the link).
async fn assign(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<ApplicationId>(&id)?;
    let tests: Vec<TestId> = form
        .all("test_ids")
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let result = HiringClient(portal.api("hiring", user)?)
        .assign_tests(id, &tests)
        .await;
    decided(&portal, &current, id, &form, result).await
}

/// `POST /hiring/applications/{id}/accept`.
async fn accept(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<ApplicationId>(&id)?;
    let result = HiringClient(portal.api("hiring", user)?).accept(id).await;
    decided(&portal, &current, id, &form, result).await
}

/// `POST /hiring/applications/{id}/decline` with a reason.
async fn decline(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<ApplicationId>(&id)?;
    let result = HiringClient(portal.api("hiring", user)?)
        .decline(id, form.get("reason"))
        .await;
    decided(&portal, &current, id, &form, result).await
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    c: Chrome,
    types: Vec<ServiceType>,
    form: FormState,
}

async fn catalog_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let types = OrderingClient(portal.api("ordering", user)?)
        .service_types(true)
        .await?;
    let form = form.keyed();
    render_with(
        status,
        &CatalogPage {
            c: current.chrome("menu.catalog"),
            types,
            form,
        },
    )
}

/// `GET /catalog`: every service type, retired ones too.
async fn catalog(State(portal): State<Portal>, current: Current) -> PageResult {
    catalog_page(&portal, &current, FormState::default(), StatusCode::OK).await
}

/// An amount typed as units with up to two decimals (`120`, `120.5`, `120,50`) in minor
/// units, or `None` if it is not one.
pub fn parse_money(text: &str) -> Option<Money> {
    let text = text.trim().replace(',', ".");
    let (units, cents) = match text.split_once('.') {
        Some((u, c)) if !c.is_empty() && c.len() <= 2 && c.bytes().all(|b| b.is_ascii_digit()) => {
            let cents: i64 = c.parse().ok()?;
            (u, if c.len() == 1 { cents * 10 } else { cents })
        }
        Some(_) => return None,
        None => (text.as_str(), 0),
    };
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    units
        .checked_mul(100)?
        .checked_add(cents)
        .map(Money::from_minor)
}

/// `POST /catalog`: a new service type.
async fn add_service_type(
    State(portal): State<Portal>,
    current: Current,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let asked = (|| {
        let price = parse_money(form.get("price"))
            .ok_or_else(|| Refusal::of("price", current.lang.t("error.money")))?;
        Ok(NewServiceType {
            name: form.get("name").to_owned(),
            description: form.get("description").to_owned(),
            skill: Some(form.get("skill").to_owned()).filter(|s| !s.is_empty()),
            price,
            duration_minutes: form.number("duration_minutes", current.lang)?,
        })
    })();
    let (ordering, key) = (OrderingClient(portal.api("ordering", user)?), form.key());
    let result = submit(asked, |new| async move {
        ordering.add_service_type(&new, key).await
    })
    .await?;
    match result {
        Ok(_) => Ok(see_other("/catalog")),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            catalog_page(&portal, &current, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `POST /catalog/{id}/retire`.
async fn retire_service_type(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    _form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id: ServiceTypeId = id.parse().map_err(|_| PageError::NotFound)?;
    OrderingClient(portal.api("ordering", user)?)
        .retire_service_type(id)
        .await?;
    Ok(see_other("/catalog"))
}

#[derive(Template)]
#[template(path = "workers.html")]
struct WorkersPage {
    c: Chrome,
    workers: Vec<matching::client::NormalSample>,
}

/// `GET /workers`: every worker Matching knows, by name.
async fn workers(State(portal): State<Portal>, current: Current) -> PageResult {
    let user = current.require(MANAGER)?;
    let workers = MatchingClient(portal.api("matching", user)?).list().await?;
    render(&WorkersPage {
        c: current.chrome("matching.workers"),
        workers,
    })
}

#[derive(Template)]
#[template(path = "worker.html")]
struct WorkerPage {
    c: Chrome,
    profile: Profile,
    adjustments: Vec<Adjustment>,
    form: FormState,
}

async fn worker_page(
    portal: &Portal,
    current: &Current,
    id: WorkerId,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let api = MatchingClient(portal.api("matching", user)?);
    let profile = api.profile(id).await?;
    let adjustments = api.adjustments(id, &AdjustmentsPage::default()).await?;
    let form = form.keyed();
    render_with(
        status,
        &WorkerPage {
            c: current.chrome("matching.workers"),
            profile,
            adjustments,
            form,
        },
    )
}

/// `GET /workers/{id}`: the profile, its recent results and the audit of adjustments.
async fn worker(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    worker_page(
        &portal,
        &current,
        path_id::<WorkerId>(&id)?,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /workers/{id}`: one level set, with the reason kept in the audit.
async fn adjust(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let id = path_id::<WorkerId>(&id)?;
    let asked = form
        .number("level", current.lang)
        .map(|level| AdjustmentRequest {
            skill: Some(form.get("skill").to_owned()),
            level: Some(level),
            delta: None,
            reason: Some(form.get("reason").to_owned()),
        });
    let (matching, key) = (MatchingClient(portal.api("matching", user)?), form.key());
    let result = submit(asked, |a| async move { matching.adjust(id, &a, key).await }).await?;
    match result {
        Ok(_) => Ok(see_other(&format!("/workers/{id}"))),
        Err(refused) => {
            let state = FormState::again(&form, &refused);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            worker_page(&portal, &current, id, state, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "match.html")]
struct MatchPage {
    c: Chrome,
    assignment: Assignment,
}

/// `GET /matches/{order_id}`: the order's match and why.
async fn explain(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
) -> PageResult {
    let user = current.require(MANAGER)?;
    let assignment = MatchingClient(portal.api("matching", user)?)
        .assignment(path_id::<OrderId>(&id)?)
        .await?;
    render(&MatchPage {
        c: current.chrome("matching.explain"),
        assignment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_typed_as_units_with_up_to_two_decimals() {
        assert_eq!(parse_money("120"), Some(Money::from_minor(12_000)));
        assert_eq!(parse_money(" 120.5 "), Some(Money::from_minor(12_050)));
        assert_eq!(parse_money("120,05"), Some(Money::from_minor(12_005)));
        for bad in [
            "",
            "-1",
            "1.234",
            "1.",
            ".5",
            "abc",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_money(bad), None, "{bad}");
        }
    }

    #[test]
    fn questions_are_one_per_line_with_the_right_choice_starred() {
        let questions =
            parse_questions("Which sponge? | Steel | *Soft\n\n Dishes first? | *Yes | No ")
                .unwrap();
        assert_eq!(questions.len(), 2);
        assert_eq!(questions[0].choices, ["Steel", "Soft"]);
        assert_eq!(questions[0].answer, 1);
        assert_eq!(questions[1].answer, 0);
        assert!(
            parse_questions("No right one | a | b")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            parse_questions("Two | *a | *b")
                .unwrap_err()
                .contains("one right")
        );
    }
}
