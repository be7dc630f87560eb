//! Messaging on both buses: duplicates, out-of-order deliveries, retries, dead letters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use contracts::Envelope;
use messaging::bus::{EmbeddedBus, NatsBus};
use messaging::consumer::Disposition;
use messaging::{
    Bus, Consumer, Faults, Handler, HandlerError, MessagingConfig, Outbox, Relay, Work,
};
use serde::{Deserialize, Serialize};
use storage::{Db, DbOptions, Row};
use tokio::sync::watch;

/// A test event: one counter aggregate, versions 1, 2, 3, ...
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct Ticked {
    counter: String,
    value: i64,
}

impl contracts::Event for Ticked {
    const TYPE: &'static str = "test.counter.ticked";
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "test";
    fn aggregate_id(&self) -> String {
        self.counter.clone()
    }
}

/// Keeps the highest version seen per counter (ignoring older ones, as consumers must) and
/// counts applications. Fails while `failing` is set.
struct Recorder {
    failing: AtomicBool,
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::Failed(anyhow::anyhow!("downstream is down")));
        }
        let tick: Ticked = event.decode()?;
        storage::query("INSERT INTO applied (event_id, counter, version) VALUES ($1, $2, $3)")
            .bind(event.id.to_string())
            .bind(&tick.counter)
            .bind(event.aggregate_version)
            .execute(&mut **work)
            .await
            .map_err(storage::DbError::from)?;
        storage::query(
            "INSERT INTO latest (counter, version) VALUES ($1, $2) ON CONFLICT (counter) \
             DO UPDATE SET version = excluded.version WHERE latest.version < excluded.version",
        )
        .bind(&tick.counter)
        .bind(event.aggregate_version)
        .execute(&mut **work)
        .await
        .map_err(storage::DbError::from)?;
        Ok(())
    }
}

/// A handler with a bug: panics on every event.
struct Panicker;

#[async_trait]
impl Handler for Panicker {
    async fn handle(&self, _: &mut Work, _: &Envelope) -> Result<(), HandlerError> {
        panic!("handler bug")
    }
}

struct Setup {
    db: Db,
    bus: Bus,
    _dir: tempfile::TempDir,
    _pg: Option<testing::Postgres>,
    _nats: Option<testing::Nats>,
}

async fn setup(nats: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg, nats_server) = if nats {
        let pg = testing::Postgres::start().unwrap();
        (
            pg.url("messaging_test"),
            Some(pg),
            Some(testing::Nats::start().unwrap()),
        )
    } else {
        (
            storage::sqlite_url(&dir.path().join("svc.sqlite")),
            None,
            None,
        )
    };
    let db = Db::connect(&db_url, &DbOptions::default()).await.unwrap();
    db.migrate(&[messaging::migrations()]).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    for sql in [
        "CREATE TABLE applied (event_id TEXT PRIMARY KEY, counter TEXT NOT NULL, version BIGINT NOT NULL)",
        "CREATE TABLE latest (counter TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    ] {
        storage::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let bus = match &nats_server {
        Some(n) => Bus::Nats(Arc::new(
            NatsBus::connect(&n.url(), &config()).await.unwrap(),
        )),
        None => Bus::Embedded(
            EmbeddedBus::open(&dir.path().join("bus.sqlite"))
                .await
                .unwrap(),
        ),
    };
    Setup {
        db,
        bus,
        _dir: dir,
        _pg: pg,
        _nats: nats_server,
    }
}

fn config() -> MessagingConfig {
    MessagingConfig {
        max_deliver: 3,
        backoff_initial_ms: 20,
        backoff_max_ms: 100,
        poll_interval_ms: 50,
        nats_ack_wait_s: 2,
        ..Default::default()
    }
}

fn tick(value: i64) -> Ticked {
    Ticked {
        counter: "c1".into(),
        value,
    }
}

