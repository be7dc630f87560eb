//! The nemesis: faults injected while the workload runs. Distributed: kill -9 of a random
//! service process and its restart, a rolling restart of the NATS cluster (one node down at
//! a time), an immediate PostgreSQL restart, the contractor's and the bank's faults
//! switched on and off. Embedded: kill -9 of the one process and its restart on the same
//! data, and the outside world's faults alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;

use crate::system::{Mode, System};

/// What the nemesis did, for the report.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Log {
    /// `kill9 ordering`, `nats rolling restart`, `postgres restart`, `cookie faults on`...
    pub actions: Vec<String>,
    /// Restarts that did not come back (the run is then not to be trusted).
    pub failures: Vec<String>,
}

/// Runs faults every `every` until `stop` is set; leaves every process running and every
/// fault off. Blocking steps (starting processes, PostgreSQL) run on this thread: call it
/// from a multi-threaded runtime (the workload goes on on the other threads).
pub async fn run(system: &mut System, every: Duration, stop: Arc<AtomicBool>) -> Log {
    let mut log = Log::default();
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let pick = rand::rng().random_range(0..10);
        let action = match (system.mode, pick) {
            (Mode::Distributed, 0) => nats_rolling_restart(system),
            (Mode::Distributed, 1) => postgres_restart(system),
            (_, 2) => switch_cookie_faults(system),
            (_, 3) => switch_bank_faults(system),
            _ => kill_and_restart(system).await,
        };
        match action {
            Ok(a) => log.actions.push(a),
            Err(e) => log.failures.push(format!("{e:#}")),
        }
    }
    system.cookies.set_faults(Default::default());
    system.bank.set_faults(Default::default());
    log
}

/// kill -9 of a random process, a pause of up to two seconds, and its restart.
async fn kill_and_restart(system: &mut System) -> anyhow::Result<String> {
    let (i, pause) = {
        let mut rng = rand::rng();
        (
            rng.random_range(0..system.procs.len()),
            Duration::from_millis(rng.random_range(0..2000)),
        )
    };
    let role = system.procs[i].role;
    system.kill9(i);
    tokio::time::sleep(pause).await;
    tokio::task::block_in_place(|| system.revive(i))?;
    Ok(format!("kill9 {role} ({} ms down)", pause.as_millis()))
}

/// Each NATS node in turn: killed, started again, given time to catch up.
fn nats_rolling_restart(system: &mut System) -> anyhow::Result<String> {
    let Some(nats) = system.nats.as_mut() else {
        return Ok("no nats".into());
    };
    tokio::task::block_in_place(|| {
        for node in 0..nats.len() {
            nats.kill(node);
            std::thread::sleep(Duration::from_millis(500));
            nats.restart(node)?;
            // A restarted node catches up with the stream leaders before the next goes.
            std::thread::sleep(Duration::from_secs(2));
        }
        Ok("nats rolling restart".into())
    })
}

/// PostgreSQL stopped `immediate` (a crash to its clients) and started again.
fn postgres_restart(system: &mut System) -> anyhow::Result<String> {
    let Some(pg) = system.pg.as_ref() else {
        return Ok("no postgres".into());
    };
    let start = Instant::now();
    tokio::task::block_in_place(|| {
        pg.kill();
        pg.restart()
    })?;
    Ok(format!(
        "postgres immediate restart ({} ms)",
        start.elapsed().as_millis()
    ))
}

/// The cookie contractor misbehaves in one random way, or behaves again.
fn switch_cookie_faults(system: &mut System) -> anyhow::Result<String> {
    let mut rng = rand::rng();
    let mut faults = sandbox_cookies::Faults::default();
    let which = match rng.random_range(0..6) {
        0 => "off",
        1 => {
            faults.error_after_work = true;
            "error after work"
        }
        2 => {
            faults.duplicate_callbacks = true;
            "duplicate callbacks"
        }
        3 => {
            faults.lost_callbacks = true;
            "lost callbacks"
        }
        4 => {
            faults.reset = true;
            "reset"
        }
        _ => {
            faults.slow_ms = 1500;
            "slow"
        }
    };
    system.cookies.set_faults(faults);
    Ok(format!("cookie faults: {which}"))
}

/// The bank misbehaves in one random way, or behaves again.
fn switch_bank_faults(system: &mut System) -> anyhow::Result<String> {
    let mut rng = rand::rng();
    let mut faults = sandbox_bank::Faults::default();
    let which = match rng.random_range(0..4) {
        0 => "off",
        1 => {
            faults.error_after_work = true;
            "error after work"
        }
        2 => {
            faults.unavailable = true;
            "unavailable"
        }
        _ => {
            faults.reset = true;
            "reset"
        }
    };
    system.bank.set_faults(faults);
    Ok(format!("bank faults: {which}"))
}
