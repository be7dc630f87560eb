//! Tests against a real database (SQLite; PostgreSQL too where noted: a test that cannot
//! start it fails): the matcher over the roster, order outcomes, adjustments, external steps
//! over HTTP.

mod api;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::ordering::{OrderCanceled, OrderCompleted, OrderFacts, OrderFailed, OrderRequested};
use contracts::{AccountId, Envelope, Event, Money, OrderId, ServiceTypeId, WorkerId};
use messaging::{Handler, Work};
use service::Context;
use service::testing::{TestContext, TestService};

use crate::App;
use crate::app::matcher::Matcher;
use crate::app::{adjust, profile, register};
use crate::config::{MatchingConfig, StepConfig};
use crate::domain::adjustments::Change;
use crate::domain::pipeline::Pipeline;
use crate::domain::samples::{Assignment, NormalSample};
use crate::events::{OnOrderClosed, OnOrderRequested};
use crate::store;

/// Matching's context on a throw-away database, and what keeps it alive.
struct TestDb {
    t: TestContext,
    _pg: Option<testing::Postgres>,
}

impl TestDb {
    fn ctx(&self) -> &Context {
        &self.t.ctx
    }

    fn app(&self) -> App {
        App {
            ctx: self.t.ctx.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
            matcher: matcher(&MatchingConfig::default()),
        }
    }
}

async fn sqlite() -> TestDb {
    TestDb {
        t: TestService::builder(&crate::SPEC).context().await,
        _pg: None,
    }
}

/// A throw-away PostgreSQL cluster. One that cannot start fails the test: a suite that
/// skips what it cannot start would pass without testing PostgreSQL at all.
async fn postgres() -> TestDb {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    TestDb {
        t: TestService::builder(&crate::SPEC)
            .database(pg.url("matching_test"))
            .context()
            .await,
        _pg: Some(pg),
    }
}

fn matcher(config: &MatchingConfig) -> Arc<Matcher> {
    Arc::new(Matcher::new(Arc::new(
        Pipeline::from_config(config).unwrap(),
    )))
}

fn sample(name: &str, skills: &[(&str, i64)]) -> NormalSample {
    NormalSample {
        id: WorkerId::new(),
        name: name.into(),
        available: true,
        skills: skills.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
    }
}

async fn save(db: &TestDb, s: &NormalSample) {
    let mut work = db.ctx().begin().await.unwrap();
    register::save(&mut work, s, "tester", "profile replaced", Utc::now())
        .await
        .unwrap();
    work.commit().await.unwrap();
}

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(4_000_000_000, 0).unwrap() + chrono::Duration::hours(hours)
}

/// The client of every order here.
const CLIENT: AccountId = AccountId::from_uuid(uuid::Uuid::from_u128(1));

fn requested(hours: i64, excluded: Vec<WorkerId>) -> OrderRequested {
    OrderRequested {
        order_id: OrderId::new(),
        client_id: CLIENT,
        service_type_id: ServiceTypeId::new(),
        service_type_name: "Cleaning".into(),
        skill: "cleaning".into(),
        description: "floors".into(),
        scheduled_at: at(hours),
        duration_minutes: 120,
        base_price: Money::from_minor(100),
        rebook_of: None,
        excluded_workers: excluded,
    }
}

