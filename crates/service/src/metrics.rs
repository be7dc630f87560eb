//! Prometheus metrics of a process: `GET /metrics` (public, like `/health`), the HTTP
//! figures of every route, and the messaging gauges read when scraped.
//!
//! The code of every crate records with the `metrics` facade (`metrics::counter!` and
//! friends); [`install`] makes the process's Prometheus recorder the facade's target, once
//! per process. The recorder is process-wide on purpose: one process (all nine contexts
//! embedded, or a few distributed) answers one `/metrics`, every series labelled with its
//! `service`. Where nothing installed it (unit and in-process tests) recording is a no-op.
//!
//! What is read rather than counted (outbox backlog and age, pending dead letters, each
//! consumer's lag) is read per service by its [`Probe`] when `/metrics` is asked, so the
//! figures are as fresh as the scrape and cost nothing between scrapes.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use messaging::Bus;
use messaging::bus::Subscription;
use messaging::stats::{self, MessagingStats};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use storage::Db;

/// Histogram buckets in seconds, for durations of work done here (requests, handlers,
/// partner calls, decisions): 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of an event's age when applied (its lag): 10 ms to an hour.
const AGE_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// How long a scrape waits for one service's probe before answering without it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed as the `metrics` facade's target on the first call;
/// later calls return the same handle (several systems started in one test process share
/// it).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("mcf_consumer_event_age_seconds".into()),
                        AGE_BUCKETS,
                    )
                })
                .expect("the buckets are fixed and not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first: /metrics stays empty"
                );
            }
            describe();
            handle
        })
        .clone()
}

/// What each series means (the `# HELP` lines).
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "mcf_http_requests_total",
        "HTTP requests answered, by service, method, route template and status"
    );
    describe_histogram!(
        "mcf_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (until the response's head), by route template"
    );
    describe_counter!(
        "mcf_outbox_relayed_events_total",
        "Events the relay published from the service's outbox to the bus"
    );
    describe_gauge!(
        "mcf_outbox_pending_events",
        "Events committed to the outbox and not yet acknowledged by the bus"
    );
    describe_gauge!(
        "mcf_outbox_oldest_pending_age_seconds",
        Unit::Seconds,
        "How long the oldest unpublished outbox event has waited (0 when none waits)"
    );
    describe_counter!(
        "mcf_consumer_events_total",
        "Deliveries handled per consumer, by outcome (applied, duplicate, retried, dead_lettered)"
    );
    describe_histogram!(
        "mcf_consumer_processing_seconds",
        Unit::Seconds,
        "Time a consumer's handler took to apply an event (inbox row included, commit not)"
    );
    describe_histogram!(
        "mcf_consumer_event_age_seconds",
        Unit::Seconds,
        "From an event's creation to its consumer applying it"
    );
    describe_gauge!(
        "mcf_consumer_pending_events",
        "Events the bus holds for a consumer that it has not acknowledged (its lag)"
    );
    describe_counter!(
        "mcf_dead_letters_total",
        "Events parked in the dead-letter table after failing their consumer"
    );
    describe_gauge!("mcf_dead_letters_pending", "Dead letters not yet replayed");
    describe_counter!(
        "mcf_metrics_probe_failures_total",
        "Scrapes that could not read a service's messaging figures (database or bus down)"
    );
}

