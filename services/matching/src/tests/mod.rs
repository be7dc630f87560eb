//! Tests against a real database (SQLite; PostgreSQL too where noted and available): the
//! matcher over the roster, order outcomes, adjustments, external steps over HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::ordering::{OrderCanceled, OrderCompleted, OrderFacts, OrderFailed, OrderRequested};
use contracts::{AccountId, Envelope, Event, Money, OrderId, ServiceTypeId, WorkerId};
use messaging::{Handler, Outbox};
use storage::{Db, DbOptions};

use crate::domain::pipeline::{MatchingConfig, Pipeline, StepConfig};
use crate::domain::samples::NormalSample;
use crate::error::MatchingError;
use crate::events::{OnOrderClosed, OnOrderRequested};
use crate::matcher::Matcher;
use crate::profiles::{self, AdjustmentRequest};
use crate::store;

struct TestDb {
    db: Db,
    _dir: tempfile::TempDir,
    _pg: Option<testing::Postgres>,
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &storage::sqlite_url(&dir.path().join("matching.sqlite")),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    db.migrate(&[messaging::migrations(), crate::migrations()])
        .await
        .unwrap();
    TestDb {
        db,
        _dir: dir,
        _pg: None,
    }
}

/// A throw-away PostgreSQL cluster. One that cannot start fails the test: a suite that
/// skips what it cannot start would pass without testing PostgreSQL at all.
async fn postgres() -> TestDb {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    let db = Db::connect(&pg.url("matching_test"), &DbOptions::default())
        .await
        .unwrap();
    db.migrate(&[messaging::migrations(), crate::migrations()])
        .await
        .unwrap();
    TestDb {
        db,
        _dir: tempfile::tempdir().unwrap(),
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

async fn save(db: &Db, s: &NormalSample) {
    let mut tx = db.begin().await.unwrap();
    profiles::save(&mut tx, s, "tester", "profile replaced")
        .await
        .unwrap();
    tx.commit().await.unwrap();
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

/// Delivers `order.requested` as the consumer would (inbox aside); returns the assignment.
async fn request(db: &Db, m: &Arc<Matcher>, r: &OrderRequested) -> store::Assignment {
    let h = OnOrderRequested {
        matcher: m.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let mut work = Outbox::new().begin(db).await.unwrap();
    h.handle(&mut work, &Envelope::new(r, 1, None))
        .await
        .unwrap();
    work.commit().await.unwrap();
    if m.has_external_steps() {
        // What the woken background sweep does.
        m.decide_one(db, r.order_id).await.unwrap();
    }
    assignment(db, r.order_id).await
}

async fn assignment(db: &Db, order_id: OrderId) -> store::Assignment {
    let mut conn = db.pool().acquire().await.unwrap();
    store::assignment(&mut conn, order_id)
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

async fn deliver<E: Event>(db: &Db, e: &E) {
    let mut work = Outbox::new().begin(db).await.unwrap();
    OnOrderClosed
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

fn worker(a: &store::Assignment) -> WorkerId {
    a.worker_id.expect("assigned")
}

async fn snapshot_of_db(db: &Db) -> BTreeMap<WorkerId, crate::domain::roster::SampleState> {
    let mut conn = db.pool().acquire().await.unwrap();
    crate::domain::roster::Roster::from_states(store::load_roster(&mut conn).await.unwrap(), 0)
        .snapshot()
}

async fn snapshot_of(
    db: &Db,
    m: &Matcher,
) -> BTreeMap<WorkerId, crate::domain::roster::SampleState> {
    let mut conn = db.pool().acquire().await.unwrap();
    m.with_roster(&mut conn, |r| r.snapshot()).await.unwrap()
}

/// The whole life of a few orders on one backend, with two replicas (two matchers over one
/// database, like two processes): no double booking, exclusions, results, releases, and
/// each replica's roster always equal to a fresh load from the database.
async fn lifecycle(db: &Db) {
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
    let mut conn = db.pool().acquire().await.unwrap();
    let p = profiles::profile(&mut conn, bob.id).await.unwrap().unwrap();
    assert_eq!((p.history.completed, p.history.failed), (0, 1));
    assert_eq!(p.recent_results[0].outcome, "no_show");
    assert_eq!(
        p.bookings.len(),
        1,
        "only r4 is still booked: {:?}",
        p.bookings
    );
    let p = profiles::profile(&mut conn, ann.id).await.unwrap().unwrap();
    assert_eq!((p.history.completed, p.history.failed), (1, 0));
    assert_eq!(p.strengths, ["cleaning"]);
    assert!(p.bookings.is_empty());
    drop(conn);
    assert_eq!(assignment(db, r1.order_id).await.status, "completed");
    assert_eq!(assignment(db, r2.order_id).await.status, "failed");
    assert_eq!(assignment(db, r3.order_id).await.status, "canceled");

    // A pending order canceled before any worker exists is never matched afterwards; one
    // canceled before its request even arrived is not matched either.
    let empty = sqlite().await;
    let r5 = requested(5, vec![]);
    request(&empty.db, &matcher(&MatchingConfig::default()), &r5).await;
    deliver(&empty.db, &canceled(&r5, None)).await;
    save(&empty.db, &sample("Cid", &[("cleaning", 10)])).await;
    let mut tx = empty.db.begin().await.unwrap();
    assert!(
        !matcher(&MatchingConfig::default())
            .match_order(&mut tx, r5.order_id, None)
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();
    assert_eq!(assignment(&empty.db, r5.order_id).await.status, "canceled");
    let r6 = requested(6, vec![]);
    deliver(db, &canceled(&r6, None)).await;
    assert_eq!(request(db, &a, &r6).await.status, "canceled");

    // An adjustment is seen by both replicas: Ann drops to 0 and Bob gets the next order.
    let mut tx = db.begin().await.unwrap();
    profiles::adjust(
        &mut tx,
        ann.id,
        AdjustmentRequest {
            skill: Some("cleaning".into()),
            level: Some(0),
            delta: None,
            reason: Some("complaints".into()),
        },
        "quality",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for m in [&a, &b] {
        assert_eq!(snapshot_of(db, m).await, snapshot_of_db(db).await);
    }
    let r7 = requested(50, vec![]);
    assert_eq!(worker(&request(db, &a, &r7).await), bob.id);
}

#[tokio::test]
async fn lifecycle_on_sqlite() {
    lifecycle(&sqlite().await.db).await;
}

#[tokio::test]
async fn lifecycle_on_postgres() {
    lifecycle(&postgres().await.db).await;
}

#[tokio::test]
async fn a_replica_behind_a_pruned_log_reloads_everything() {
    let t = sqlite().await;
    let m = matcher(&MatchingConfig::default());
    save(&t.db, &sample("Ann", &[("cleaning", 50)])).await;
    assert_eq!(snapshot_of(&t.db, &m).await.len(), 1);
    save(&t.db, &sample("Bob", &[("cleaning", 50)])).await;
    save(&t.db, &sample("Cid", &[("cleaning", 50)])).await;
    let mut tx = t.db.begin().await.unwrap();
    // Everything but the newest change is forgotten: m missed Bob.
    assert_eq!(store::prune_changes(&mut tx, i64::MAX).await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(snapshot_of(&t.db, &m).await, snapshot_of_db(&t.db).await);
    assert_eq!(snapshot_of(&t.db, &m).await.len(), 3);
}

async fn adjust(
    db: &Db,
    id: WorkerId,
    skill: &str,
    level: Option<i64>,
    delta: Option<i64>,
    reason: &str,
    key: Option<&str>,
) -> Result<(store::Adjustment, bool), MatchingError> {
    let mut tx = db.begin().await.unwrap();
    let r = profiles::adjust(
        &mut tx,
        id,
        AdjustmentRequest {
            skill: Some(skill.into()),
            level,
            delta,
            reason: Some(reason.into()),
        },
        "manager-7",
        key,
    )
    .await;
    tx.commit().await.unwrap();
    r
}

fn field(e: MatchingError) -> String {
    match e {
        MatchingError::Invalid { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn adjustments_are_audited_validated_and_idempotent() {
    let t = sqlite().await;
    let db = &t.db;
    let w = sample("Ann", &[("cleaning", 50), ("ironing", 20)]);
    save(db, &w).await;
    let (a, new) = adjust(db, w.id, "cleaning", Some(80), None, "review 12", None)
        .await
        .unwrap();
    assert!(new);
    assert_eq!(
        (a.from, a.to, a.actor.as_str()),
        (Some(50), Some(80), "manager-7")
    );
    let (a, _) = adjust(
        db,
        w.id,
        "cleaning",
        None,
        Some(30),
        "review 13",
        Some("k1"),
    )
    .await
    .unwrap();
    assert_eq!((a.from, a.to), (Some(80), Some(100)), "clamped to 100");
    // A retry with the same key is not applied twice.
    let (again, new) = adjust(
        db,
        w.id,
        "cleaning",
        None,
        Some(30),
        "review 13",
        Some("k1"),
    )
    .await
    .unwrap();
    assert!(!new);
    assert_eq!(again.id, a.id);
    // The same key with another delta (80 - 10 is not the recorded 100) is refused.
    let e = adjust(
        db,
        w.id,
        "cleaning",
        None,
        Some(-10),
        "review 13",
        Some("k1"),
    )
    .await
    .unwrap_err();
    assert_eq!(field(e), "Idempotency-Key");
    // A new skill starts from nothing.
    let (a, _) = adjust(db, w.id, "windows", None, Some(-10), "tried", None)
        .await
        .unwrap();
    assert_eq!((a.from, a.to), (None, Some(0)));

    // Bad input names the field; an unknown worker is 404.
    let bad = [
        ("", Some(1), None, "r", "skill"),
        ("cleaning", None, None, "r", "level"),
        ("cleaning", Some(101), None, "r", "level"),
        ("cleaning", Some(5), Some(5), "r", "delta"),
        ("cleaning", None, Some(0), "r", "delta"),
        ("cleaning", Some(5), None, "  ", "reason"),
    ];
    for (skill, level, delta, reason, expected) in bad {
        let e = adjust(db, w.id, skill, level, delta, reason, None)
            .await
            .unwrap_err();
        assert_eq!(field(e), expected);
    }
    let e = adjust(db, WorkerId::new(), "cleaning", Some(5), None, "r", None)
        .await
        .unwrap_err();
    assert!(matches!(e, MatchingError::NotFound(_)));

    // Replacing the profile audits each changed level.
    let mut replaced = w.clone();
    replaced.skills = BTreeMap::from([("cleaning".to_owned(), 100), ("cooking".to_owned(), 75)]);
    save(db, &replaced).await;
    let mut conn = db.pool().acquire().await.unwrap();
    let audit = store::adjustments(&mut conn, w.id, None, 200)
        .await
        .unwrap();
    // Pages of 4 then the rest, by cursor, are the whole audit in the same order.
    let first = store::adjustments(&mut conn, w.id, None, 4).await.unwrap();
    let cursor = store::adjustment_cursor(&mut conn, w.id, first[3].id)
        .await
        .unwrap()
        .unwrap();
    let rest = store::adjustments(&mut conn, w.id, Some(&cursor), 4)
        .await
        .unwrap();
    let paged: Vec<_> = first.iter().chain(&rest).map(|a| a.id).collect();
    assert_eq!(paged, audit.iter().map(|a| a.id).collect::<Vec<_>>());
    assert!(
        store::adjustment_cursor(&mut conn, WorkerId::new(), first[0].id)
            .await
            .unwrap()
            .is_none(),
        "another worker's adjustment is no cursor"
    );
    let replaced_rows: Vec<_> = audit
        .iter()
        .filter(|a| a.reason == "profile replaced")
        .map(|a| (a.skill.as_str(), a.from, a.to))
        .collect();
    assert_eq!(
        replaced_rows
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [
            ("cooking", None, Some(75)),
            ("ironing", Some(20), None),
            ("windows", Some(0), None)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        audit.len(),
        3 + 3,
        "three adjustments, three replaced levels"
    );
    let p = profiles::profile(&mut conn, w.id).await.unwrap().unwrap();
    assert_eq!(p.sample.skills, replaced.skills);
    assert_eq!(p.strengths, ["cleaning", "cooking"]);
    drop(conn);

    // A full profile takes no new skill by adjustment (an existing one still changes).
    let full: Vec<(String, i64)> = (0..profiles::MAX_SKILLS)
        .map(|i| (format!("skill-{i}"), 50))
        .collect();
    let full: Vec<(&str, i64)> = full.iter().map(|(s, l)| (s.as_str(), *l)).collect();
    let f = sample("Full", &full);
    save(db, &f).await;
    let e = adjust(db, f.id, "one-more", Some(5), None, "r", None)
        .await
        .unwrap_err();
    assert_eq!(field(e), "skill");
    adjust(db, f.id, "skill-0", Some(5), None, "r", None)
        .await
        .unwrap();
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
                    tokio::time::sleep(Duration::from_secs(5)).await;
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
    let db = &t.db;
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
                StepConfig {
                    url: Some(url),
                    kind: Some("score".into()),
                    timeout_ms: Some(200),
                    fallback_score: Some(0.5),
                    ..StepConfig::built_in("reviews", 2.0)
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
            StepConfig {
                url: Some("http://127.0.0.1:9/score".into()),
                kind: Some("filter".into()),
                ..StepConfig::built_in("vetting", 1.0)
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