/// Handles `order.requested` as the consumer would (inbox aside), in a unit of work left
/// open for the caller to commit or roll back.
async fn handled(db: &TestDb, m: &Arc<Matcher>, r: &OrderRequested) -> Work {
    let h = OnOrderRequested {
        matcher: m.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let mut work = db.ctx().begin().await.unwrap();
    h.handle(&mut work, &Envelope::new(r, 1, None))
        .await
        .unwrap();
    work
}

/// Delivers `order.requested` as the consumer would (inbox aside); returns the assignment.
async fn request(db: &TestDb, m: &Arc<Matcher>, r: &OrderRequested) -> Assignment {
    handled(db, m, r).await.commit().await.unwrap();
    if m.has_external_steps() {
        // What the woken background sweep does.
        m.decide_one(db.ctx(), r.order_id).await.unwrap();
    }
    assignment(db, r.order_id).await
}

async fn assignment(db: &TestDb, order_id: OrderId) -> Assignment {
    let mut conn = db.ctx().db.pool().acquire().await.unwrap();
    store::references::assignment(&mut conn, order_id)
        .await
        .unwrap()
        .unwrap()
}

fn facts(r: &OrderRequested, worker: Option<WorkerId>) -> OrderFacts {
    OrderFacts {
        order_id: r.order_id,
        client_id: r.client_id,
        worker_id: worker,
        price: worker.map(|_| Money::from_minor(100)),
        service_type_id: r.service_type_id,
        service_type_name: r.service_type_name.clone(),
        scheduled_at: r.scheduled_at,
        duration_minutes: r.duration_minutes,
        rebook_of: r.rebook_of,
    }
}

async fn deliver<E: Event>(db: &TestDb, e: &E) {
    let mut work = db.ctx().begin().await.unwrap();
    OnOrderClosed {
        clock: db.ctx().clock.clone(),
    }
    .handle(&mut work, &Envelope::new(e, 2, None))
    .await
    .unwrap();
    work.commit().await.unwrap();
}

fn completed(r: &OrderRequested, w: WorkerId) -> OrderCompleted {
    OrderCompleted {
        order: facts(r, Some(w)),
        checked_in_at: r.scheduled_at,
        completed_at: r.scheduled_at,
        report_photo: "k".into(),
    }
}

fn failed(r: &OrderRequested, w: Option<WorkerId>, reason: &str) -> OrderFailed {
    OrderFailed {
        order: facts(r, w),
        from_status: if w.is_some() { "active" } else { "requested" }.into(),
        reason: reason.into(),
        worker_at_fault: Some(reason == "no_show"),
        deadline: r.scheduled_at,
        failed_at: r.scheduled_at,
    }
}

fn canceled(r: &OrderRequested, w: Option<WorkerId>) -> OrderCanceled {
    OrderCanceled {
        order: facts(r, w),
        from_status: if w.is_some() { "active" } else { "requested" }.into(),
        canceled_at: r.scheduled_at,
        canceled_by: CLIENT,
        reason: None,
    }
}

fn worker(a: &Assignment) -> WorkerId {
    a.worker_id.expect("assigned")
}

async fn snapshot_of_db(db: &TestDb) -> BTreeMap<WorkerId, crate::domain::roster::SampleState> {
    let mut conn = db.ctx().db.pool().acquire().await.unwrap();
    crate::domain::roster::Roster::from_states(store::roster::load_all(&mut conn).await.unwrap(), 0)
        .snapshot()
}

async fn snapshot_of(
    db: &TestDb,
    m: &Matcher,
) -> BTreeMap<WorkerId, crate::domain::roster::SampleState> {
    let mut conn = db.ctx().db.pool().acquire().await.unwrap();
    m.with_roster(&mut conn, |r| r.snapshot()).await.unwrap()
}

/// The whole life of a few orders on one backend, with two replicas (two matchers over one
/// database, like two processes): no double booking, exclusions, results, releases, and
/// each replica's roster always equal to a fresh load from the database.
async fn lifecycle(db: &TestDb) {
    let (a, b) = (
        matcher(&MatchingConfig::default()),
        matcher(&MatchingConfig::default()),
    );
    let ann = sample("Ann", &[("cleaning", 90)]);
    let bob = sample("Bob", &[("cleaning", 60)]);
    save(db, &ann).await;
    // Replica b loads now, then follows the change log.
    assert_eq!(snapshot_of(db, &b).await, snapshot_of_db(db).await);
    save(db, &bob).await;

    // Ann is best; the overlapping second order must go to Bob, decided by the other replica.
    let r1 = requested(0, vec![]);
    let a1 = request(db, &a, &r1).await;
    assert_eq!(worker(&a1), ann.id);
    assert!(!a1.fallback);
    assert!(a1.summary.as_deref().unwrap().starts_with("Picked Ann"));
    assert_eq!(a1.runner_ups[0].worker_id, bob.id);
    let r2 = requested(1, vec![]);
    assert_eq!(worker(&request(db, &b, &r2).await), bob.id);
    // A third overlapping one: everyone is busy, the fallback still assigns.
    let r3 = requested(0, vec![]);
    let a3 = request(db, &a, &r3).await;
    assert!(a3.fallback);
    for m in [&a, &b] {
        assert_eq!(snapshot_of(db, m).await, snapshot_of_db(db).await);
    }

    // Canceling r3 releases Ann's or Bob's booking; a rebook excluding Ann gets Bob even
    // though Bob is busy (exclusion is hard, availability is not).
    deliver(db, &canceled(&r3, Some(worker(&a3)))).await;
    let r4 = requested(0, vec![ann.id]);
    let a4 = request(db, &b, &r4).await;
    assert_eq!(worker(&a4), bob.id);
    assert_eq!(a4.excluded_workers, vec![ann.id]);

    // Outcomes: Ann completes r1, Bob does not show for r2 (twice delivered: counted once).
    deliver(db, &completed(&r1, ann.id)).await;
    deliver(db, &failed(&r2, Some(bob.id), "no_show")).await;
    deliver(db, &failed(&r2, Some(bob.id), "no_show")).await;
    let p = profile::profile(&db.app(), bob.id).await.unwrap();
    assert_eq!((p.history.completed, p.history.failed), (0, 1));
    assert_eq!(p.recent_results[0].outcome, "no_show");
    assert_eq!(
        p.bookings.len(),
        1,
        "only r4 is still booked: {:?}",
        p.bookings
    );
    let p = profile::profile(&db.app(), ann.id).await.unwrap();
    assert_eq!((p.history.completed, p.history.failed), (1, 0));
    assert_eq!(p.strengths, ["cleaning"]);
    assert!(p.bookings.is_empty());
    assert_eq!(assignment(db, r1.order_id).await.status, "completed");
    assert_eq!(assignment(db, r2.order_id).await.status, "failed");
    assert_eq!(assignment(db, r3.order_id).await.status, "canceled");

    // A pending order canceled before any worker exists is never matched afterwards; one
    // canceled before its request even arrived is not matched either.
    let empty = sqlite().await;
    let r5 = requested(5, vec![]);
    request(&empty, &matcher(&MatchingConfig::default()), &r5).await;
    deliver(&empty, &canceled(&r5, None)).await;
    save(&empty, &sample("Cid", &[("cleaning", 10)])).await;
    let mut work = empty.ctx().begin().await.unwrap();
    assert!(
        !matcher(&MatchingConfig::default())
            .match_order(&mut work, r5.order_id, None)
            .await
            .unwrap()
    );
    work.rollback().await.unwrap();
    assert_eq!(assignment(&empty, r5.order_id).await.status, "canceled");
    let r6 = requested(6, vec![]);
    deliver(db, &canceled(&r6, None)).await;
    assert_eq!(request(db, &a, &r6).await.status, "canceled");

    // An adjustment is seen by both replicas: Ann drops to 0 and Bob gets the next order.
    let complaints = Change::new(Some("cleaning"), Some(0), None, Some("complaints")).unwrap();
    adjust::adjust(&db.app(), ann.id, complaints, "quality", None)
        .await
        .unwrap();
    for m in [&a, &b] {
        assert_eq!(snapshot_of(db, m).await, snapshot_of_db(db).await);
    }
    let r7 = requested(50, vec![]);
    assert_eq!(worker(&request(db, &a, &r7).await), bob.id);
}

#[tokio::test]
async fn lifecycle_on_sqlite() {
    lifecycle(&sqlite().await).await;
}

#[tokio::test]
async fn lifecycle_on_postgres() {
    lifecycle(&postgres().await).await;
}

/// `GET /ops/roster`'s view of a matcher that followed the change log through decisions,
/// a replaced profile, an adjustment and the closing events equals the view of a matcher
/// started afterwards (a fresh load from the tables, as a restarted process does): what the
/// chaos checker relies on when it restarts Matching and compares.
#[tokio::test]
async fn the_roster_view_of_a_followed_roster_equals_a_fresh_load() {
    let db = &sqlite().await;
    let live = matcher(&MatchingConfig::default());
    let ann = sample("Ann", &[("cleaning", 90)]);
    let bob = sample("Bob", &[("cleaning", 60), ("ironing", 30)]);
    save(db, &ann).await;
    // Loads now (one sample), then follows the log for everything below.
    let first = live.view(db.ctx()).await.unwrap();
    assert_eq!((first.samples_count, first.bookings_count), (1, 0));
    save(db, &bob).await;
    let r1 = requested(0, vec![]);
    let r2 = requested(1, vec![]);
    let r3 = requested(10, vec![]);
    let r4 = requested(20, vec![]);
    let a1 = worker(&request(db, &live, &r1).await);
    let a2 = worker(&request(db, &live, &r2).await);
    let a3 = worker(&request(db, &live, &r3).await);
    let a4 = worker(&request(db, &live, &r4).await);
    deliver(db, &completed(&r1, a1)).await;
    deliver(db, &failed(&r2, Some(a2), "no_show")).await;
    deliver(db, &canceled(&r3, Some(a3))).await;
    let renamed = NormalSample {
        name: "Bob B.".into(),
        ..bob.clone()
    };
    save(db, &renamed).await;
    let change = Change::new(Some("cleaning"), Some(40), None, Some("complaints")).unwrap();
    adjust::adjust(&db.app(), ann.id, change, "quality", None)
        .await
        .unwrap();

    let followed = live.view(db.ctx()).await.unwrap();
    let fresh = matcher(&MatchingConfig::default())
        .view(db.ctx())
        .await
        .unwrap();
    assert_eq!(followed, fresh);
    assert_ne!(followed.digest, first.digest);
    // Eleven writes logged a change each: two saves, four decisions, three closings, a
    // replaced profile, an adjustment.
    assert_eq!((first.seq, followed.seq), (1, 11));
    // What the view holds: only r4 still booked, the history of r1 and r2, the new name
    // and level.
    assert_eq!((followed.samples_count, followed.bookings_count), (2, 1));
    let of = |id: WorkerId| followed.samples.iter().find(|s| s.worker_id == id).unwrap();
    let booked = of(a4);
    assert_eq!(booked.bookings[0].order_id, r4.order_id);
    assert_eq!(booked.bookings[0].state, "assigned");
    assert_eq!(
        booked.bookings[0].start_micros,
        r4.scheduled_at.timestamp_micros()
    );
    assert_eq!(of(a1).completed, 1);
    assert_eq!(of(a2).failed, 1);
    assert_eq!(of(bob.id).name, "Bob B.");
    assert_eq!(of(ann.id).skills["cleaning"], 40);
    // The digest is the one of the samples' canonical JSON, so a reader can recompute it.
    let json = serde_json::to_vec(&followed.samples).unwrap();
    assert_eq!(
        followed.digest,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&json))
    );
}

