//! Assigning workers: at once when an order arrives, and later for orders that had to wait
//! (no worker registered yet).
//!
//! # The roster and several replicas
//!
//! A decision reads every normal sample and its bookings. Loading them per decision costs a
//! query over every worker, so each process keeps a [`Roster`] in memory and decides over
//! it. Distributed mode runs several matching replicas, each with its own memory, over one
//! PostgreSQL database; they stay correct this way:
//!
//! - Every transaction that changes a normal sample, its bookings or its history (decisions,
//!   profile upserts, adjustments, the completed/canceled/failed handlers) takes the same
//!   transaction-scoped advisory lock ([`store::lock_roster`]; SQLite has a single writer
//!   anyway) and appends the worker's id to `roster_changes` with the next `seq`. Under the
//!   lock, `seq` order is commit order, with no gaps.
//! - Before deciding, under that lock, a replica reads the changes since the last `seq` it
//!   applied and reloads just those workers from the database (a full reload when it has
//!   never loaded, when too many changed, or when the log was pruned past its position).
//!   Its roster then equals the database as of the lock, so no double booking can arise
//!   from a stale replica.
//! - The decision itself is not applied to memory: it logs a change like any other writer,
//!   so a rolled-back decision leaves nothing behind and the next refresh reloads the one
//!   worker it booked.
//!
//! External steps are asked before the lock is taken (they may be slow), about the roster
//! as it was then; a worker who appeared in between gets the step's fallback.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use contracts::matching::WorkerAssigned;
use contracts::{Envelope, OrderId, WorkerId};
use messaging::Work;
use service::{Clock, Context};
use storage::AnyConnection;
use tokio::sync::Mutex;
use web::Unexpected;

use crate::domain::pipeline::Pipeline;
use crate::domain::roster::{Roster, RosterView};
use crate::domain::steps::ExternalScores;
use crate::{external, store};

/// Above this many changed workers a refresh reloads everything instead.
const FULL_RELOAD_ABOVE: usize = 1000;

/// How many waiting orders one sweep step tries.
pub const SWEEP_BATCH: i64 = 100;

/// A replica's roster and how far it has followed `roster_changes`.
struct Followed {
    roster: Roster,
    /// The last change applied; `None` before the first load.
    seq: Option<i64>,
    loads: u64,
}

/// Decides over the in-memory roster; shared by the consumers and the background sweep.
pub struct Matcher {
    pipeline: Arc<Pipeline>,
    state: Mutex<Followed>,
    http: reqwest::Client,
    clock: Clock,
}

impl Matcher {
    /// A matcher deciding with `pipeline` on the system clock (see [`Matcher::with_clock`]).
    pub fn new(pipeline: Arc<Pipeline>) -> Matcher {
        Matcher {
            pipeline,
            state: Mutex::new(Followed {
                roster: Roster::new(),
                seq: None,
                loads: 0,
            }),
            http: reqwest::Client::new(),
            clock: Clock::system(),
        }
    }

    /// The same matcher on the service's business clock: "now" of its decisions (each
    /// worker's current load) and of the times it records.
    pub fn with_clock(self, clock: Clock) -> Matcher {
        Matcher { clock, ..self }
    }

    /// Now, on the matcher's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Whether external steps are configured (then decisions are made by the background
    /// sweep, which asks them with no transaction open).
    pub fn has_external_steps(&self) -> bool {
        !self.pipeline.externals().is_empty()
    }

    /// Asks the external steps about one pending order. Call it with no transaction open
    /// (a plain pool connection): the answers may take up to the steps' timeouts, and an
    /// open transaction would hold SQLite's writer or PostgreSQL locks meanwhile.
    pub async fn ask_external(
        &self,
        conn: &mut AnyConnection,
        order_id: OrderId,
    ) -> Result<Option<(u64, Vec<external::Answer>)>, Unexpected> {
        if !self.has_external_steps() {
            return Ok(None);
        }
        let Some(pending) = store::references::pending(conn, order_id).await? else {
            return Ok(None);
        };
        let questions = {
            let mut state = self.state.lock().await;
            refresh(conn, &mut state).await?;
            external::questions(
                &self.pipeline,
                &pending.reference,
                &state.roster,
                self.now(),
            )?
        };
        Ok(Some(external::ask(&self.http, questions).await))
    }

    /// Decides one pending order in a unit of work of its own, the external steps asked
    /// before it begins. Returns whether it assigned (and committed).
    pub async fn decide_one(&self, ctx: &Context, order_id: OrderId) -> Result<bool, Unexpected> {
        let asked = {
            let mut conn = ctx.db.pool().acquire().await?;
            self.ask_external(&mut conn, order_id).await?
        };
        let mut work = ctx.begin().await?;
        if self.match_order(&mut work, order_id, asked).await? {
            work.commit().await?;
            Ok(true)
        } else {
            work.rollback().await?;
            Ok(false)
        }
    }

