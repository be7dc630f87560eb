//! Calls to partners outside MCF (the fortune-cookie contractor, the bank), as I/O at a
//! service's edge: each attempt has a timeout; timeouts, 5xx, 408, 429 and lost connections
//! are retried with doubling pauses (the same request: partners are called with an
//! `Idempotency-Key`, so a retry does nothing twice); a refusal (another 4xx) is not. A
//! [`Breaker`] stops the calls while the partner keeps failing, and admins see it
//! ([`BreakerView`]).
//!
//! A service wraps a [`Partner`] in its own client that names the partner's requests.

pub mod breaker;

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use breaker::{Breaker, BreakerState, BreakerView};

/// The longest pause between two attempts, however many there are.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How a partner is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Each attempt's timeout (and the connection's).
    pub timeout: Duration,
    /// Attempts per call (at least 1).
    pub attempts: u32,
    /// The first pause between attempts (doubling, at most 10 s).
    pub backoff: Duration,
    /// Failed calls in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before a trial call.
    pub breaker_cool_down: Duration,
}

/// Why a call did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The partner answered no (4xx, its `status` and problem `code` if it sent one):
    /// trying again would get the same.
    #[error("refused: {why}")]
    Refused {
        status: u16,
        code: Option<String>,
        why: String,
    },
    /// No usable answer after every attempt (timeouts, 5xx, lost connections): the request
    /// may or may not have been carried out.
    #[error("no answer after {attempts} attempts; last: {last}")]
    Unavailable { attempts: u32, last: String },
    /// The breaker is open: no call was made.
    #[error("calls paused after repeated failures (circuit open)")]
    CircuitOpen,
}

/// One attempt's outcome.
enum Attempt<T> {
    Done(T),
    Refused(u16, Option<String>, String),
    Failed(String),
}

/// A partner's HTTP client with its retries and breaker.
pub struct Partner {
    name: &'static str,
    http: reqwest::Client,
    attempts: u32,
    backoff: Duration,
    breaker: Mutex<Breaker>,
}

impl Partner {
    /// The client of partner `name` (for logs) called as `settings` say.
    pub fn new(name: &'static str, settings: &Settings) -> Result<Partner, reqwest::Error> {
        Ok(Partner {
            name,
            http: reqwest::Client::builder()
                .timeout(settings.timeout)
                .connect_timeout(settings.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            attempts: settings.attempts.max(1),
            backoff: settings.backoff,
            breaker: Mutex::new(Breaker::new(
                settings.breaker_failures,
                settings.breaker_cool_down,
            )),
        })
    }

    /// The HTTP client requests are built with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // Every change of the breaker is a few assignments: a panic elsewhere cannot leave
        // it half-changed.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The breaker as admins see it now.
    pub fn breaker_view(&self) -> BreakerView {
        self.breaker().view(Instant::now())
    }

    /// Sends the request `make` builds, attempt after attempt (the same request, the same
    /// key) with doubling pauses, while the breaker lets it: the answer's JSON body.
    ///
    /// Counted in `mcf_partner_calls_total{partner, outcome}` (`ok`, `refused`,
    /// `unavailable`, `circuit_open`) and timed, retries included, in
    /// `mcf_partner_call_duration_seconds{partner}`; each failed attempt in
    /// `mcf_partner_failed_attempts_total{partner}`.
    pub async fn call<T, F>(&self, make: F) -> Result<T, CallError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let started = Instant::now();
        let result = self.call_with_retries(make).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(CallError::Refused { .. }) => "refused",
            Err(CallError::Unavailable { .. }) => "unavailable",
            Err(CallError::CircuitOpen) => "circuit_open",
        };
        metrics::counter!("mcf_partner_calls_total", "partner" => self.name, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("mcf_partner_call_duration_seconds", "partner" => self.name)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn call_with_retries<T, F>(&self, make: F) -> Result<T, CallError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut pause = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            if !self.breaker().allow(Instant::now()) {
                return Err(if attempt == 1 {
                    CallError::CircuitOpen
                } else {
                    CallError::Unavailable {
                        attempts: attempt - 1,
                        last: format!("{last}; then the circuit opened"),
                    }
                });
            }
            match Self::attempt(make()).await {
                Attempt::Done(answer) => {
                    self.breaker().succeeded();
                    return Ok(answer);
                }
                Attempt::Refused(status, code, why) => {
                    // The partner is up and answered: not a failure of the line.
                    self.breaker().succeeded();
                    return Err(CallError::Refused { status, code, why });
                }
                Attempt::Failed(why) => {
                    metrics::counter!("mcf_partner_failed_attempts_total", "partner" => self.name)
                        .increment(1);
                    tracing::debug!(partner = self.name, attempt, error = %why, "partner call failed");
                    self.breaker().failed(Instant::now(), &why);
                    last = why;
                }
            }
            if attempt < self.attempts {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
        Err(CallError::Unavailable {
            attempts: self.attempts,
            last,
        })
    }

    async fn attempt<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Attempt<T> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Attempt::Failed("timed out".into()),
            Err(e) if e.is_connect() => {
                return Attempt::Failed(format!("cannot connect: {}", source_of(&e)));
            }
            Err(e) => return Attempt::Failed(format!("connection lost: {}", source_of(&e))),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => return Attempt::Failed("timed out".into()),
            Err(e) => return Attempt::Failed(format!("connection lost: {}", source_of(&e))),
        };
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            let (code, why) = detail(status, &body);
            return Attempt::Refused(status.as_u16(), code, why);
        }
        if !status.is_success() {
            return Attempt::Failed(detail(status, &body).1);
        }
        match serde_json::from_slice(&body) {
            Ok(answer) => Attempt::Done(answer),
            // The same request is answered the same (the key): maybe a proxy mangled it.
            Err(e) => Attempt::Failed(format!("{status} with an unreadable body: {e}")),
        }
    }
}

/// The innermost cause of a transport error (reqwest's own text says only "error sending
/// request").
fn source_of(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// A refusal's or failure's problem `code` and words: the status and the problem's detail
/// if it sent one.
fn detail(status: reqwest::StatusCode, body: &[u8]) -> (Option<String>, String) {
    let problem = serde_json::from_slice::<serde_json::Value>(body).ok();
    let field = |name: &str| {
        problem
            .as_ref()
            .and_then(|v| v.get(name).and_then(|d| d.as_str()).map(str::to_owned))
    };
    let why = match field("detail") {
        Some(detail) => format!("{} ({detail})", status.as_u16()),
        None => status.to_string(),
    };
    (field("code"), why)
}