fn consumer(s: &Setup, handler: Arc<Recorder>) -> Consumer {
    Consumer::new(
        "test.recorder",
        s.db.clone(),
        handler,
        Outbox::new(),
        config(),
        Faults::default(),
    )
}

/// Runs `consumer` on the bus: its stop, and its task (which ends once it has stopped).
fn run(s: &Setup, consumer: Consumer) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stop_rx) = watch::channel(false);
    let bus = s.bus.clone();
    let sub = messaging::bus::Subscription {
        consumer: consumer.name().to_owned(),
        source: "test".into(),
        event_types: vec!["test.counter.ticked".into()],
    };
    let running = tokio::spawn(async move {
        bus.run_consumer(sub, consumer, config(), stop_rx).await;
    });
    (stop, running)
}

async fn scalar(db: &Db, sql: &'static str) -> i64 {
    storage::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn wait_for(db: &Db, sql: &'static str, expected: i64) {
    let start = Instant::now();
    loop {
        let n = scalar(db, sql).await;
        if n == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{sql}: {n}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn duplicates_and_out_of_order(nats: bool) {
    let s = setup(nats).await;
    let recorder = Arc::new(Recorder {
        failing: AtomicBool::new(false),
    });
    let c = consumer(&s, recorder);
    let e1 = Envelope::new(&tick(1), 1, None);
    let e2 = Envelope::new(&tick(2), 2, Some(&e1));
    let e3 = Envelope::new(&tick(3), 3, Some(&e2));

    // Through the outbox: the relay publishes, "crashes" before marking sent (rows reset),
    // and publishes the same rows again on its next round.
    let mut work = Outbox::new().begin(&s.db).await.unwrap();
    work.publish(&e1).await.unwrap();
    work.commit().await.unwrap();
    let relay = Relay::new(
        s.db.clone(),
        s.bus.clone(),
        Outbox::new(),
        config(),
        Faults::default(),
    );
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    storage::query("UPDATE outbox SET published_at = NULL")
        .execute(s.db.pool())
        .await
        .unwrap();
    assert_eq!(relay.relay_once().await.unwrap(), 1);
    assert_eq!(relay.relay_once().await.unwrap(), 0, "outbox drained");
    // Out of order and duplicated on the bus itself.
    s.bus.publish_all(&[&e3, &e1, &e2, &e3]).await.unwrap();

    let (stop, running) = run(&s, c.clone());
    wait_for(&s.db, "SELECT COUNT(*) FROM applied", 3).await;
    // A redelivery straight to the consumer is a no-op too.
    let body = serde_json::to_vec(&e2).unwrap();
    assert_eq!(c.process(&body, 1).await, Disposition::Done);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the consumer did not stop")
        .unwrap();

    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM applied").await, 3);
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM inbox").await, 3);
    assert_eq!(
        scalar(&s.db, "SELECT MAX(version) FROM latest").await,
        3,
        "newest wins"
    );
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM dead_letters").await, 0);

    // With no retention, pruning forgets published rows and applied ids, never pending ones.
    let mut work = Outbox::new().begin(&s.db).await.unwrap();
    work.publish(&Envelope::new(&tick(4), 4, Some(&e3)))
        .await
        .unwrap();
    work.commit().await.unwrap();
    let keep_nothing = MessagingConfig {
        retention_hours: 0,
        ..config()
    };
    Relay::new(
        s.db.clone(),
        s.bus.clone(),
        Outbox::new(),
        keep_nothing,
        Faults::default(),
    )
    .prune()
    .await
    .unwrap();
    assert_eq!(
        scalar(&s.db, "SELECT COUNT(*) FROM outbox").await,
        1,
        "the pending row stays"
    );
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM inbox").await, 0);
    if let Bus::Embedded(bus) = &s.bus {
        assert_eq!(
            bus.len().await.unwrap(),
            0,
            "every consumer passed every event"
        );
    }
}

async fn retried_then_dead_lettered_then_replayed(nats: bool) {
    let s = setup(nats).await;
    let recorder = Arc::new(Recorder {
        failing: AtomicBool::new(true),
    });
    let c = consumer(&s, recorder.clone());
    let e1 = Envelope::new(&tick(1), 1, None);
    s.bus.publish_all(&[&e1]).await.unwrap();
    let (stop, _running) = run(&s, c.clone());
    wait_for(&s.db, "SELECT COUNT(*) FROM dead_letters", 1).await;
    let row = storage::query("SELECT id, attempts FROM dead_letters")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    let id: String = row.get("id");
    assert_eq!(row.get::<i64, _>("attempts"), config().max_deliver);
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM applied").await, 0);

    // The operator fixes the cause and replays: applied once, and only once.
    recorder.failing.store(false, Ordering::SeqCst);
    messaging::dead_letter::replay(&s.db, std::slice::from_ref(&c), &id)
        .await
        .unwrap();
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM applied").await, 1);
    let again = messaging::dead_letter::replay(&s.db, std::slice::from_ref(&c), &id).await;
    assert!(matches!(
        again,
        Err(messaging::dead_letter::ReplayError::AlreadyReplayed(_))
    ));
    let listed = messaging::dead_letter::list(&s.db, true).await.unwrap();
    assert!(listed.is_empty(), "replayed letters are no longer pending");

    // Later events flow normally; a poison message is parked at once.
    s.bus
        .publish_all(&[&Envelope::new(&tick(2), 2, Some(&e1))])
        .await
        .unwrap();
    wait_for(&s.db, "SELECT COUNT(*) FROM applied", 2).await;
    assert_eq!(c.process(b"not json", 1).await, Disposition::Done);
    assert_eq!(
        scalar(
            &s.db,
            "SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL"
        )
        .await,
        1
    );
    let _ = stop.send(true);
}

/// A panicking handler fails the delivery (retried, then dead-lettered with the panic's
/// message) instead of unwinding through the consumer task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_retried_then_dead_lettered() {
    let s = setup(false).await;
    let c = Consumer::new(
        "test.panicker",
        s.db.clone(),
        Arc::new(Panicker),
        Outbox::new(),
        config(),
        Faults::default(),
    );
    let body = serde_json::to_vec(&Envelope::new(&tick(1), 1, None)).unwrap();
    assert!(matches!(c.process(&body, 1).await, Disposition::Retry(_)));
    assert_eq!(
        c.process(&body, config().max_deliver).await,
        Disposition::Done
    );
    let error: String = storage::query_scalar("SELECT error FROM dead_letters")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert!(error.contains("panicked: handler bug"), "{error}");
    assert_eq!(
        scalar(&s.db, "SELECT COUNT(*) FROM inbox").await,
        0,
        "nothing was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_duplicates_and_out_of_order_deliveries_apply_once() {
    duplicates_and_out_of_order(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_duplicates_and_out_of_order_deliveries_apply_once() {
    duplicates_and_out_of_order(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_failures_are_retried_dead_lettered_and_replayable() {
    retried_then_dead_lettered_then_replayed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_failures_are_retried_dead_lettered_and_replayable() {
    retried_then_dead_lettered_then_replayed(true).await;
}

/// A bare service database (messaging tables plus an `effects` table), on PostgreSQL or
/// SQLite; the guards keep it alive.
async fn database(postgres: bool) -> (Db, tempfile::TempDir, Option<testing::Postgres>) {
    let dir = tempfile::tempdir().unwrap();
    let pg = postgres.then(|| testing::Postgres::start().unwrap());
    let url = match &pg {
        Some(pg) => pg.url("messaging_work"),
        None => storage::sqlite_url(&dir.path().join("svc.sqlite")),
    };
    let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
    db.migrate(&[messaging::migrations()]).await.unwrap();
    storage::query("CREATE TABLE effects (id TEXT PRIMARY KEY)")
        .execute(db.pool())
        .await
        .unwrap();
    (db, dir, pg)
}

/// A unit of work publishes exactly when it commits, and its commit wakes the relay: with a
/// poll interval of an hour, the event still reaches the bus at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_work_publishes_and_wakes_the_relay_a_dropped_one_publishes_nothing() {
    let s = setup(false).await;
    let outbox = Outbox::new();
    let hourly = MessagingConfig {
        poll_interval_ms: 3_600_000,
        ..config()
    };
    let relay = Relay::new(
        s.db.clone(),
        s.bus.clone(),
        outbox.clone(),
        hourly,
        Faults::default(),
    );
    let (stop, stop_rx) = watch::channel(false);
    let relaying = tokio::spawn(relay.run(stop_rx));
    // Let the relay go idle (its first round finds nothing) before anything commits.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut work = outbox.begin(&s.db).await.unwrap();
    assert!(!work.has_published());
    work.publish(&Envelope::new(&tick(1), 1, None))
        .await
        .unwrap();
    assert!(work.has_published());
    drop(work);
    let mut work = outbox.begin(&s.db).await.unwrap();
    work.publish(&Envelope::new(&tick(2), 2, None))
        .await
        .unwrap();
    work.rollback().await.unwrap();
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM outbox").await, 0);

    let mut work = outbox.begin(&s.db).await.unwrap();
    storage::query("INSERT INTO latest (counter, version) VALUES ('c1', 3)")
        .execute(&mut *work)
        .await
        .unwrap();
    work.publish(&Envelope::new(&tick(3), 3, None))
        .await
        .unwrap();
    work.commit().await.unwrap();
    wait_for(
        &s.db,
        "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL",
        1,
    )
    .await;
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM latest").await, 1);
    let Bus::Embedded(bus) = &s.bus else {
        unreachable!()
    };
    assert_eq!(bus.len().await.unwrap(), 1, "only the committed event");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), relaying)
        .await
        .expect("the relay did not stop")
        .unwrap();
}

/// What one idempotent request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Applied,
    Replayed(u16, String),
    Reused,
}

const SCOPE: &str = "client-1 POST /things";

/// Claims `key` for a request hashing to `hash` and, when fresh, applies the effect and
/// remembers `(201, body)`, holding the claim `hold` before committing.
async fn request(db: &Db, key: &str, hash: &str, body: &str, hold: Duration) -> Outcome {
    use messaging::idempotency::Claim;
    let mut work = Outbox::new().begin(db).await.unwrap();
    match work.idempotency(SCOPE, key, hash).await.unwrap() {
        Claim::Fresh(fresh) => {
            tokio::time::sleep(hold).await;
            storage::query("INSERT INTO effects (id) VALUES ($1)")
                .bind(uuid::Uuid::now_v7().to_string())
                .execute(&mut *work)
                .await
                .unwrap();
            work.remember(fresh, 201, body).await.unwrap();
            work.commit().await.unwrap();
            Outcome::Applied
        }
        Claim::Replay { status, body } => Outcome::Replayed(status, body),
        Claim::Reused => Outcome::Reused,
    }
}

async fn idempotency_keys_replay_refuse_reuse_and_expire(postgres: bool) {
    use messaging::idempotency::{Claim, request_hash};
    let (db, _dir, _pg) = database(postgres).await;
    let hash = request_hash(&[br#"{"name":"a"}"#]);
    let other = request_hash(&[br#"{"name":"b"}"#]);
    let none = Duration::ZERO;

    assert_eq!(
        request(&db, "k1", &hash, r#"{"id":1}"#, none).await,
        Outcome::Applied
    );
    // The same request again: the stored response, no second effect.
    assert_eq!(
        request(&db, "k1", &hash, "ignored", none).await,
        Outcome::Replayed(201, r#"{"id":1}"#.into())
    );
    // The same key for another request.
    assert_eq!(
        request(&db, "k1", &other, "ignored", none).await,
        Outcome::Reused
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM effects").await, 1);

    // A claim whose work is dropped (a refusal) leaves the key unused.
    let mut work = Outbox::new().begin(&db).await.unwrap();
    let Claim::Fresh(_) = work.idempotency(SCOPE, "k2", &hash).await.unwrap() else {
        panic!("k2 is new")
    };
    drop(work);
    // Another scope has keys of its own.
    let mut work = Outbox::new().begin(&db).await.unwrap();
    let claim = work
        .idempotency("client-2 POST /things", "k1", &hash)
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Fresh(_)), "{claim:?}");
    work.rollback().await.unwrap();
    assert_eq!(
        request(&db, "k2", &other, r#"{"id":2}"#, none).await,
        Outcome::Applied
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM effects").await, 2);

    // Keys are pruned with the other messaging rows past the retention.
    let bus = EmbeddedBus::open(&_dir.path().join("bus.sqlite"))
        .await
        .unwrap();
    let keep_nothing = MessagingConfig {
        retention_hours: 0,
        ..config()
    };
    let relay = Relay::new(
        db.clone(),
        Bus::Embedded(bus),
        Outbox::new(),
        keep_nothing,
        Faults::default(),
    );
    relay.prune().await.unwrap();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
    assert_eq!(
        request(&db, "k1", &other, r#"{"id":3}"#, none).await,
        Outcome::Applied
    );
}

/// Eight requests with the same key at the same time: one effect, seven replays of its
/// response (on PostgreSQL the twins wait on the first's row; SQLite serializes writers).
async fn concurrent_twins_apply_once(postgres: bool) {
    let (db, _dir, _pg) = database(postgres).await;
    let hash = messaging::idempotency::request_hash(&[b"same"]);
    let twins = (0..8).map(|i| {
        let db = db.clone();
        let hash = hash.clone();
        tokio::spawn(async move {
            let body = format!(r#"{{"twin":{i}}}"#);
            request(&db, "k", &hash, &body, Duration::from_millis(100)).await
        })
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(twins)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let applied = outcomes.iter().filter(|o| **o == Outcome::Applied).count();
    assert_eq!(applied, 1, "{outcomes:?}");
    let replayed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| **o != Outcome::Applied)
        .collect();
    assert_eq!(replayed.len(), 7, "{outcomes:?}");
    assert!(
        replayed.windows(2).all(|w| w[0] == w[1])
            && matches!(replayed[0], Outcome::Replayed(201, _)),
        "every twin replays the one stored response: {outcomes:?}"
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM effects").await, 1);
}

/// The use cases' form: an optional key, the request as a value, the answer as a value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_key_goes_ahead_replays_or_is_refused() {
    use messaging::idempotency::{KeyError, Keyed};
    let (db, _dir, _pg) = database(false).await;
    let order = serde_json::json!({"description": "windows"});
    // Given a request without a key: it always goes ahead, and nothing is stored.
    let mut work = Outbox::new().begin(&db).await.unwrap();
    let Keyed::Go(ticket) = work.claim_key(SCOPE, None, &order).await.unwrap() else {
        panic!("no key: go ahead")
    };
    work.answer(ticket, 201, &"first").await.unwrap();
    work.commit().await.unwrap();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
    // Given a keyed request answered once
    let mut work = Outbox::new().begin(&db).await.unwrap();
    let Keyed::Go(ticket) = work.claim_key(SCOPE, Some("k"), &order).await.unwrap() else {
        panic!("a new key: go ahead")
    };
    work.answer(ticket, 201, &serde_json::json!({"id": 7}))
        .await
        .unwrap();
    work.commit().await.unwrap();
    // When it comes again, then it gets the first answer
    let mut work = Outbox::new().begin(&db).await.unwrap();
    match work.claim_key(SCOPE, Some("k"), &order).await.unwrap() {
        Keyed::Replay { status, body } => assert_eq!((status, body.as_str()), (201, r#"{"id":7}"#)),
        other => panic!("expected a replay, got {other:?}"),
    }
    // When the key comes with another request, then it is refused
    let other = serde_json::json!({"description": "dishes"});
    assert!(matches!(
        work.claim_key(SCOPE, Some("k"), &other).await,
        Err(KeyError::Reused)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_idempotency_keys_replay_refuse_reuse_and_expire() {
    idempotency_keys_replay_refuse_reuse_and_expire(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_idempotency_keys_replay_refuse_reuse_and_expire() {
    idempotency_keys_replay_refuse_reuse_and_expire(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_requests_with_one_key_apply_once() {
    concurrent_twins_apply_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_requests_with_one_key_apply_once() {
    concurrent_twins_apply_once(true).await;
}

/// Committing a claimed key without its response would make retries unanswerable: the
/// commit refuses (panics, a bug) and nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committing_a_claim_without_its_response_panics_and_keeps_nothing() {
    let (db, _dir, _pg) = database(false).await;
    let forgetful = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut work = Outbox::new().begin(&db).await.unwrap();
            let claim = work.idempotency(SCOPE, "k", "h").await.unwrap();
            assert!(matches!(claim, messaging::idempotency::Claim::Fresh(_)));
            work.commit().await.unwrap();
        })
    };
    let error = forgetful.await.expect_err("the commit went through");
    assert!(error.is_panic());
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
}

/// Applies ticks like [`Recorder`], publishes a follow-up event for each, and misbehaves on
/// purpose: value 3 is bad data (rejected), value 5 fails the first time it is tried (after
/// publishing), value 7 panics every time.
struct Picky {
    failed_once: AtomicBool,
}

#[async_trait]
impl Handler for Picky {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let tick: Ticked = event.decode()?;
        work.publish(&Envelope::new(&tick, event.aggregate_version, Some(event)))
            .await?;
        match tick.value {
            3 => return Err(HandlerError::Rejected("three is not a tick".into())),
            5 if !self.failed_once.swap(true, Ordering::SeqCst) => {
                return Err(HandlerError::Failed(anyhow::anyhow!("a blip")));
            }
            7 => panic!("handler bug on seven"),
            _ => {}
        }
        storage::query("INSERT INTO applied (event_id, counter, version) VALUES ($1, $2, $3)")
            .bind(event.id.to_string())
            .bind(&tick.counter)
            .bind(tick.value)
            .execute(&mut **work)
            .await
            .map_err(storage::DbError::from)?;
        Ok(())
    }
}

/// A batch is applied with one commit, all at once or, once an event does not go through,
/// each event under its own savepoint: a rejected, a failing and a panicking event neither
/// spoil nor lose the others, their rolled-back
/// publications are gone, the batch stops at the first event to retry (so order is kept),
/// and applying the batch again changes nothing.
async fn a_batch_applies_each_event_once_whatever_its_neighbours_do(postgres: bool) {
    let (db, _dir, _pg) = database(postgres).await;
    storage::query(
        "CREATE TABLE applied (event_id TEXT PRIMARY KEY, counter TEXT NOT NULL, version BIGINT NOT NULL)",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let consumer = Consumer::new(
        "test.picky",
        db.clone(),
        Arc::new(Picky {
            failed_once: AtomicBool::new(false),
        }),
        Outbox::new(),
        config(),
        Faults::default(),
    );
    let events: Vec<Vec<u8>> = (1..=8)
        .map(|v| serde_json::to_vec(&Envelope::new(&tick(v), v, None)).unwrap())
        .collect();
    let deliveries: Vec<(&[u8], i64)> = events.iter().map(|e| (&e[..], 1)).collect();

    let first = consumer.process_batch(&deliveries).await;
    // 1, 2 done; 3 parked (done); 4 done; 5 failed in the batch and applied alone; 6 done;
    // 7 panicked: to be retried, and the batch stops there.
    assert_eq!(first.len(), 7, "{first:?}");
    assert!(
        first[..6].iter().all(|d| *d == Disposition::Done),
        "{first:?}"
    );
    assert!(matches!(first[6], Disposition::Retry(_)), "{first:?}");
    assert_eq!(
        consumer.process_batch(&deliveries[7..]).await,
        vec![Disposition::Done]
    );

    let applied: Vec<i64> = storage::query_scalar("SELECT version FROM applied ORDER BY version")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(applied, vec![1, 2, 4, 5, 6, 8]);
    // Only the applied events' follow-ups were published: not those of 3, 7 or 5's failure.
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM outbox").await, 6);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM dead_letters").await, 1);

    // Delivered again (a crash before the ack): duplicates, nothing changes.
    let again: Vec<(&[u8], i64)> = [0, 1, 3, 4, 5, 7].iter().map(|&i| deliveries[i]).collect();
    assert!(
        consumer
            .process_batch(&again)
            .await
            .iter()
            .all(|d| *d == Disposition::Done)
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM applied").await, 6);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM outbox").await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_batch_applies_each_event_once_whatever_its_neighbours_do() {
    a_batch_applies_each_event_once_whatever_its_neighbours_do(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_batch_applies_each_event_once_whatever_its_neighbours_do() {
    a_batch_applies_each_event_once_whatever_its_neighbours_do(true).await;
}

/// Waits until the bus counts `expected` events pending for `sub`'s consumer.
async fn wait_for_pending(bus: &Bus, sub: &messaging::bus::Subscription, expected: u64) {
    let start = Instant::now();
    loop {
        let n = bus.pending(sub).await.unwrap();
        if n == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "pending for {}: {n}, expected {expected}",
            sub.consumer
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A consumer's lag: the events of its types the bus holds that it has not acknowledged,
/// others' types not counted; none once it applied them; those published while it is
/// stopped count again.
async fn pending_counts_what_a_consumer_has_not_acknowledged(nats: bool) {
    let s = setup(nats).await;
    let sub = messaging::bus::Subscription {
        consumer: "test.recorder".into(),
        source: "test".into(),
        event_types: vec!["test.counter.ticked".into()],
    };
    let first: Vec<Envelope> = (1..=3).map(|v| Envelope::new(&tick(v), v, None)).collect();
    let mut other = Envelope::new(&tick(9), 9, None);
    other.event_type = "test.counter.reset".into();
    let mut published: Vec<&Envelope> = first.iter().collect();
    published.push(&other);
    s.bus.publish_all(&published).await.unwrap();
    // Embedded, a consumer that never ran has every event of its types ahead of it; on
    // NATS its durable consumer does not exist before its first run: nothing counted.
    wait_for_pending(&s.bus, &sub, if nats { 0 } else { 3 }).await;

    let recorder = Arc::new(Recorder {
        failing: AtomicBool::new(false),
    });
    let (stop, running) = run(&s, consumer(&s, recorder.clone()));
    wait_for(&s.db, "SELECT COUNT(*) FROM applied", 3).await;
    // Embedded: once the cursor is saved (at most 250 ms on); NATS: once acknowledged.
    wait_for_pending(&s.bus, &sub, 0).await;
    stop.send(true).unwrap();
    // The consumer is stopped (embedded: its cursor saved on the way out).
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the consumer did not stop")
        .unwrap();

    let later: Vec<Envelope> = (4..=5).map(|v| Envelope::new(&tick(v), v, None)).collect();
    s.bus
        .publish_all(&later.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    wait_for_pending(&s.bus, &sub, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_pending_counts_what_a_consumer_has_not_acknowledged() {
    pending_counts_what_a_consumer_has_not_acknowledged(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_pending_counts_what_a_consumer_has_not_acknowledged() {
    pending_counts_what_a_consumer_has_not_acknowledged(true).await;
}