/// Moves the histograms' recorded samples into their buckets every few seconds until
/// `shutdown`: without it samples pile up in memory while nobody scrapes.
pub async fn upkeep(handle: PrometheusHandle, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// The HTTP methods counted by name; anything else is `other`, so a caller inventing
/// methods cannot add series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware counting and timing every request of `service`'s routes by route template
/// (the declared path, never the raw one with its ids). Added with `route_layer`, so it
/// sees only requests that matched a route: its template is known.
pub async fn track(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    metrics::counter!("mcf_http_requests_total",
        "service" => service, "method" => method, "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("mcf_http_request_duration_seconds",
        "service" => service, "method" => method, "route" => route)
    .record(elapsed);
    response
}

/// Adds [`track`] to every route of `router`, labelled `service`.
pub fn tracked(router: axum::Router, service: &'static str) -> axum::Router {
    router.route_layer(axum::middleware::from_fn_with_state(service, track))
}

/// Reads one service's messaging figures for a scrape and for `GET /ops/messaging`: its
/// database's outbox and dead letters, and the bus's lag of each consumer the service runs
/// in this process.
#[derive(Clone)]
pub struct Probe {
    service: &'static str,
    db: Db,
    bus: Bus,
    subscriptions: Arc<Mutex<Vec<Subscription>>>,
}

impl Probe {
    /// The probe of `service` on `db` and `bus`, for the consumers in `subscriptions`
    /// (shared with the context that adds them as it makes its consumer tasks).
    pub fn new(
        service: &'static str,
        db: Db,
        bus: Bus,
        subscriptions: Arc<Mutex<Vec<Subscription>>>,
    ) -> Probe {
        Probe {
            service,
            db,
            bus,
            subscriptions,
        }
    }

    /// The service it reads.
    pub fn service(&self) -> &'static str {
        self.service
    }

    fn subscriptions(&self) -> Vec<Subscription> {
        // Only ever pushed to whole: a poisoned lock still holds a valid list.
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Each consumer's pending events (see `messaging::Bus::pending`), by consumer.
    pub async fn consumer_pending(
        &self,
    ) -> Result<std::collections::BTreeMap<String, u64>, messaging::BusError> {
        let mut pending = std::collections::BTreeMap::new();
        for sub in self.subscriptions() {
            let n = self.bus.pending(&sub).await?;
            pending.insert(sub.consumer, n);
        }
        Ok(pending)
    }

    /// The outbox backlog, pending dead letters and consumer lag, as metric gauges.
    pub async fn record(&self) {
        let read = async {
            let backlog = stats::backlog(&self.db).await?;
            let pending = self.consumer_pending().await?;
            anyhow::Ok((backlog, pending))
        };
        let (backlog, pending) = match tokio::time::timeout(PROBE_TIMEOUT, read).await {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => return self.failed(&e.to_string()),
            Err(_) => return self.failed("timed out"),
        };
        let service = self.service;
        metrics::gauge!("mcf_outbox_pending_events", "service" => service)
            .set(backlog.outbox_pending as f64);
        metrics::gauge!("mcf_outbox_oldest_pending_age_seconds", "service" => service)
            .set(backlog.outbox_oldest_pending_ms.unwrap_or(0) as f64 / 1000.0);
        metrics::gauge!("mcf_dead_letters_pending", "service" => service)
            .set(backlog.dead_letters_pending as f64);
        for (consumer, n) in pending {
            metrics::gauge!("mcf_consumer_pending_events", "service" => service, "consumer" => consumer)
                .set(n as f64);
        }
    }

    fn failed(&self, why: &str) {
        tracing::warn!(
            service = self.service,
            error = why,
            "metrics: cannot read messaging figures"
        );
        metrics::counter!("mcf_metrics_probe_failures_total", "service" => self.service)
            .increment(1);
    }

    /// `GET /ops/messaging`'s answer: the database's counters and each consumer's lag.
    pub async fn stats(&self) -> anyhow::Result<MessagingStats> {
        let mut stats = stats::read(&self.db).await?;
        stats.consumer_pending = self.consumer_pending().await?;
        Ok(stats)
    }
}

/// `GET /metrics`: the process's figures in Prometheus' text format, the probes read first
/// (all at once, each bounded by a timeout).
pub fn router(handle: PrometheusHandle, probes: Vec<Probe>) -> axum::Router {
    let probes: Arc<[Probe]> = probes.into();
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (handle, probes) = (handle.clone(), probes.clone());
            async move {
                let mut reads = tokio::task::JoinSet::new();
                for probe in probes.iter() {
                    let probe = probe.clone();
                    reads.spawn(async move { probe.record().await });
                }
                while reads.join_next().await.is_some() {}
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn call(router: &axum::Router, method: Method, path: &str) -> StatusCode {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap().status()
    }

    /// The process-wide recorder is not installed here: a recorder of this test's own,
    /// made the default of this (current-thread) runtime's only thread.
    #[tokio::test]
    async fn requests_are_counted_by_route_template_with_bounded_labels() {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        let _local = metrics::set_default_local_recorder(&recorder);
        let router = tracked(
            axum::Router::new().route("/things/{id}", axum::routing::get(|| async { "thing" })),
            "things",
        );
        assert_eq!(
            call(&router, Method::GET, "/things/123").await,
            StatusCode::OK
        );
        assert_eq!(
            call(&router, Method::GET, "/things/456").await,
            StatusCode::OK
        );
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(
            call(&router, invented, "/things/1").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            call(&router, Method::GET, "/nope").await,
            StatusCode::NOT_FOUND
        );

        let text = handle.render();
        assert!(
            text.contains(
                r#"mcf_http_requests_total{service="things",method="GET",route="/things/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"mcf_http_requests_total{service="things",method="other",route="/things/{id}",status="405"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"mcf_http_request_duration_seconds_count{service="things",method="GET",route="/things/{id}"} 2"#
            ),
            "{text}"
        );
        // Never the raw path, and nothing for a path that matched no route.
        assert!(
            !text.contains("/things/1") && !text.contains("/things/4") && !text.contains("BREW"),
            "{text}"
        );
        assert!(!text.contains("/nope"), "{text}");
    }
}