#[tokio::test]
async fn a_replica_behind_a_pruned_log_reloads_everything() {
    let t = sqlite().await;
    let m = matcher(&MatchingConfig::default());
    save(&t, &sample("Ann", &[("cleaning", 50)])).await;
    assert_eq!(snapshot_of(&t, &m).await.len(), 1);
    save(&t, &sample("Bob", &[("cleaning", 50)])).await;
    save(&t, &sample("Cid", &[("cleaning", 50)])).await;
    let mut work = t.ctx().begin().await.unwrap();
    // Everything but the newest change is forgotten: m missed Bob.
    assert_eq!(store::changes::prune(&mut work, at(0)).await.unwrap(), 2);
    work.commit().await.unwrap();
    assert_eq!(snapshot_of(&t, &m).await, snapshot_of_db(&t).await);
    assert_eq!(snapshot_of(&t, &m).await.len(), 3);
}

/// An external scorer: answers by `mode` ("normal", "array", "slow", "garbage", "500").
async fn scorer(mode: &'static str, favourite: WorkerId) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/score",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| async move {
            let ids: Vec<String> = body["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(body["reference"]["skill"], "cleaning");
            let score = |id: &String| if *id == favourite.to_string() { 1.0 } else { 0.0 };
            match mode {
                "normal" => serde_json::json!({
                    "scores": ids.iter().map(|i| (i.clone(), serde_json::json!(score(i)))).collect::<serde_json::Map<_, _>>()
                })
                .to_string(),
                "array" => serde_json::json!(ids.iter().map(score).collect::<Vec<_>>()).to_string(),
                "slow" => {
                    // Far beyond its timeout: the test never waits for this answer.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "{}".into()
                }
                _ => "<html>surprise</html>".into(),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/score", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn external_steps_are_asked_over_http_and_fall_back_with_a_note() {
    let t = sqlite().await;
    let db = &t;
    let ann = sample("Ann", &[("cleaning", 90)]);
    let bob = sample("Bob", &[("cleaning", 10)]);
    save(db, &ann).await;
    save(db, &bob).await;
    let mut hour = 0;
    for (mode, expected, note) in [
        ("normal", bob.id, None),
        ("array", bob.id, None),
        ("slow", ann.id, Some("timed out after 200 ms")),
        ("garbage", ann.id, Some("malformed JSON")),
    ] {
        let (url, server) = scorer(mode, bob.id).await;
        let config = MatchingConfig {
            price: 100,
            steps: vec![
                StepConfig::built_in("skill_fit", 1.0),
                StepConfig::ExternalScore {
                    name: "reviews".into(),
                    weight: 2.0,
                    url,
                    // Generous for the scorers that answer: a loaded CI machine.
                    timeout_ms: if mode == "slow" { 200 } else { 10_000 },
                    fallback_score: 0.5,
                },
            ],
        };
        hour += 10;
        let a = request(db, &matcher(&config), &requested(hour, vec![])).await;
        assert_eq!(worker(&a), expected, "{mode}: {a:?}");
        let step = &a.explanation[1];
        assert_eq!(step.step, "reviews");
        match note {
            None => {
                assert_eq!(step.note, None);
                assert!(a.notes.is_empty());
            }
            Some(n) => {
                assert_eq!(step.score, 0.5);
                let got = step.note.as_deref().unwrap();
                assert!(
                    got.contains(n) && got.contains("fallback score 0.5"),
                    "{mode}: {got}"
                );
                assert_eq!(a.notes["reviews"], got);
                assert!(
                    a.summary
                        .as_deref()
                        .unwrap()
                        .contains("reviews: external step")
                );
            }
        }
        server.abort();
    }
    // Nobody listening: a connection error, same fallback.
    let config = MatchingConfig {
        price: 100,
        steps: vec![
            StepConfig::built_in("skill_fit", 1.0),
            StepConfig::ExternalFilter {
                name: "vetting".into(),
                weight: 1.0,
                url: "http://127.0.0.1:9/score".into(),
                timeout_ms: 300,
            },
        ],
    };
    let a = request(db, &matcher(&config), &requested(100, vec![])).await;
    assert_eq!(worker(&a), ann.id);
    assert!(!a.fallback);
    assert!(
        a.notes["vetting"].contains("fallback: passed"),
        "{:?}",
        a.notes
    );
}

/// Which worker `m` picks for `r`, decided and then rolled back (nothing stays).
async fn pick_and_forget(db: &TestDb, m: &Arc<Matcher>, r: &OrderRequested) -> WorkerId {
    let mut work = handled(db, m, r).await;
    let a = store::references::assignment(&mut work, r.order_id)
        .await
        .unwrap()
        .unwrap();
    work.rollback().await.unwrap();
    worker(&a)
}

/// Given Ann booked for a job in a few hours and Bob for one in ten days, when the business
/// clock has moved past Ann's job, then the matcher counts her as free and picks her; on
/// the system clock both carry one job and the tie goes to Bob, the smaller id.
#[tokio::test]
async fn the_matcher_reads_the_business_clock() {
    let t = sqlite().await;
    let config = MatchingConfig {
        price: 100,
        steps: vec![
            StepConfig::built_in("exclude_failed", 1.0),
            StepConfig::built_in("load_balance", 1.0),
        ],
    };
    let system = matcher(&config);
    let bob = sample("Bob", &[("cleaning", 50)]);
    save(&t, &bob).await;
    let ann = sample("Ann", &[("cleaning", 50)]);
    save(&t, &ann).await;
    assert!(bob.id < ann.id);
    let at = |hours| OrderRequested {
        scheduled_at: Utc::now() + chrono::Duration::hours(hours),
        ..requested(0, vec![])
    };
    let soon = OrderRequested {
        excluded_workers: vec![bob.id],
        ..at(1)
    };
    assert_eq!(worker(&request(&t, &system, &soon).await), ann.id);
    let later = OrderRequested {
        excluded_workers: vec![ann.id],
        ..at(240)
    };
    assert_eq!(worker(&request(&t, &system, &later).await), bob.id);

    let clock = service::Clock::adjustable();
    clock.advance(chrono::Duration::days(5)).unwrap();
    let moved =
        Arc::new(Matcher::new(Arc::new(Pipeline::from_config(&config).unwrap())).with_clock(clock));
    assert_eq!(pick_and_forget(&t, &moved, &at(300)).await, ann.id);
    assert_eq!(pick_and_forget(&t, &system, &at(300)).await, bob.id);
}
