//! A chaos soak with a checker, Jepsen-style: a [`workload`] drives the business over HTTP
//! while a [`nemesis`] kills processes, restarts the NATS cluster and PostgreSQL and
//! switches the outside world's faults; once both stop and the system settles, the
//! [`checker`] reads every context's final state and reports what was lost, phantom,
//! doubled, stuck or unbalanced. Used by the CI test (`bin/mcf/tests/it/chaos.rs`, a short
//! run per mode) and by the `soak` command (any duration). See docs/chaos.md.

pub mod checker;
pub mod nemesis;
pub mod system;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

pub use checker::Findings;
pub use system::{Mode, System};
pub use workload::{BusinessTime, History, Pace};

/// How to run one soak.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// The `mcf` binary.
    pub mcf: PathBuf,
    /// How long the workload and the nemesis run.
    pub duration: Duration,
    /// Between two faults.
    pub fault_every: Duration,
    /// How long the system may take to settle afterwards.
    pub settle: Duration,
    /// Workers registered before the run.
    pub workers: usize,
    pub pace: Pace,
}

/// The soak's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub duration_s: u64,
    /// What the workload was told, per operation kind and outcome.
    pub operations: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    /// What the nemesis did.
    pub nemesis: nemesis::Log,
    pub findings: Findings,
    /// True when the findings are clean and every restart came back.
    pub ok: bool,
}

/// Starts the system, runs the workload under the nemesis for the duration, lets it
/// settle and checks it. Needs a multi-threaded tokio runtime.
pub async fn run(settings: &Settings) -> anyhow::Result<Report> {
    let mut system = System::start(settings.mode, settings.mcf.clone())
        .await
        .context("starting the system")?;
    let actors = workload::Actors::set_up(&system, settings.workers)
        .await
        .context("setting up the workload")?;
    let stop = Arc::new(AtomicBool::new(false));
    let time = workload::BusinessTime::default();
    let work = workload::start(&system, &actors, settings.pace, &time, stop.clone());
    let timer = {
        let (stop, duration) = (stop.clone(), settings.duration);
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let started = Instant::now();
    let log = nemesis::run(&mut system, settings.fault_every, stop).await;
    let _ = timer.await;
    let history = work.await.context("the workload")?;
    let duration_s = started.elapsed().as_secs();
    let mut findings = checker::check(&system, &actors, &history, &time, settings.settle).await;
    checker::check_rebuild(&mut findings, &mut system, &actors, settings.settle).await;
    checker::check_roster_rebuild(&mut findings, &mut system, &actors, settings.settle).await;
    let ok = findings.clean() && log.failures.is_empty();
    Ok(Report {
        mode: settings.mode,
        duration_s,
        operations: history.tally(),
        nemesis: log,
        findings,
        ok,
    })
}
