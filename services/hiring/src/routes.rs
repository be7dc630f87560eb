//! Hiring's HTTP API: managers' routes, and the public ones candidates use.

use auth::{Access, Role, Routes};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::routing::MethodRouter;
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use contracts::hiring::{MailRequested, WorkerHired};
use contracts::iam::MailRequest;
use contracts::{AccountId, Envelope, WorkerId};
use messaging::Outbox;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use storage::AnyConnection;
use web::{Json, Path, Query};

use crate::App;
use crate::domain::{ApplicationForm, TestSpec, characteristics};
use crate::error::HiringError;
use crate::store::{self, Application, Test};

const MANAGERS: Access = Access::Roles(&[Role::Manager, Role::Admin]);

pub fn router(app: App) -> (Router, Vec<auth::RouteRule>) {
    // The public endpoints are what a flood hits: rate limits per source and overall, a cap
    // on requests in flight, small bodies. The manager API is not behind them.
    let limiter = web::limits::Limiter::new(app.config.public_limits.clone());
    let public = |handler: MethodRouter<App>| {
        let limiter = limiter.clone();
        handler
            .route_layer(middleware::from_fn(move |req: Request, next: Next| {
                limiter.clone().middleware(req, next)
            }))
            .layer(DefaultBodyLimit::max(
                app.config.public_limits.body_limit_bytes,
            ))
    };
    let (router, rules) = Routes::new()
        .add("POST", "/tests", MANAGERS, post(create_test))
        .add("GET", "/tests", MANAGERS, get(list_tests))
        .add("PUT", "/tests/{id}", MANAGERS, put(edit_test))
        .add("POST", "/tests/{id}/retire", MANAGERS, post(retire_test))
        .add("GET", "/applications", MANAGERS, get(list_applications))
        .add("GET", "/applications/{id}", MANAGERS, get(get_application))
        .add("GET", "/applications/{id}/photo", MANAGERS, get(get_photo))
        .add(
            "POST",
            "/applications/{id}/tests",
            MANAGERS,
            post(assign_tests),
        )
        .add("POST", "/applications/{id}/accept", MANAGERS, post(accept))
        .add(
            "POST",
            "/applications/{id}/decline",
            MANAGERS,
            post(decline),
        )
        // Public on purpose: candidates have no account.
        .add("POST", "/applications", Access::Public, public(post(apply)))
        .add("GET", "/take", Access::Public, public(get(take_page)))
        .add("POST", "/take", Access::Public, public(post(take)))
        .finish();
    (router.with_state(app), rules)
}

fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

fn random_token() -> String {
    let mut buf = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Asks Mail (through the outbox, in the caller's transaction) to send a notification.
async fn mail(
    conn: &mut AnyConnection,
    application: &Application,
    template: &str,
    variables: Value,
    key: String,
) -> Result<(), HiringError> {
    let request = MailRequested {
        application_id: application.id.parse().map_err(anyhow::Error::from)?,
        request: MailRequest {
            to: application.email.clone(),
            template: template.to_owned(),
            variables: variables.as_object().cloned().unwrap_or_default(),
            idempotency_key: key,
        },
    };
    Outbox::append(conn, &Envelope::new(&request, 1, None)).await?;
    Ok(())
}

async fn create_test(
    State(app): State<App>,
    Json(spec): Json<TestSpec>,
) -> Result<(StatusCode, Json<Test>), HiringError> {
    let spec = spec.validate()?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = app.rt.db.begin().await?;
    store::save_test(&mut tx, &id, &spec).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Test {
            id,
            spec,
            retired: false,
        }),
    ))
}

async fn edit_test(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(spec): Json<TestSpec>,
) -> Result<Json<Test>, HiringError> {
    let spec = spec.validate()?;
    let mut tx = app.rt.db.begin().await?;
    let existing = store::test(&mut tx, &id)
        .await?
        .ok_or(HiringError::NotFound("test"))?;
    if existing.retired {
        return Err(HiringError::Conflict(
            "test_retired",
            "a retired test cannot be edited".into(),
        ));
    }
    store::save_test(&mut tx, &id, &spec).await?;
    tx.commit().await?;
    Ok(Json(Test {
        id,
        spec,
        retired: false,
    }))
}

