//! Background tasks (relays, consumers, sweeps) that outlive their own panics.
//!
//! A task is a name and a factory that makes a fresh future for it. The composition runs
//! each one under [`supervise`]: when the future panics (or ends while the process is not
//! shutting down), the supervisor logs why, counts a restart in [`TaskStats`] (shown by the
//! admin route `GET /ops/tasks`) and starts a new future after a growing delay. One bad
//! message or bug therefore neither stops the whole process nor silently stops that task for
//! good. A task that ends because shutdown was asked is not restarted.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::watch;

/// Makes a fresh run of a task.
pub type Factory = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A named background task that can be started again.
#[derive(Clone)]
pub struct Task {
    name: String,
    factory: Factory,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("name", &self.name).finish()
    }
}

impl Task {
    /// `make` is called for every (re)start; each call must build the task's state anew (or
    /// share only what survives a panic, like a database pool).
    pub fn new<F, Fut>(name: impl Into<String>, make: F) -> Task
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Task {
            name: name.into(),
            factory: Arc::new(move || make().boxed()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh run of the task.
    pub fn start(&self) -> BoxFuture<'static, ()> {
        (self.factory)()
    }
}

/// What an operator sees of one task.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskState {
    pub name: String,
    /// A run is in progress (false while waiting to restart, and after shutdown).
    pub running: bool,
    /// How many times it was started again after a panic or an unexpected end.
    pub restarts: u64,
    /// Why the last run failed (the panic's message), if one did.
    pub last_failure: Option<String>,
    /// When, as Unix milliseconds.
    pub last_failure_at_ms: Option<i64>,
}

/// The states of a service's tasks, shared by the supervisors and the ops route.
#[derive(Debug, Clone, Default)]
pub struct TaskStats {
    tasks: Arc<Mutex<BTreeMap<String, TaskState>>>,
}

impl TaskStats {
    /// Stats listing `tasks` (not running yet, no restarts).
    pub fn new<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> TaskStats {
        let stats = TaskStats::default();
        for t in tasks {
            stats.update(t.name(), |_| {});
        }
        stats
    }

    /// Every task, by name.
    pub fn snapshot(&self) -> Vec<TaskState> {
        self.lock().values().cloned().collect()
    }

    /// One task's state, if known.
    pub fn get(&self, name: &str) -> Option<TaskState> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, TaskState>> {
        // The map is only ever updated whole under the lock, so a poisoned lock (a panic
        // elsewhere while holding it, which nothing here does) still guards valid data.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update<R>(&self, name: &str, f: impl FnOnce(&mut TaskState) -> R) -> R {
        let mut tasks = self.lock();
        let state = tasks.entry(name.to_owned()).or_insert_with(|| TaskState {
            name: name.to_owned(),
            ..TaskState::default()
        });
        f(state)
    }
}

/// Delays between restarts: doubling from `initial` up to `max`; a run that lasted
/// `healthy_after` starts the series again.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub healthy_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(60),
        }
    }
}

/// Runs `task` until shutdown, starting it again after each panic or unexpected end (see
/// the module's documentation). Returns once `shutdown` turns true (or its sender is gone)
/// and the current run has ended.
pub async fn supervise(
    task: Task,
    stats: TaskStats,
    mut shutdown: watch::Receiver<bool>,
    backoff: Backoff,
) {
    let name = task.name().to_owned();
    let mut delay = backoff.initial;
    loop {
        stats.update(&name, |s| s.running = true);
        let started = Instant::now();
        // The run's state is dropped with it; what it shared (pools, notifiers) has no
        // invariant a panic midway can break, hence the assertions. Building the run may
        // panic too, not only running it.
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| task.start())) {
            Ok(run) => AssertUnwindSafe(run).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        stats.update(&name, |s| s.running = false);
        if *shutdown.borrow() {
            return;
        }
        let why = match outcome {
            Ok(()) => "ended while the process was not stopping".to_owned(),
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        if started.elapsed() >= backoff.healthy_after {
            delay = backoff.initial;
        }
        let restarts = stats.update(&name, |s| {
            s.restarts += 1;
            s.last_failure = Some(why.clone());
            s.last_failure_at_ms = Some(storage::now_micros() / 1000);
            s.restarts
        });
        tracing::error!(
            task = %name,
            restarts,
            retry_in_ms = delay.as_millis() as u64,
            "background task {why}; starting it again"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        delay = delay.saturating_mul(2).min(backoff.max);
    }
}

/// A caught panic's message, when it has one.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> Backoff {
        Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
            healthy_after: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_task_that_panics_twice_is_restarted_counted_and_then_runs() {
        let runs = Arc::new(AtomicU32::new(0));
        let (stop, shutdown) = watch::channel(false);
        let task = {
            let runs = runs.clone();
            let shutdown = shutdown.clone();
            Task::new("flaky", move || {
                let n = runs.fetch_add(1, Ordering::SeqCst);
                if n == 0 {
                    panic!("boom while building");
                }
                let mut shutdown = shutdown.clone();
                async move {
                    if n < 2 {
                        panic!("boom {n}");
                    }
                    // The healthy run: works until shutdown.
                    let _ = shutdown.wait_for(|s| *s).await;
                }
            })
        };
        let stats = TaskStats::new([&task]);
        assert_eq!(stats.get("flaky").unwrap().restarts, 0);
        let supervisor = tokio::spawn(supervise(task, stats.clone(), shutdown, quick()));
        tokio::time::timeout(Duration::from_secs(10), async {
            while !stats.get("flaky").unwrap().running || runs.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .expect("the task was not restarted into a healthy run");
        let state = stats.get("flaky").unwrap();
        assert_eq!(state.restarts, 2);
        assert_eq!(state.last_failure.as_deref(), Some("panicked: boom 1"));
        assert!(state.last_failure_at_ms.is_some());
        // Shutdown: the healthy run returns and is not started again.
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), supervisor)
            .await
            .expect("the supervisor did not stop")
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        let state = stats.get("flaky").unwrap();
        assert_eq!((state.running, state.restarts), (false, 2));
    }

    #[tokio::test]
    async fn a_task_that_ends_early_is_restarted_but_not_after_shutdown() {
        let runs = Arc::new(AtomicU32::new(0));
        let (stop, shutdown) = watch::channel(false);
        let task = {
            let runs = runs.clone();
            Task::new("short", move || {
                runs.fetch_add(1, Ordering::SeqCst);
                async {}
            })
        };
        let stats = TaskStats::new([&task]);
        let supervisor = tokio::spawn(supervise(task, stats.clone(), shutdown, quick()));
        tokio::time::timeout(Duration::from_secs(10), async {
            while runs.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .unwrap();
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), supervisor)
            .await
            .expect("the supervisor did not stop")
            .unwrap();
        let after = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            after,
            "restarted after shutdown"
        );
        assert!(stats.get("short").unwrap().restarts >= 2);
    }
}
