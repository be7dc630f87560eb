//! Traces and logs (issue 20): every process exports its spans over OTLP/HTTP to a receiver
//! in this test, and one order is one trace: the client's request at Ordering, Matching's
//! handling of it, Ordering's activation, then Inventory, Billing and Mail, each span's
//! parent found in the same trace. JSON log lines inside a request name its trace id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use contracts::OrderId;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

use crate::harness::{Cluster, Mode, poll_until};
use crate::lifecycle::{order, wait_status, worker};

/// One span as a collector received it.
#[derive(Debug, Clone)]
struct Exported {
    /// The exporting process's `service.name`.
    process: String,
    name: String,
    trace_id: String,
    span_id: String,
    /// Empty for a trace's root.
    parent: String,
    attributes: BTreeMap<String, String>,
}

impl Exported {
    fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

/// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf), as an OpenTelemetry Collector
/// offers it: keeps every span it is sent.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Exported>>>,
    task: tokio::task::JoinHandle<()>,
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<Exported>>>>,
    body: Bytes,
) -> axum::response::Response {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let process = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(Exported {
                    process: process.clone(),
                    name: span.name,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent: hex::encode(&span.parent_span_id),
                    attributes: attributes(&span.attributes),
                });
            }
        }
    }
    spans.lock().unwrap().extend(received);
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