async fn retire_test(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<StatusCode, HiringError> {
    let mut tx = app.rt.db.begin().await?;
    if !store::retire_test(&mut tx, &id).await? {
        return Err(HiringError::NotFound("active test"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_tests(State(app): State<App>) -> Result<Json<Vec<Test>>, HiringError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::tests(&mut conn).await?))
}

/// `POST /applications` (public): validated, one open application per e-mail.
async fn apply(
    State(app): State<App>,
    Json(form): Json<ApplicationForm>,
) -> Result<(StatusCode, Json<Value>), HiringError> {
    let form = form.validate()?;
    let photo = crate::domain::photo(&form.photo)?;
    let application = Application {
        id: uuid::Uuid::now_v7().to_string(),
        name: form.name,
        age: form.age,
        breed: form.breed,
        coat_colour: form.coat_colour,
        email: form.email,
        status: "open".into(),
        decline_reason: None,
        worker_id: None,
        version: 1,
        link_expires_at: None,
    };
    let mut tx = app.rt.db.begin().await?;
    if !store::insert_application(&mut tx, &application, &photo).await? {
        return Err(HiringError::Conflict(
            "application_open",
            "an application with this e-mail is already being considered".into(),
        ));
    }
    mail(
        &mut tx,
        &application,
        "application_received",
        json!({"name": application.name}),
        format!("received-{}", application.id),
    )
    .await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": application.id, "status": "open"})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The last page one may ask for: 200 per page up to 100 million applications, far beyond
/// any real list, and small enough that the offset is nowhere near overflowing.
const MAX_PAGE: i64 = 500_000;

async fn list_applications(
    State(app): State<App>,
    Query(q): Query<Page>,
) -> Result<Json<Value>, HiringError> {
    if let Some(s) = &q.status
        && !matches!(s.as_str(), "open" | "accepted" | "declined")
    {
        return Err(HiringError::invalid(
            "status",
            "must be open, accepted or declined",
        ));
    }
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(HiringError::invalid("per_page", "must be 1 to 200"));
    }
    let page = q.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(HiringError::invalid(
            "page",
            &format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    // Bounded above, so this cannot overflow; checked all the same, never a negative OFFSET.
    let offset = (page - 1)
        .checked_mul(per_page)
        .ok_or_else(|| HiringError::invalid("page", "is too large"))?;
    let mut conn = app.rt.db.pool().acquire().await?;
    let items = store::applications(&mut conn, q.status.as_deref(), per_page, offset).await?;
    Ok(Json(
        json!({"page": page, "per_page": per_page, "items": items}),
    ))
}

async fn get_application(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HiringError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    let a = store::application(&mut conn, &id)
        .await?
        .ok_or(HiringError::NotFound("application"))?;
    let results = store::assignments(&mut conn, &id).await?;
    Ok(Json(json!({"application": a, "tests": results})))
}

/// `GET /applications/{id}/photo`: the candidate's photo, with its checked media type.
async fn get_photo(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, HiringError> {
    use axum::response::IntoResponse;
    let mut conn = app.rt.db.pool().acquire().await?;
    let (bytes, media_type) = store::photo(&mut conn, &id)
        .await?
        .ok_or(HiringError::NotFound("application"))?;
    Ok(([(axum::http::header::CONTENT_TYPE, media_type)], bytes).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestSet {
    test_ids: Vec<String>,
}

/// `POST /applications/{id}/tests`: assigns a set of tests and mails the candidate a private
/// link to take them (a new link replaces the old one).
async fn assign_tests(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(set): Json<TestSet>,
) -> Result<Json<Value>, HiringError> {
    if set.test_ids.is_empty() || set.test_ids.len() > 20 {
        return Err(HiringError::invalid("test_ids", "give 1 to 20 tests"));
    }
    let mut tx = app.rt.db.begin().await?;
    let application = store::application(&mut tx, &id)
        .await?
        .ok_or(HiringError::NotFound("application"))?;
    if application.status != "open" {
        return Err(HiringError::Conflict(
            "application_closed",
            "the application is already decided".into(),
        ));
    }
    for (i, test_id) in set.test_ids.iter().enumerate() {
        match store::test(&mut tx, test_id).await? {
            Some(t) if !t.retired => store::assign(&mut tx, &id, test_id).await?,
            _ => {
                return Err(HiringError::invalid(
                    &format!("test_ids[{i}]"),
                    "no such active test",
                ));
            }
        }
    }
    let token = random_token();
    let expires_at = storage::now_micros() + app.config.link_ttl_hours * 3_600_000_000;
    store::set_link(&mut tx, &id, &digest(&token), expires_at).await?;
    let link = format!("{}/take?token={token}", app.public_url);
    mail(
        &mut tx,
        &application,
        "tests_assigned",
        json!({"name": application.name, "link": link}),
        format!("tests-{}-{}", id, digest(&token)),
    )
    .await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    let tests = {
        let mut conn = app.rt.db.pool().acquire().await?;
        store::assignments(&mut conn, &id).await?
    };
    Ok(Json(json!({"application": id, "tests": tests})))
}

/// The application behind a live private link.
async fn by_link(conn: &mut AnyConnection, token: &str) -> Result<Application, HiringError> {
    let a = store::application_by_link(conn, &digest(token))
        .await?
        .ok_or(HiringError::Gone("this link does not work (any more)"))?;
    if a.link_expires_at.is_none_or(|t| t < storage::now_micros()) || a.status != "open" {
        return Err(HiringError::Gone("this link has expired"));
    }
    Ok(a)
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

/// `GET /take?token=` (public): the candidate's tests, without answer keys.
async fn take_page(
    State(app): State<App>,
    Query(q): Query<TokenQuery>,
) -> Result<Json<Value>, HiringError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    let a = by_link(&mut conn, &q.token).await?;
    let mut tests = Vec::new();
    for assignment in store::assignments(&mut conn, &a.id).await? {
        let t = store::test(&mut conn, &assignment.test_id)
            .await?
            .ok_or(HiringError::NotFound("test"))?;
        let mut shown = t.spec.for_candidate();
        shown["id"] = json!(t.id);
        shown["taken"] = json!(assignment.taken);
        tests.push(shown);
    }
    Ok(Json(json!({"name": a.name, "tests": tests})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answers {
    token: String,
    test_id: String,
    /// The chosen choice's index, per question.
    answers: Vec<usize>,
}

/// `POST /take` (public): answers to one test, scored at once; each test is taken once.
async fn take(State(app): State<App>, Json(a): Json<Answers>) -> Result<Json<Value>, HiringError> {
    let mut tx = app.rt.db.begin().await?;
    let application = by_link(&mut tx, &a.token).await?;
    let test = store::test(&mut tx, &a.test_id)
        .await?
        .ok_or_else(|| HiringError::invalid("test_id", "not one of your tests"))?;
    let score = test.spec.score(&a.answers)?;
    let passed = score >= test.spec.pass_mark;
    if !store::record(&mut tx, &application.id, &a.test_id, score, passed).await? {
        return Err(HiringError::Conflict(
            "already_taken",
            "this test was already taken (or is not yours)".into(),
        ));
    }
    tx.commit().await?;
    // Candidates learn that it is recorded, not the score.
    Ok(Json(json!({"test_id": a.test_id, "recorded": true})))
}

/// The id the hired candidate works under. One person has one identity across contexts: a
/// candidate who already has an account (a client, say) is hired under that account's id,
/// so the jobs Matching assigns to the worker are the jobs she sees when she signs in. Else
/// a new id, which IAM gives the account it then creates. Should the account appear after
/// Hiring last heard from IAM, IAM refuses the hire rather than split the person in two.
async fn worker_id_for(conn: &mut AnyConnection, email: &str) -> Result<WorkerId, HiringError> {
    match store::account_by_email(conn, email).await? {
        Some(id) => Ok(WorkerId::from(id.parse::<AccountId>().map_err(|e| {
            anyhow::anyhow!("IAM announced account {id:?} for {email}, which is not a UUID: {e}")
        })?)),
        None => Ok(WorkerId::new()),
    }
}

/// `POST /applications/{id}/accept`: the results become characteristics; WorkerHired.
async fn accept(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HiringError> {
    let mut tx = app.rt.db.begin().await?;
    let a = store::application(&mut tx, &id)
        .await?
        .ok_or(HiringError::NotFound("application"))?;
    let results: Vec<(String, i64)> = store::assignments(&mut tx, &id)
        .await?
        .into_iter()
        .filter_map(|t| t.score.map(|s| (t.characteristic, s)))
        .collect();
    if results.is_empty() {
        return Err(HiringError::Conflict(
            "no_results",
            "accept after the candidate has taken at least one test".into(),
        ));
    }
    let (levels, strengths, weaknesses) = characteristics(&results);
    let worker_id = worker_id_for(&mut tx, &a.email).await?;
    if !store::decide(&mut tx, &id, "accepted", None, Some(&worker_id.to_string())).await? {
        return Err(HiringError::Conflict(
            "application_closed",
            "the application is already decided".into(),
        ));
    }
    let hired = WorkerHired {
        worker_id,
        application_id: id.parse().map_err(anyhow::Error::from)?,
        name: a.name.clone(),
        age: a.age,
        breed: a.breed.clone(),
        coat_colour: a.coat_colour.clone(),
        email: a.email.clone(),
        photo_url: format!("{}/applications/{id}/photo", app.public_url),
        characteristics: levels,
        strengths,
        weaknesses,
    };
    Outbox::append(&mut tx, &Envelope::new(&hired, a.version + 1, None)).await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok(Json(
        json!({"application": id, "status": "accepted", "worker_id": worker_id,
        "characteristics": hired.characteristics, "strengths": hired.strengths, "weaknesses": hired.weaknesses}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decline {
    reason: String,
}

/// `POST /applications/{id}/decline`: closed with a reason; the candidate is told by mail.
async fn decline(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(d): Json<Decline>,
) -> Result<Json<Value>, HiringError> {
    let reason = d.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.contains(['\r', '\n']) {
        return Err(HiringError::invalid(
            "reason",
            "must be 1 to 500 characters on one line",
        ));
    }
    let mut tx = app.rt.db.begin().await?;
    let a = store::application(&mut tx, &id)
        .await?
        .ok_or(HiringError::NotFound("application"))?;
    if !store::decide(&mut tx, &id, "declined", Some(reason), None).await? {
        return Err(HiringError::Conflict(
            "application_closed",
            "the application is already decided".into(),
        ));
    }
    mail(
        &mut tx,
        &a,
        "candidate_declined",
        json!({"name": a.name, "reason": reason}),
        format!("declined-{id}"),
    )
    .await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok(Json(json!({"application": id, "status": "declined"})))
}
