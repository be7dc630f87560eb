//! One matching decision against 1k, 10k and 100k normal samples. Prints JSON per size:
//! - `pure`: the pipeline alone over the in-memory roster (the default pipeline);
//! - `full_sqlite`: the whole decision as the order consumer runs it on an embedded SQLite
//!   database: write transaction, the matching lock, the roster refresh (the previous
//!   decision's worker), the decision, the assignment, the change log and the outbox row,
//!   commit (fsync);
//! - `roster_load_ms`: a replica's first full load of the roster from the database.
//!
//! Samples have 3 to 6 of 12 skills (levels spread 0..100), 0 to 4 bookings in the next 30
//! days, and a history of 0 to 40 completed and 0 to 4 failed jobs. Not a test: nothing here
//! asserts on time. `cargo run --release -p mcf-bench --bin matching-decide`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use contracts::ordering::OrderRequested;
use contracts::{AccountId, Envelope, Money, OrderId, ServiceTypeId, WorkerId};
use matching::domain::roster::{Booking, Roster, SampleState};
use matching::domain::samples::{History, NormalSample, ReferenceSample};
use matching::domain::steps::ExternalScores;
use matching::{MatchingConfig, Pipeline};
use messaging::Handler;
use serde_json::{Value, json};
use storage::{Db, DbOptions};
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Matching decision benchmark: prints JSON")]
struct Args {
    /// Roster sizes.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1_000usize, 10_000, 100_000])]
    sizes: Vec<usize>,
    /// Pure decisions timed per size.
    #[arg(long, default_value_t = 2000)]
    decisions: usize,
    /// Full (SQLite) decisions timed per size (0: skip).
    #[arg(long, default_value_t = 300)]
    full: usize,
}

const SKILLS: [&str; 12] = [
    "cleaning",
    "ironing",
    "windows",
    "cooking",
    "gardening",
    "laundry",
    "pets",
    "kids",
    "elderly",
    "moving",
    "repairs",
    "shopping",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn base() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::hours(1)
}

fn states(n: usize, rng: &mut Rng) -> Vec<SampleState> {
    let t0 = base();
    (0..n)
        .map(|i| {
            let mut skills = BTreeMap::new();
            for _ in 0..(3 + rng.below(4)) {
                let s = SKILLS[rng.below(SKILLS.len() as u64) as usize];
                // Two draws averaged: most levels in the middle, few extremes.
                let level = (rng.below(101) + rng.below(101)) / 2;
                skills.insert(s.to_owned(), level as i64);
            }
            let bookings = (0..rng.below(5))
                .map(|_| {
                    let start = t0 + chrono::Duration::minutes(rng.below(30 * 24 * 4) as i64 * 15);
                    Booking {
                        start: storage::micros(start),
                        end: storage::micros(
                            start + chrono::Duration::minutes(60 + 30 * rng.below(6) as i64),
                        ),
                        order_id: OrderId::new(),
                    }
                })
                .collect();
            SampleState {
                sample: NormalSample {
                    id: WorkerId::new(),
                    name: format!("Worker {i}"),
                    available: rng.below(20) != 0,
                    skills,
                },
                history: History {
                    completed: rng.below(41) as i64,
                    failed: rng.below(5) as i64,
                },
                bookings,
            }
        })
        .collect()
}

fn order(rng: &mut Rng, roster_ids: &[WorkerId]) -> OrderRequested {
    let scheduled_at = base() + chrono::Duration::minutes(rng.below(30 * 24 * 4) as i64 * 15);
    // One order in ten is a rebook excluding the worker who failed it.
    let excluded_workers = if rng.below(10) == 0 {
        vec![roster_ids[rng.below(roster_ids.len() as u64) as usize]]
    } else {
        vec![]
    };
    OrderRequested {
        order_id: OrderId::new(),
        // One of a thousand clients.
        client_id: AccountId::from_uuid(Uuid::from_u128(u128::from(rng.below(1000)))),
        service_type_id: ServiceTypeId::new(),
        service_type_name: "Help".into(),
        skill: SKILLS[rng.below(SKILLS.len() as u64) as usize].into(),
        description: String::new(),
        scheduled_at,
        duration_minutes: 120,
        base_price: Money::from_minor(100),
        rebook_of: None,
        excluded_workers,
    }
}

fn reference(o: &OrderRequested) -> ReferenceSample {
    ReferenceSample {
        order_id: o.order_id,
        client_id: o.client_id,
        skill: o.skill.clone(),
        scheduled_at: o.scheduled_at,
        ends_at: o.scheduled_at + chrono::Duration::minutes(o.duration_minutes),
        excluded_workers: o.excluded_workers.clone(),
        rebook_of: None,
    }
}

