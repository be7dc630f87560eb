//! Background tasks (relays, consumers, sweeps): the loop they are written with, and the
//! supervisor that outlives their panics.
//!
//! A task's body is usually [`repeat`]: do a step; go again at once while the step finds
//! work; when idle, wait for a wake-up, the poll interval or shutdown; after a failure, log
//! it and wait a doubling, capped delay. Write only the step.
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
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// What one step of a [`repeat`] loop found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// It did some work and there may be more: step again at once.
    Busy,
    /// Nothing to do: wait for a wake-up, the poll interval or shutdown.
    Idle,
}

/// What wakes an idle [`repeat`] loop before its poll interval is up.
#[derive(Debug, Default)]
pub enum Wake {
    /// Nothing: it polls.
    #[default]
    Never,
    /// `notify_one` on this [`Notify`]. A wake-up given while the loop is busy is kept (as a
    /// permit), so the loop steps again rather than missing it.
    Notify(Arc<Notify>),
    /// Any new value sent on this channel (e.g. a counter bumped per change). Values sent
    /// while the loop is busy are not missed either. If the sender goes away, the loop
    /// polls.
    Changes(watch::Receiver<u64>),
}

impl Wake {
    /// Returns when woken; never, if nothing can wake it any more.
    async fn woken(&mut self) {
        match self {
            Wake::Never => {}
            Wake::Notify(notify) => return notify.notified().await,
            Wake::Changes(changes) => {
                if changes.changed().await.is_ok() {
                    return;
                }
                // The sender is gone: waiting on it again would return at once, forever.
                *self = Wake::Never;
            }
        }
        std::future::pending().await
    }
}

/// The rhythm of a [`repeat`] loop.
///
/// ```
/// use std::time::Duration;
/// use messaging::tasks::{Pace, Wake};
///
/// let wake = std::sync::Arc::new(tokio::sync::Notify::new());
/// let pace = Pace::polling(Duration::from_secs(2))
///     .woken_by(Wake::Notify(wake.clone()))
///     .backoff(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!(pace.backoff_max, Duration::from_secs(5));
/// ```
#[derive(Debug)]
pub struct Pace {
    /// How long an idle loop waits when nothing wakes it.
    pub idle: Duration,
    /// What wakes an idle loop early.
    pub wake: Wake,
    /// The wait after a failed step; it doubles with each failure in a row.
    pub backoff_initial: Duration,
    /// The longest wait after a failure.
    pub backoff_max: Duration,
}

impl Pace {
    /// Polls every `idle` when idle; nothing wakes it early; after failures waits 200 ms,
    /// doubling up to 30 s (the `[messaging]` defaults).
    pub fn polling(idle: Duration) -> Pace {
        Pace {
            idle,
            wake: Wake::Never,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
        }
    }

    /// The same pace, woken early by `wake`.
    pub fn woken_by(self, wake: Wake) -> Pace {
        Pace { wake, ..self }
    }

    /// The same pace, waiting `initial` after a failure, doubling up to `max`.
    pub fn backoff(self, initial: Duration, max: Duration) -> Pace {
        Pace {
            backoff_initial: initial,
            backoff_max: max,
            ..self
        }
    }
}

