//! Messaging on both buses: duplicates, out-of-order deliveries, retries, dead letters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use contracts::Envelope;
use messaging::bus::{EmbeddedBus, NatsBus};
use messaging::consumer::Disposition;
use messaging::{Bus, Consumer, Faults, Handler, HandlerError, MessagingConfig, Outbox, Relay};
use serde::{Deserialize, Serialize};
use storage::{Db, DbOptions, Row, Tx};
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
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::Failed(anyhow::anyhow!("downstream is down")));
        }
        let tick: Ticked = event.decode()?;
        storage::query("INSERT INTO applied (event_id, counter, version) VALUES ($1, $2, $3)")
            .bind(event.id.to_string())
            .bind(&tick.counter)
            .bind(event.aggregate_version)
            .execute(&mut **tx)
            .await
            .map_err(storage::DbError::from)?;
        storage::query(
            "INSERT INTO latest (counter, version) VALUES ($1, $2) ON CONFLICT (counter) \
             DO UPDATE SET version = excluded.version WHERE latest.version < excluded.version",
        )
        .bind(&tick.counter)
        .bind(event.aggregate_version)
        .execute(&mut **tx)
        .await
        .map_err(storage::DbError::from)?;
        Ok(())
    }
}

/// A handler with a bug: panics on every event.
struct Panicker;

#[async_trait]
impl Handler for Panicker {
    async fn handle(&self, _: &mut Tx, _: &Envelope) -> Result<(), HandlerError> {
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

fn run(s: &Setup, consumer: Consumer) -> watch::Sender<bool> {
    let (stop, stop_rx) = watch::channel(false);
    let bus = s.bus.clone();
    let sub = messaging::bus::Subscription {
        consumer: consumer.name().to_owned(),
        source: "test".into(),
        event_types: vec!["test.counter.ticked".into()],
    };
    tokio::spawn(async move { bus.run_consumer(sub, consumer, config(), stop_rx).await });
    stop
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
    let mut tx = s.db.begin().await.unwrap();
    Outbox::append(&mut tx, &e1).await.unwrap();
    tx.commit().await.unwrap();
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

    let stop = run(&s, c.clone());
    wait_for(&s.db, "SELECT COUNT(*) FROM applied", 3).await;
    // A redelivery straight to the consumer is a no-op too.
    let body = serde_json::to_vec(&e2).unwrap();
    assert_eq!(c.process(&body, 1).await, Disposition::Done);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(true);

    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM applied").await, 3);
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM inbox").await, 3);
    assert_eq!(
        scalar(&s.db, "SELECT MAX(version) FROM latest").await,
        3,
        "newest wins"
    );
    assert_eq!(scalar(&s.db, "SELECT COUNT(*) FROM dead_letters").await, 0);

    // With no retention, pruning forgets published rows and applied ids, never pending ones.
    let mut tx = s.db.begin().await.unwrap();
    Outbox::append(&mut tx, &Envelope::new(&tick(4), 4, Some(&e3)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
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
    let stop = run(&s, c.clone());
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
