//! The circuit breaker in front of a partner: after `threshold` failed calls in a row it
//! opens and the caller stops calling (its work waits, to be done later) instead of piling
//! timeouts on a partner that is down; after `cool_down` one trial call goes through
//! (half-open): its success closes the breaker, its failure opens it again.
//!
//! Pure: the caller passes the time (a monotonic instant), so tests need no waiting.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are not made until the cool-down is over.
    Open,
    /// One trial call is allowed (or out): it decides.
    HalfOpen,
}

/// The breaker's rule and what it remembers.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: BreakerState,
    /// Failed calls in a row (while closed).
    failures: u32,
    opened_at: Option<Instant>,
    /// While half-open: whether the trial call is out.
    trial_out: bool,
    /// How often it opened since the process started.
    opened: u64,
    last_failure: Option<String>,
}

/// The breaker as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BreakerView {
    pub state: BreakerState,
    /// Failed calls in a row.
    pub consecutive_failures: u32,
    /// Failed calls in a row that open it.
    pub threshold: u32,
    /// How long it stays open before a trial call (ms).
    pub cool_down_ms: u64,
    /// While open: ms until a trial call may go.
    pub retry_in_ms: Option<u64>,
    /// How often it opened since this process started.
    pub opened_times: u64,
    /// What the last failed call got.
    pub last_failure: Option<String>,
}

impl Breaker {
    /// Closed; opens after `threshold` (at least 1) failures in a row, for `cool_down`.
    pub fn new(threshold: u32, cool_down: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cool_down,
            state: BreakerState::Closed,
            failures: 0,
            opened_at: None,
            trial_out: false,
            opened: 0,
            last_failure: None,
        }
    }

    /// May a call go out at `now`? While open, the first ask after the cool-down turns it
    /// half-open and is the trial; others wait for the trial's outcome.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                let over = self
                    .opened_at
                    .is_none_or(|at| now.saturating_duration_since(at) >= self.cool_down);
                if over {
                    self.state = BreakerState::HalfOpen;
                    self.trial_out = true;
                }
                over
            }
            BreakerState::HalfOpen => {
                if self.trial_out {
                    false
                } else {
                    self.trial_out = true;
                    true
                }
            }
        }
    }

    /// The call answered (a refusal is an answer too): closed, the count cleared.
    pub fn succeeded(&mut self) {
        self.state = BreakerState::Closed;
        self.failures = 0;
        self.trial_out = false;
        self.opened_at = None;
    }

    /// The call failed at `now` (timeout, 5xx, connection lost) with `why`: counted; open
    /// once the count reaches the threshold, or at once when it was the half-open trial.
    pub fn failed(&mut self, now: Instant, why: &str) {
        self.last_failure = Some(why.to_owned());
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => self.failures >= self.threshold,
            // A call allowed before it opened failed late: it stays open, cool-down anew.
            BreakerState::Open => true,
        };
        if open {
            if self.state != BreakerState::Open {
                self.opened += 1;
            }
            self.state = BreakerState::Open;
            self.opened_at = Some(now);
            self.trial_out = false;
        }
    }

    /// What admins see at `now`.
    pub fn view(&self, now: Instant) -> BreakerView {
        BreakerView {
            state: self.state,
            consecutive_failures: self.failures,
            threshold: self.threshold,
            cool_down_ms: self.cool_down.as_millis() as u64,
            retry_in_ms: match (self.state, self.opened_at) {
                (BreakerState::Open, Some(at)) => Some(
                    self.cool_down
                        .saturating_sub(now.saturating_duration_since(at))
                        .as_millis() as u64,
                ),
                _ => None,
            },
            opened_times: self.opened,
            last_failure: self.last_failure.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    fn opened(t0: Instant) -> Breaker {
        let mut b = Breaker::new(3, COOL);
        for _ in 0..3 {
            assert!(b.allow(t0));
            b.failed(t0, "timeout");
        }
        b
    }

    #[test]
    fn given_a_closed_breaker_when_calls_fail_below_the_threshold_then_calls_still_go() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, COOL);
        b.failed(t0, "timeout");
        b.failed(t0, "timeout");
        assert!(b.allow(t0));
        assert_eq!(b.view(t0).state, BreakerState::Closed);
        assert_eq!(b.view(t0).consecutive_failures, 2);
        // And a success clears the count: two more failures do not open it
        b.succeeded();
        b.failed(t0, "500");
        b.failed(t0, "500");
        assert_eq!(b.view(t0).state, BreakerState::Closed);
    }

    #[test]
    fn given_threshold_failures_in_a_row_then_it_opens_and_refuses_calls_until_the_cool_down() {
        // Given 3 failures in a row
        let t0 = Instant::now();
        let mut b = opened(t0);
        // Then it is open and no call goes for the cool-down
        let view = b.view(t0 + Duration::from_secs(10));
        assert_eq!(
            (view.state, view.retry_in_ms, view.opened_times),
            (BreakerState::Open, Some(20_000), 1)
        );
        assert_eq!(view.last_failure.as_deref(), Some("timeout"));
        assert!(!b.allow(t0 + Duration::from_secs(29)));
        // When the cool-down is over, then one trial goes (half-open) and nobody else
        assert!(b.allow(t0 + COOL));
        assert_eq!(b.view(t0 + COOL).state, BreakerState::HalfOpen);
        assert!(!b.allow(t0 + COOL));
    }

    #[test]
    fn given_a_half_open_breaker_when_the_trial_succeeds_then_it_closes() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        assert!(b.allow(t0 + COOL));
        b.succeeded();
        assert_eq!(b.view(t0 + COOL).state, BreakerState::Closed);
        assert!(b.allow(t0 + COOL));
        assert_eq!(b.view(t0 + COOL).consecutive_failures, 0);
    }

    #[test]
    fn given_a_half_open_breaker_when_the_trial_fails_then_it_opens_for_another_cool_down() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let t1 = t0 + COOL;
        assert!(b.allow(t1));
        b.failed(t1, "connection reset");
        let view = b.view(t1);
        assert_eq!((view.state, view.opened_times), (BreakerState::Open, 2));
        assert!(!b.allow(t1 + Duration::from_secs(29)));
        assert!(b.allow(t1 + COOL));
    }
}