fn figures(mut d: Vec<Duration>) -> Value {
    d.sort_unstable();
    let us = |x: Duration| (x.as_secs_f64() * 1e6 * 10.0).round() / 10.0;
    let at = |q: f64| us(d[((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1]);
    json!({
        "runs": d.len(),
        "p50_us": at(0.50),
        "p99_us": at(0.99),
        "max_us": us(*d.last().expect("runs")),
    })
}

/// Writes the roster's samples, bookings and history into a fresh SQLite database.
async fn seed(db: &Db, states: &[SampleState]) -> anyhow::Result<()> {
    let now = storage::now_micros();
    for chunk in states.chunks(400) {
        let mut tx = db.begin().await?;
        let mut sql = String::from(
            "INSERT INTO normal_samples (id, name, available, skills, created_at, updated_at) VALUES ",
        );
        for (i, _) in chunk.iter().enumerate() {
            let p = i * 6;
            sql.push_str(&format!(
                "{}(${}, ${}, ${}, ${}, ${}, ${})",
                if i == 0 { "" } else { ", " },
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6
            ));
        }
        let mut q = storage::query(sqlx::AssertSqlSafe(sql));
        for s in chunk {
            q = q
                .bind(s.sample.id.to_string())
                .bind(s.sample.name.clone())
                .bind(i64::from(s.sample.available))
                .bind(serde_json::to_string(&s.sample.skills)?)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *tx).await?;
        for s in chunk {
            for b in &s.bookings {
                storage::query(
                    "INSERT INTO reference_samples (order_id, client_id, skill, scheduled_at, \
                     ends_at, status, worker_id, price, assignment_version, fallback, \
                     candidates, cause, requested_at) \
                     VALUES ($1, 'c', 'cleaning', $2, $3, 'assigned', $4, 100, 1, 0, 0, '{}', $5)",
                )
                .bind(b.order_id.to_string())
                .bind(b.start)
                .bind(b.end)
                .bind(s.sample.id.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for (outcome, n) in [
                ("completed", s.history.completed),
                ("no_show", s.history.failed),
            ] {
                for _ in 0..n {
                    storage::query(
                        "INSERT INTO sample_results (order_id, worker_id, outcome, \
                         service_type_name, scheduled_at, recorded_at) \
                         VALUES ($1, $2, $3, 'Help', $4, $4)",
                    )
                    .bind(Uuid::now_v7().to_string())
                    .bind(s.sample.id.to_string())
                    .bind(outcome)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn full(states: &[SampleState], runs: usize, rng: &mut Rng) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let db = Db::connect(
        &storage::sqlite_url(&dir.path().join("matching.sqlite")),
        &DbOptions::default(),
    )
    .await?;
    db.migrate(&[messaging::migrations(), matching::migrations()])
        .await?;
    let seeding = Instant::now();
    seed(&db, states).await?;
    let seed_ms = seeding.elapsed().as_millis();
    let matcher = Arc::new(matching::Matcher::new(Arc::new(Pipeline::from_config(
        &MatchingConfig::default(),
    )?)));
    let loading = Instant::now();
    {
        let mut conn = db.pool().acquire().await?;
        matcher
            .with_roster(&mut conn, |r| r.len())
            .await
            .map_err(|e| e.into_anyhow())?;
    }
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let handler = matching::events::OnOrderRequested {
        matcher: matcher.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let ids: Vec<WorkerId> = states.iter().map(|s| s.sample.id).collect();
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let o = order(rng, &ids);
        let envelope = Envelope::new(&o, 1, None);
        let t = Instant::now();
        let mut work = messaging::Outbox::new().begin(&db).await?;
        handler
            .handle(&mut work, &envelope)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        work.commit().await?;
        // The first few warm the connections and caches.
        if i >= 10 {
            times.push(t.elapsed());
        }
    }
    db.close().await;
    Ok(json!({
        "decision": figures(times),
        "roster_load_ms": (load_ms * 10.0).round() / 10.0,
        "seed_ms": seed_ms,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pipeline = Pipeline::from_config(&MatchingConfig::default())?;
    let mut out = vec![];
    for &n in &args.sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let states = states(n, &mut rng);
        let ids: Vec<WorkerId> = states.iter().map(|s| s.sample.id).collect();
        let build = Instant::now();
        let roster = Roster::from_states(states.clone(), 1);
        let build_ms = build.elapsed().as_secs_f64() * 1e3;
        let external = ExternalScores::default();
        let mut times = Vec::with_capacity(args.decisions);
        let mut fallbacks = 0;
        for i in 0..args.decisions + 20 {
            let r = reference(&order(&mut rng, &ids));
            let now = Utc::now();
            let t = Instant::now();
            let d = pipeline.decide(&r, &roster, now, &external);
            let elapsed = t.elapsed();
            let d = d.expect("a roster is never empty here");
            fallbacks += usize::from(d.fallback);
            if i >= 20 {
                times.push(elapsed);
            }
        }
        let mut entry = json!({
            "normal_samples": n,
            "roster_build_ms": (build_ms * 10.0).round() / 10.0,
            "pure": figures(times),
            "pure_fallbacks": fallbacks,
        });
        if args.full > 0 {
            entry["full_sqlite"] = full(&states, args.full, &mut rng).await?;
        }
        eprintln!("{entry}");
        out.push(entry);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "pipeline": MatchingConfig::default().steps.iter().map(|s| s.name().to_owned()).collect::<Vec<_>>(),
            "sizes": out,
        }))?
    );
    Ok(())
}