/// Runs `step` over and over until `shutdown` turns true (or its sender is gone).
///
/// After [`Progress::Busy`] it steps again at once; after [`Progress::Idle`] it waits until
/// `pace.wake` fires, `pace.idle` passes or shutdown is asked. A failed step is logged (as
/// `name` failed, with the error's whole chain) and retried after `pace.backoff_initial`,
/// doubling with each failure in a row up to `pace.backoff_max`; a step that succeeds starts
/// the series again. Shutdown is watched while waiting (also mid-backoff), not during a
/// step: a step is finished, so it should not run for long (a step that waits for events,
/// like a subscription, races shutdown itself).
///
/// `step` makes a fresh future per call. It may borrow what the caller owns (`&self`, a
/// pool, a `Mutex` for state kept between steps), but not the closure's own captures
/// mutably; keep mutable state in a `Mutex` or atomic outside the closure.
///
/// Converting a hand-written loop (`while !*shutdown.borrow() { work; select! { wake,
/// sleep, shutdown } }`): move the work into `step`, answer `Busy` if it did something
/// that may leave more to do (a full batch) and `Idle` otherwise, return errors instead of
/// logging them, and pick the `Pace` from the old loop's interval and wake-up (a loop that
/// used to wait its plain interval after an error keeps doing so with
/// `.backoff(interval, interval)`):
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use messaging::tasks::{Pace, Progress, Wake, repeat};
///
/// # async fn sweep_once(_: &storage::Db) -> anyhow::Result<usize> { Ok(0) }
/// async fn sweeper(db: storage::Db, wake: Arc<tokio::sync::Notify>,
///                  shutdown: tokio::sync::watch::Receiver<bool>) {
///     let pace = Pace::polling(Duration::from_secs(2)).woken_by(Wake::Notify(wake));
///     repeat("sweep", shutdown, pace, || async {
///         let done = sweep_once(&db).await?;
///         Ok(if done == 100 { Progress::Busy } else { Progress::Idle })
///     })
///     .await
/// }
/// ```
pub async fn repeat<F, Fut>(name: &str, shutdown: watch::Receiver<bool>, pace: Pace, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Progress>>,
{
    let Pace {
        idle,
        mut wake,
        backoff_initial,
        backoff_max,
    } = pace;
    let mut delay = backoff_initial;
    while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
        match step().await {
            Ok(Progress::Busy) => delay = backoff_initial,
            Ok(Progress::Idle) => {
                delay = backoff_initial;
                tokio::select! {
                    _ = wake.woken() => {}
                    _ = tokio::time::sleep(idle) => {}
                    _ = stopped(&shutdown) => return,
                }
            }
            Err(e) => {
                tracing::warn!(
                    task = name,
                    error = format!("{e:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "{name} failed"
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(&shutdown) => return,
                }
                delay = delay.saturating_mul(2).min(backoff_max);
            }
        }
    }
}

/// Returns once `shutdown` is (or turns) true or its sender is gone.
async fn stopped(shutdown: &watch::Receiver<bool>) {
    let _ = shutdown.clone().wait_for(|stop| *stop).await;
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
    /// What a scripted step answers.
    #[derive(Clone, Copy, Debug)]
    enum Say {
        Busy,
        Idle,
        Fail,
    }

    /// Runs `repeat` over `script` (then `Idle` forever) and returns when each step started,
    /// as offsets from the start in ms, once `until` steps ran (the loop is then stopped).
    async fn steps(pace: Pace, script: &[Say], until: usize) -> Vec<u64> {
        let start = tokio::time::Instant::now();
        let (stop, shutdown) = watch::channel(false);
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut script = Vec::from(script).into_iter();
        let looping = {
            let times = times.clone();
            tokio::spawn(async move {
                repeat("scripted", shutdown, pace, move || {
                    times
                        .lock()
                        .unwrap()
                        .push(start.elapsed().as_millis() as u64);
                    let say = script.next().unwrap_or(Say::Idle);
                    async move {
                        match say {
                            Say::Busy => Ok(Progress::Busy),
                            Say::Idle => Ok(Progress::Idle),
                            Say::Fail => Err(anyhow::anyhow!("down")),
                        }
                    }
                })
                .await
            })
        };
        while times.lock().unwrap().len() < until {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stop.send(true).unwrap();
        looping.await.unwrap();
        let times = times.lock().unwrap().clone();
        times[..until].to_vec()
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_step_goes_again_at_once_and_an_idle_one_waits_the_interval() {
        let pace = Pace::polling(Duration::from_secs(2));
        let times = steps(pace, &[Say::Busy, Say::Busy, Say::Idle, Say::Idle], 5).await;
        assert_eq!(times, [0, 0, 0, 2000, 4000]);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_back_off_doubling_up_to_the_cap_and_a_success_starts_over() {
        let pace = Pace::polling(Duration::from_secs(60))
            .backoff(Duration::from_millis(100), Duration::from_millis(300));
        let script = [
            Say::Fail,
            Say::Fail,
            Say::Fail,
            Say::Fail,
            Say::Busy,
            Say::Fail,
            Say::Busy,
        ];
        let times = steps(pace, &script, 7).await;
        // Waits 100, 200, 300 (capped), 300; after the success 100 again.
        assert_eq!(times, [0, 100, 300, 600, 900, 900, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_loop_wakes_on_notify_and_keeps_a_wake_up_given_while_busy() {
        let wake = Arc::new(Notify::new());
        let (stop, shutdown) = watch::channel(false);
        let start = tokio::time::Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let looping = {
            let (times, wake) = (times.clone(), wake.clone());
            let pace = Pace::polling(Duration::from_secs(60)).woken_by(Wake::Notify(wake.clone()));
            tokio::spawn(repeat("woken", shutdown, pace, move || {
                let mut times = times.lock().unwrap();
                times.push(start.elapsed().as_millis() as u64);
                if times.len() == 1 {
                    // A wake-up arriving during the step.
                    wake.notify_one();
                }
                async { Ok(Progress::Idle) }
            }))
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        wake.notify_one();
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.send(true).unwrap();
        looping.await.unwrap();
        // At once (the kept wake-up), then at 5 s (woken), not at 60 s.
        assert_eq!(*times.lock().unwrap(), [0, 0, 5000]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_loop_wakes_on_a_change_and_polls_once_the_sender_is_gone() {
        let changes = watch::Sender::new(0u64);
        let pace =
            Pace::polling(Duration::from_secs(60)).woken_by(Wake::Changes(changes.subscribe()));
        let (stop, shutdown) = watch::channel(false);
        let start = tokio::time::Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let looping = {
            let times = times.clone();
            tokio::spawn(repeat("changes", shutdown, pace, move || {
                times
                    .lock()
                    .unwrap()
                    .push(start.elapsed().as_millis() as u64);
                async { Ok(Progress::Idle) }
            }))
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        changes.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(changes);
        tokio::time::sleep(Duration::from_secs(130)).await;
        stop.send(true).unwrap();
        looping.await.unwrap();
        // The closed channel is not a wake-up storm: then it polls every 60 s.
        assert_eq!(*times.lock().unwrap(), [0, 3000, 63000, 123000]);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_loop_promptly_even_mid_backoff() {
        let (stop, shutdown) = watch::channel(false);
        let steps = Arc::new(AtomicU32::new(0));
        let pace = Pace::polling(Duration::from_secs(60))
            .backoff(Duration::from_secs(3600), Duration::from_secs(3600));
        let looping = {
            let steps = steps.clone();
            tokio::spawn(repeat("failing", shutdown, pace, move || {
                steps.fetch_add(1, Ordering::SeqCst);
                async { Err(anyhow::anyhow!("down")) }
            }))
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        let asked = tokio::time::Instant::now();
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), looping)
            .await
            .expect("the loop waited out its backoff")
            .unwrap();
        assert_eq!(asked.elapsed(), Duration::ZERO);
        assert_eq!(steps.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_ends_when_the_shutdown_sender_is_gone() {
        let (stop, shutdown) = watch::channel(false);
        let looping = tokio::spawn(repeat(
            "orphan",
            shutdown,
            Pace::polling(Duration::from_secs(60)),
            || async { Ok(Progress::Idle) },
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(stop);
        tokio::time::timeout(Duration::from_secs(1), looping)
            .await
            .expect("the loop outlived its shutdown sender")
            .unwrap();
    }
}