    /// Matches one pending order inside the caller's unit of work; on success the
    /// assignment and its `worker.assigned` event commit together. Returns whether it
    /// assigned. `asked`: the external steps' answers from [`Matcher::ask_external`] (steps
    /// not asked take their fallback, with a note).
    pub async fn match_order(
        &self,
        work: &mut Work,
        order_id: OrderId,
        asked: Option<(u64, Vec<external::Answer>)>,
    ) -> Result<bool, Unexpected> {
        store::lock_roster(work).await?;
        let Some(pending) = store::references::pending(work, order_id).await? else {
            return Ok(false);
        };
        let now = self.now();
        // The decision's time: bringing the roster up to date and ranking the candidates
        // (the external steps were asked before, outside the unit of work).
        let started = std::time::Instant::now();
        let decision = {
            let mut state = self.state.lock().await;
            refresh(work, &mut state).await?;
            let scores = match asked {
                Some((generation, answers)) => external::scores(&state.roster, generation, answers),
                None => ExternalScores::default(),
            };
            self.pipeline
                .decide(&pending.reference, &state.roster, now, &scores)
        };
        metrics::histogram!("mcf_matching_decision_seconds", "outcome" => match decision {
            Some(_) => "decided",
            None => "waits",
        })
        .record(started.elapsed().as_secs_f64());
        let Some(decision) = decision else {
            tracing::info!(%order_id, "no normal sample registered yet: order waits");
            return Ok(false);
        };
        let version = pending.assignment_version + 1;
        if !store::references::assign(work, order_id, version, &decision, now).await? {
            return Ok(false);
        }
        store::changes::log(work, decision.worker_id, now).await?;
        let cause: Envelope = serde_json::from_str(&pending.cause)?;
        let event = WorkerAssigned {
            order_id,
            worker_id: decision.worker_id,
            price: decision.price,
            fallback: decision.fallback,
            candidates: decision.candidates,
            explanation: decision.explanation,
        };
        work.publish(&Envelope::new(&event, version, Some(&cause)))
            .await?;
        Ok(true)
    }

    /// Brings the roster up to date and runs `f` over it (tests, operators).
    pub async fn with_roster<T>(
        &self,
        conn: &mut AnyConnection,
        f: impl FnOnce(&Roster) -> T,
    ) -> Result<T, Unexpected> {
        let mut state = self.state.lock().await;
        refresh(conn, &mut state).await?;
        Ok(f(&state.roster))
    }

    /// The roster as this process decides over it, in canonical form (`GET /ops/roster`):
    /// brought up to date from the change log first, under the roster lock as a decision
    /// does, so it is the memory the next decision would read. The unit of work only holds
    /// the lock; it writes nothing and is rolled back.
    pub async fn view(&self, ctx: &Context) -> Result<RosterView, Unexpected> {
        let mut work = ctx.begin().await?;
        store::lock_roster(&mut work).await?;
        let view = {
            let mut state = self.state.lock().await;
            refresh(&mut work, &mut state).await?;
            // Refreshed, the roster has applied the log up to its newest change.
            RosterView::of(&state.roster, state.seq.unwrap_or(0))
        };
        work.rollback().await?;
        Ok(view)
    }

    /// Tries the oldest [`SWEEP_BATCH`] waiting orders; returns how many were tried and how
    /// many assigned.
    pub async fn sweep(&self, ctx: &Context) -> Result<(usize, usize), Unexpected> {
        let ids = {
            let mut conn = ctx.db.pool().acquire().await?;
            store::references::pending_ids(&mut conn, SWEEP_BATCH).await?
        };
        let mut assigned = 0;
        for id in &ids {
            if self.decide_one(ctx, *id).await? {
                assigned += 1;
            }
        }
        Ok((ids.len(), assigned))
    }

    /// Forgets roster changes older than an hour: a replica idle for longer reloads
    /// everything.
    pub async fn prune_changes(&self, ctx: &Context) -> Result<u64, Unexpected> {
        let mut work = ctx.begin().await?;
        let pruned =
            store::changes::prune(&mut work, self.now() - chrono::Duration::hours(1)).await?;
        work.commit().await?;
        Ok(pruned)
    }
}

/// Applies the changes logged since the roster's position.
async fn refresh(conn: &mut AnyConnection, state: &mut Followed) -> Result<(), Unexpected> {
    let full = match state.seq {
        None => true,
        Some(seq) => {
            let changes = store::changes::since(conn, seq.max(1)).await?;
            // The log keeps the newest change, so seeing our own position proves nothing in
            // between was pruned; at 0 the log must start at 1.
            let contiguous = match changes.first() {
                None => seq == 0,
                Some((first, _)) => *first == seq.max(1) && (seq > 0 || *first == 1),
            } && changes.windows(2).all(|w| w[1].0 == w[0].0 + 1);
            if !contiguous || changes.len() > FULL_RELOAD_ABOVE {
                true
            } else {
                let mut workers: Vec<WorkerId> = changes
                    .iter()
                    .filter(|(s, _)| *s > seq)
                    .map(|(_, w)| *w)
                    .collect();
                workers.sort_unstable();
                workers.dedup();
                for w in workers {
                    if let Some(s) = store::roster::load_one(conn, w).await? {
                        state.roster.put(s);
                    }
                }
                if let Some((last, _)) = changes.last() {
                    state.seq = Some(*last);
                }
                false
            }
        }
    };
    if full {
        // The position first: changes committed during the load are applied again next
        // time, which is harmless; none can be missed.
        let seq = store::changes::last(conn).await?;
        let states = store::roster::load_all(conn).await?;
        state.loads += 1;
        state.roster = Roster::from_states(states, state.loads);
        state.seq = Some(seq);
    }
    Ok(())
}