impl Receiver {
    async fn start() -> Receiver {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, spans, task }
    }

    fn spans(&self) -> Vec<Exported> {
        self.spans.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The services whose work for an order must be in its trace.
const ALONG_THE_ORDER: [&str; 5] = ["ordering", "matching", "inventory", "billing", "mail"];

/// The trace of the client's `POST /orders` that created `order`: its spans, once every
/// service along the order has exported its part.
async fn trace_of(receiver: &Receiver, order: OrderId) -> Vec<Exported> {
    poll_until(
        Duration::from_secs(60),
        &format!("the trace of order {order}"),
        || async {
            let spans = receiver.spans();
            // Matching's handling of the request names the order; its trace is the order's.
            let trace = spans
                .iter()
                .find(|s| {
                    s.attr("consumer") == "matching.on-order-requested"
                        && s.attr("aggregate_id") == order.to_string()
                })
                .map(|s| s.trace_id.clone())
                .ok_or("Matching's span of the order not exported yet")?;
            let trace: Vec<Exported> = spans.into_iter().filter(|s| s.trace_id == trace).collect();
            let services: BTreeSet<&str> = trace.iter().map(|s| s.attr("service")).collect();
            let missing: Vec<&str> = ALONG_THE_ORDER
                .into_iter()
                .filter(|s| !services.contains(s))
                .collect();
            if !missing.is_empty() {
                return Err(format!("no span of {missing:?} yet in {services:?}"));
            }
            // Every parent exported too (a span is exported when it ends).
            let ids: BTreeSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
            if let Some(orphan) = trace
                .iter()
                .find(|s| !s.parent.is_empty() && !ids.contains(s.parent.as_str()))
            {
                return Err(format!("the parent of {orphan:?} not exported yet"));
            }
            Ok(trace)
        },
    )
    .await
}

pub async fn one_trace_per_order_across_the_services(mode: Mode) {
    // Given a system whose processes export their spans here and log JSON (the requests'
    // debug lines of tower-http, so a request's log has a line inside its span)
    let receiver = Receiver::start().await;
    let mut c = Cluster::start_with(
        mode,
        vec![
            ("MCF_TELEMETRY__OTLP_ENDPOINT".into(), receiver.url.clone()),
            // Export every 100 ms instead of every 5 s (the SDK's standard variable).
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
            ("MCF_LOG__FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "warn,tower_http=debug".into()),
        ],
        None,
    )
    .await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    worker(&mut c, "tom", 90).await;
    // Ordering knows Kim's address before her orders: each activation mails her.
    c.settle().await;

    // When Kim orders twice and both orders become active
    let at = Utc::now() + chrono::Duration::hours(3);
    let first = order(&mut c, &kim, service_type, at).await;
    let second = order(&mut c, &kim, service_type, at + chrono::Duration::hours(2)).await;
    wait_status(&mut c, first, "active").await;
    wait_status(&mut c, second, "active").await;

    // Then each order is one trace, rooted at Kim's request to Ordering
    let mut roots = Vec::new();
    for id in [first, second] {
        let trace = trace_of(&receiver, id).await;
        let described = format!("{trace:#?}");
        let root: Vec<&Exported> = trace.iter().filter(|s| s.parent.is_empty()).collect();
        assert_eq!(root.len(), 1, "one root: {described}");
        let root = root[0];
        assert_eq!(
            (
                root.name.as_str(),
                root.attr("service"),
                root.attr("http.request.method"),
                root.attr("url.path"),
            ),
            ("request", "ordering", "POST", "/api/ordering/orders"),
            "{described}"
        );
        // which reaches every service along the order, each of its spans under another
        // of the same trace (checked by trace_of), by the events each one handled
        let handled = |service: &str| -> BTreeSet<&str> {
            trace
                .iter()
                .filter(|s| s.name == "event" && s.attr("service") == service)
                .map(|s| s.attr("event_type"))
                .collect()
        };
        assert!(
            handled("matching").contains("ordering.order.requested"),
            "{described}"
        );
        assert!(
            handled("ordering")
                .iter()
                .any(|t| t.starts_with("matching.")),
            "{described}"
        );
        for service in ["inventory", "billing"] {
            assert!(
                handled(service).contains("ordering.order.activated"),
                "{service}: {described}"
            );
        }
        assert!(
            handled("mail").contains("ordering.mail.requested"),
            "{described}"
        );
        // Matching handled the order's request event under Ordering's request span (the
        // event carried its context); every other span hangs below it in the tree.
        let by_id: BTreeMap<&str, &Exported> =
            trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
        for span in &trace {
            let mut at = span;
            let mut hops = 0;
            while !at.parent.is_empty() {
                at = by_id[at.parent.as_str()];
                hops += 1;
                assert!(hops <= trace.len(), "a cycle: {described}");
            }
            assert_eq!(at.span_id, root.span_id, "{described}");
        }
        if mode == Mode::Distributed {
            // Each process names itself after the service it serves.
            for span in trace.iter().filter(|s| !s.attr("service").is_empty()) {
                assert_eq!(
                    span.process,
                    format!("mcf-{}", span.attr("service")),
                    "{span:?}"
                );
            }
        } else {
            assert!(trace.iter().all(|s| s.process == "mcf"), "{described}");
        }
        let mut per_service = BTreeMap::<&str, usize>::new();
        for span in &trace {
            *per_service.entry(span.attr("service")).or_default() += 1;
        }
        eprintln!(
            "order {id}: trace {} of {} spans, per service {per_service:?}",
            root.trace_id,
            trace.len()
        );
        roots.push(root.trace_id.clone());
    }
    assert_ne!(roots[0], roots[1], "two orders, two traces");

    // And Ordering's JSON log lines of Kim's request name its trace
    let log = c.log(match mode {
        Mode::Embedded => "embedded",
        Mode::Distributed => "ordering",
    });
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!lines.is_empty(), "JSON lines in {log}");
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("tower_http"))
        })
        .collect();
    assert!(!requests.is_empty(), "request lines in {log}");
    for line in &requests {
        let trace = line["trace_id"].as_str().unwrap_or_default();
        assert_eq!(
            trace.len(),
            32,
            "every request's line names its trace: {line}"
        );
    }
    for trace in &roots {
        assert!(
            requests
                .iter()
                .any(|l| l["trace_id"] == trace.as_str()
                    && l["span"]["uri"] == "/api/ordering/orders"),
            "a line of the order's request with trace id {trace} in {log}"
        );
    }
}
