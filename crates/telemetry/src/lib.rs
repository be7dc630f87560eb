//! The W3C trace context between MCF's services, so one order is one trace: the context of
//! the span that is running goes out with every event put in an outbox and every call to
//! another service, and the span that handles an incoming event or request continues it.
//!
//! This crate only reads and writes the context of `tracing` spans through the
//! OpenTelemetry layer (`tracing-opentelemetry`). Whether that layer is installed, and
//! where its spans are exported, is the binary's business: without it (unit tests, tools)
//! [`current_traceparent`] answers `None` and [`continue_trace`] does nothing, so callers
//! keep whatever trace context they had.
//!
//! The `traceparent` text is read and written here rather than with the SDK's propagator,
//! which would pull the whole SDK into every shared crate for some forty lines.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::{LookupSpan, SpanData};

/// The HTTP header (and envelope field) carrying the trace context, per W3C Trace Context.
pub const TRACEPARENT: &str = "traceparent";

/// The `traceparent` of the current span: `None` when no span is running or the
/// OpenTelemetry layer is not installed.
pub fn current_traceparent() -> Option<String> {
    current().map(|sc| format(&sc))
}

/// The trace id and span id (32 and 16 lowercase hex digits) of the current span, for log
/// lines: `None` as for [`current_traceparent`].
pub fn current_ids() -> Option<(String, String)> {
    tracing::dispatcher::get_default(current_ids_in)
}

/// [`current_ids`] of the subscriber `dispatch`, for code that runs inside one of its
/// callbacks (a log line's formatter), where the thread's default subscriber is a no-op
/// while a scoped one dispatches (`tracing` guards against re-entry so).
pub fn current_ids_in(dispatch: &tracing::Dispatch) -> Option<(String, String)> {
    context_in(dispatch).map(|sc| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

fn current() -> Option<SpanContext> {
    tracing::dispatcher::get_default(context_in)
}

/// The context of `dispatch`'s current span, or else of its nearest ancestor the
/// OpenTelemetry layer tracks: a span it filtered out (a `debug` span while it takes `info`,
/// such as tower-http's request span) has no context of its own, and what happens inside it
/// belongs to the trace of the span around it. That holds also where the outer span is not
/// entered (a response body sent after the handler's span ended), so the walk goes by the
/// registry's parent links rather than by which spans are entered.
fn context_in(dispatch: &tracing::Dispatch) -> Option<SpanContext> {
    let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
    let mut id = dispatch.current_span().id()?.clone();
    loop {
        if let Some(cx) = tracing_opentelemetry::get_otel_context(&id, dispatch) {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                return Some(sc.clone());
            }
        }
        // The registry's data of a span is held only while its parent is read.
        id = registry.span_data(&id)?.parent()?.clone();
    }
}

/// Makes `span` continue the trace of `traceparent` (an incoming event's or request's):
/// its parent becomes that remote span. Call it before the span is first entered; a
/// missing or malformed `traceparent` leaves the span where it was (a new trace, or the
/// current one). Answers whether the parent was set.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) -> bool {
    let Some(parent) = traceparent.and_then(parse) else {
        return false;
    };
    let cx = opentelemetry::Context::new().with_remote_span_context(parent);
    span.set_parent(cx).is_ok()
}

/// Reads a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`): `None` unless it is
/// well formed with a non-zero trace and parent id. A future version's longer value is
/// read by its first four fields, as the recommendation asks.
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let parent = parts.next()?;
    let flags = parts.next()?;
    let rest = parts.next();
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !hex(version, 2) || version == "ff" || !hex(trace, 32) || !hex(parent, 16) {
        return None;
    }
    if !hex(flags, 2) || (version == "00" && rest.is_some()) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(parent).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let sc = SpanContext::new(
        trace_id,
        span_id,
        // Only the sampled bit is defined; the others are not passed on.
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    sc.is_valid().then_some(sc)
}

/// Writes `sc` as a version-00 `traceparent`.
pub fn format(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_reads_and_writes_back_the_same() {
        let sc = parse(GOOD).unwrap();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_sampled() && sc.is_remote());
        assert_eq!(format(&sc), GOOD);
        let unsampled = GOOD.replace("-01", "-00");
        assert!(!parse(&unsampled).unwrap().is_sampled());
        // Undefined flag bits are dropped; a later version's extra field is ignored.
        assert_eq!(format(&parse(&GOOD.replace("-01", "-ff")).unwrap()), GOOD);
        assert!(parse(&format!("{}-what-next", GOOD.replacen("00", "01", 1))).is_some());
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn without_the_layer_nothing_is_read_or_set() {
        let span = tracing::info_span!("alone");
        assert!(!continue_trace(&span, Some(GOOD)));
        let _in = span.enter();
        assert_eq!(current_traceparent(), None);
        assert_eq!(current_ids(), None);
    }

    #[test]
    fn a_span_continues_the_incoming_trace_and_passes_on_its_own_span() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        // Logs take every span, traces only `info` ones (as the binary may set them).
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("test"))
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle");
            assert!(continue_trace(&span, Some(GOOD)));
            let _in = span.enter();
            let out = parse(&current_traceparent().unwrap()).unwrap();
            assert_eq!(
                out.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_ne!(out.span_id().to_string(), "00f067aa0ba902b7");
            assert!(out.is_sampled());
            assert_eq!(
                current_ids(),
                Some((out.trace_id().to_string(), out.span_id().to_string()))
            );
            // A child of it stays in the trace.
            let child = tracing::info_span!("inner");
            let _in = child.enter();
            let inner = parse(&current_traceparent().unwrap()).unwrap();
            assert_eq!(inner.trace_id(), out.trace_id());
            assert_ne!(inner.span_id(), out.span_id());
            // A span the layer does not see (filtered out) is inside the one around it.
            let unseen = tracing::debug_span!("unseen");
            let _in = unseen.enter();
            assert!(
                tracing::Span::current()
                    .context()
                    .span()
                    .span_context()
                    .trace_id()
                    == opentelemetry::trace::TraceId::INVALID,
                "not seen by the layer"
            );
            assert_eq!(
                current_ids().map(|(trace, _)| trace),
                Some(out.trace_id().to_string())
            );
            // Nor is it when the span around it is not entered (a response body sent after
            // its handler's span was left): on another thread, nothing else entered.
            let later = tracing::debug_span!(parent: &span, "body");
            let dispatch = tracing::dispatcher::get_default(Clone::clone);
            std::thread::scope(|s| {
                s.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let _in = later.enter();
                        assert!(!opentelemetry::Context::current().has_active_span());
                        assert_eq!(
                            current_ids().map(|(trace, _)| trace),
                            Some(out.trace_id().to_string())
                        );
                    })
                })
                .join()
                .unwrap();
            });
            // Without an incoming context, a new trace starts.
            let fresh = tracing::info_span!(parent: None, "fresh");
            assert!(!continue_trace(&fresh, Some("garbage")));
            let _in = fresh.enter();
            let own = parse(&current_traceparent().unwrap()).unwrap();
            assert_ne!(own.trace_id(), out.trace_id());
        });
    }
}
