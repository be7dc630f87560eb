//! Logs and traces of one process: `tracing` spans become OpenTelemetry spans (exported over
//! OTLP/HTTP when `telemetry.otlp_endpoint` is set), and JSON log lines name the trace they
//! belong to.
//!
//! The OpenTelemetry layer is installed even when nothing is exported: it gives every request
//! and every handled event a trace context, which the envelope and outgoing calls carry on
//! (`telemetry` crate), so the trace id in the logs of every service names the same order.
//! Without an endpoint its sampler records nothing, which keeps its cost to the layer's own
//! bookkeeping.

use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing::dispatcher::WeakDispatch;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::Config;

/// The path OTLP/HTTP receivers take traces at, below `telemetry.otlp_endpoint`.
pub const TRACES_PATH: &str = "/v1/traces";

/// The process's tracer provider, kept to flush the last spans at shutdown.
pub struct Telemetry {
    provider: SdkTracerProvider,
    /// The longest the last export may take (`telemetry.export_timeout_ms`).
    flush_within: std::time::Duration,
}

impl Telemetry {
    /// Exports the spans still queued, waiting for the exporter at most
    /// `telemetry.export_timeout_ms` (so not on an async worker).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(self.flush_within) {
            eprintln!("mcf: traces not flushed at shutdown: {e}");
        }
    }
}

/// The `service.name` of this process's spans: `mcf` for the whole system in one process
/// (each span names its service in its `service` attribute), `mcf-<service>` for a process
/// serving one, `mcf-<a>+<b>` for several.
pub fn service_name(services: &[String]) -> String {
    if services.is_empty() {
        "mcf".to_owned()
    } else {
        format!("mcf-{}", services.join("+"))
    }
}

/// Installs the process's subscriber: log lines to stderr (`log.format`, filtered by
/// `RUST_LOG` or `log.level`) and spans to OpenTelemetry (filtered by `telemetry.filter`,
/// exported to `telemetry.otlp_endpoint` when set). Call once, at start.
pub fn init(config: &Config, service_name: &str) -> anyhow::Result<Telemetry> {
    let mut provider = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service_name.to_owned())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let endpoint = config.telemetry.otlp_endpoint.trim_end_matches('/');
    if endpoint.is_empty() {
        // Trace ids for propagation and the logs, nothing recorded.
        provider = provider.with_sampler(Sampler::AlwaysOff);
    } else {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{endpoint}{TRACES_PATH}"))
            .with_timeout(std::time::Duration::from_millis(
                config.telemetry.export_timeout_ms,
            ))
            .build()
            .map_err(|e| anyhow::anyhow!("telemetry.otlp_endpoint: {e}"))?;
        // Batched on the SDK's own thread, so a slow or absent collector never holds up a
        // request; a full queue drops spans rather than memory growing without bound.
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let log_filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .map_err(|e| anyhow::anyhow!("log.level: {e}"))?;
    let span_filter = EnvFilter::try_new(&config.telemetry.filter)
        .map_err(|e| anyhow::anyhow!("telemetry.filter: {e}"))?;
    // Colour codes only for a person at a terminal: in files, journald or a log collector
    // they are noise that breaks searching.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let json = WithTraceId::new(tracing_subscriber::fmt::format().json());
    let subscriber = json.subscriber.clone();
    let logs: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync> =
        if config.log.format == "json" {
            Box::new(logs.json().event_format(json).with_filter(log_filter))
        } else {
            Box::new(logs.with_filter(log_filter))
        };
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("mcf"))
        // Thread names and ids say nothing about an async request.
        .with_threads(false)
        .with_filter(span_filter);
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    tracing::dispatcher::get_default(|installed| subscriber.set(installed.downgrade()))
        .map_err(|_| anyhow::anyhow!("logging: initialised twice"))?;
    Ok(Telemetry {
        provider,
        flush_within: std::time::Duration::from_millis(config.telemetry.export_timeout_ms),
    })
}

/// A JSON event format whose lines start with the `trace_id` and `span_id` of the span they
/// were written in (when there is one), as log collectors expect them: at the top level,
/// so a search for a trace id finds every line of the order in every service's log.
pub struct WithTraceId<F> {
    inner: F,
    /// The subscriber this format writes for, set once it is installed: a formatter runs
    /// inside the subscriber's callback, where `tracing` hands out no subscriber.
    pub subscriber: Arc<OnceLock<WeakDispatch>>,
}

impl<F> WithTraceId<F> {
    /// Wraps the JSON format `inner`; set [`WithTraceId::subscriber`] once installed.
    pub fn new(inner: F) -> Self {
        WithTraceId {
            inner,
            subscriber: Arc::default(),
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        // Read before formatting: the formatter below reads the spans' extensions too.
        let ids = self
            .subscriber
            .get()
            .and_then(WeakDispatch::upgrade)
            .and_then(|dispatch| telemetry::current_ids_in(&dispatch));
        let Some((trace_id, span_id)) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_in_a_span_name_its_trace_and_others_do_not() {
        let sink = Sink::default();
        let writer = sink.clone();
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .build();
        let json = WithTraceId::new(tracing_subscriber::fmt::format().json());
        let installed = json.subscriber.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(json)
                    .with_writer(move || writer.clone()),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let dispatch = tracing::Dispatch::new(subscriber);
        installed.set(dispatch.downgrade()).unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("before any request");
            let span = tracing::info_span!("request", service = "ordering");
            telemetry::continue_trace(
                &span,
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            );
            let _in = span.enter();
            tracing::warn!(order_id = 7, "in the request");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].get("trace_id").is_none(), "{out}");
        assert_eq!(lines[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        let span_id = lines[1]["span_id"].as_str().unwrap();
        assert_eq!(span_id.len(), 16);
        assert_ne!(span_id, "00f067aa0ba902b7", "the request's own span");
        assert_eq!(lines[1]["fields"]["order_id"], 7);
        assert_eq!(lines[1]["span"]["service"], "ordering");
    }

    #[test]
    fn a_process_is_named_after_what_it_serves() {
        assert_eq!(service_name(&[]), "mcf");
        assert_eq!(service_name(&["ordering".into()]), "mcf-ordering");
        assert_eq!(
            service_name(&["billing".into(), "mail".into()]),
            "mcf-billing+mail"
        );
    }
}
