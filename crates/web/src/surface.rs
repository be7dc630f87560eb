//! The layers every MCF HTTP listener wears, applied once where services are composed:
//! problem+json for whatever is refused before a handler runs (unknown route, wrong method,
//! a stray plain-text rejection), a panicking handler answered with a logged 500 instead of a
//! dropped connection, `Connection: close` when a request body was left unread (so a client
//! is told the connection ends instead of finding it broken), and security headers.

use std::any::Any;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::Frame;

use crate::ApiError;

/// The policy of HTML pages: nothing may frame them (clickjacking of the sign-in and
/// set-password forms), resources only from this origin, inline styles allowed (the pages
/// carry their own small `<style>`), no plugins, no `<base>` rewriting. `form-action` is left
/// out on purpose: browsers apply it to the redirect after the sign-in form, which goes to
/// the client application's origin.
pub const HTML_CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
                            object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Wraps a fully composed router (every service nested) in the shared layers. Call it last:
/// fallbacks set here are inherited by nested routers that have none of their own.
pub fn harden(router: Router) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: a panic becomes a 500 problem; then stray bodiless or plain-text
        // errors become problems; then unread bodies close the connection; headers go on
        // everything, including all of the above.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(middleware::from_fn(problems_everywhere))
        .layer(middleware::from_fn(close_if_body_unread))
        .layer(middleware::from_fn(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(middleware::from_fn(trace_id))
}

/// The header carrying a request's trace id, in and out.
pub const TRACE_ID_HEADER: &str = "x-request-id";

/// Gives every request an id — the caller's `X-Request-Id` when it is a plausible one
/// (1 to 64 of `A-Z a-z 0-9 - _ .`), a new UUIDv7 otherwise — runs it inside a span carrying
/// it (so every log line of the request, including the one a 5xx writes, names it), and
/// answers it in `X-Request-Id` so a user can quote it in a complaint.
///
/// The span is also the request's OpenTelemetry span: it continues the caller's trace when
/// the request carries a W3C `traceparent` (another service's call), and names the service
/// the path belongs to (`/api/<service>/...`), which is how one process running every
/// service tells its spans apart.
async fn trace_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(TRACE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let path = req.uri().path();
    let span = tracing::info_span!("request", request_id = %id,
        service = tracing::field::Empty, http.request.method = %req.method(),
        url.path = path, otel.kind = "server");
    if let Some(service) = path
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
    {
        span.record("service", service);
    }
    let caller = req.headers().get(telemetry::TRACEPARENT);
    telemetry::continue_trace(&span, caller.and_then(|v| v.to_str().ok()));
    let mut response = tracing::Instrument::instrument(next.run(req), span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::internal_because(format!("a request handler panicked: {message}")).into_response()
}

/// The stable code of an error status that a handler did not answer itself.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// Turns an error answered without a body type or as `text/plain` (axum's own rejections,
/// a 405 from a method router, a layer's refusal) into problem+json, keeping its other
/// headers (`Allow`, `Retry-After`, `WWW-Authenticate`). Errors a handler shaped itself
/// (problem+json, an OAuth JSON error, an HTML page) pass untouched.
async fn problems_everywhere(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v
            .to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().starts_with("text/plain")),
    };
    if !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // These bodies are short messages; one that is not is not worth echoing.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty());
    let detail = match text {
        // Server errors say nothing about their cause to the client.
        Some(_) if status.is_server_error() => "internal error; it has been logged".to_owned(),
        Some(text) => text,
        None => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let problem = ApiError::new(status, code_of(status), detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    let (problem_parts, problem_body) = problem.into_parts();
    for (name, value) in problem_parts.headers.iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, problem_body)
}

/// Adds `Connection: close` to the answer of a request whose body was not read to its end
/// (refused by a rate limit, a size limit, an authorization check, ...). The server cannot
/// reuse such a connection (the unread bytes are still in it) and closes it; saying so lets
/// a keep-alive client open a new one instead of failing its next request on a dead socket.
async fn close_if_body_unread(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let finished = Arc::new(AtomicBool::new(http_body::Body::is_end_stream(&body)));
    let body = Body::new(Tracked {
        inner: body,
        finished: finished.clone(),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that records whether it was read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finished.store(true, Ordering::Release),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.finished.store(true, Ordering::Release)
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `X-Content-Type-Options: nosniff` on everything (photos and files are served with the
/// type they were checked to be, and a browser must not guess otherwise); HTML pages also may
/// not be framed.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if html {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(HTML_CSP),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::Html;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn app() -> Router {
        let svc = Router::new()
            .route("/items", get(|| async { "[]" }))
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("handler bug");
                    }
                    "unreachable"
                }),
            )
            .route("/page", get(|| async { Html("<p>hi</p>") }))
            .route(
                "/refuse",
                post(|| async { (StatusCode::TOO_MANY_REQUESTS, "slow down") }),
            )
            .route(
                "/read",
                post(|body: Bytes| async move { body.len().to_string() }),
            );
        harden(Router::new().nest("/api/svc", svc))
    }

    async fn call(req: axum::http::Request<Body>) -> (Response, serde_json::Value) {
        let response = app().oneshot(req).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    fn get_(uri: &str) -> axum::http::Request<Body> {
        axum::http::Request::get(uri).body(Body::empty()).unwrap()
    }

    fn content_type(r: &Response) -> &str {
        r.headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_a_500_problem() {
        let (r, body) = call(get_("/api/svc/boom")).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type(&r), "application/problem+json");
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("handler bug"), "{body}");
        // The router still answers afterwards.
        assert_eq!(call(get_("/api/svc/items")).await.0.status(), 200);
    }

    /// A log sink for one test: what the fmt layer wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_answer_names_its_trace_id_and_a_5xx_is_logged_with_it() {
        let sink = Captured::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // The caller's plausible id is kept and echoed.
        let mut req = get_("/api/svc/boom");
        req.headers_mut()
            .insert(TRACE_ID_HEADER, HeaderValue::from_static("case-4711"));
        let (r, _) = call(req).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.headers()[TRACE_ID_HEADER], "case-4711");
        let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("request failed"))
            .unwrap_or_else(|| panic!("no 5xx line in {log}"));
        assert!(line.contains("case-4711"), "{line}");
        assert!(line.contains("handler bug"), "{line}");
        // An implausible one is replaced by a fresh id; success answers carry one too.
        let mut req = get_("/api/svc/items");
        req.headers_mut()
            .insert(TRACE_ID_HEADER, HeaderValue::from_static("a b"));
        let (r, _) = call(req).await;
        let id = r.headers()[TRACE_ID_HEADER].to_str().unwrap();
        assert!(id != "a b" && id.len() == 32, "{id}");
    }

    #[tokio::test]
    async fn unknown_routes_and_wrong_methods_are_problems() {
        for uri in ["/api/svc/nope", "/api/other/x", "/elsewhere", "/"] {
            let (r, body) = call(get_(uri)).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(content_type(&r), "application/problem+json", "{uri}");
            assert_eq!(body["code"], "not_found", "{uri}");
        }
        let (r, body) = call(
            axum::http::Request::delete("/api/svc/items")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(content_type(&r), "application/problem+json");
        assert_eq!(body["code"], "method_not_allowed");
        assert!(r.headers().contains_key(header::ALLOW));
    }

    #[tokio::test]
    async fn plain_text_refusals_become_problems() {
        let (r, body) = call(
            axum::http::Request::post("/api/svc/refuse")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(content_type(&r), "application/problem+json");
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(body["detail"], "slow down");
    }

    #[tokio::test]
    async fn an_unread_body_closes_the_connection_a_read_one_does_not() {
        let post = |uri: &str| {
            axum::http::Request::post(uri)
                .header(header::CONTENT_LENGTH, "5")
                .body(Body::from("hello"))
                .unwrap()
        };
        let (r, _) = call(post("/api/svc/refuse")).await;
        assert_eq!(r.headers()[header::CONNECTION], "close");
        let (r, _) = call(post("/api/svc/read")).await;
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key(header::CONNECTION));
        // No body at all: nothing was left unread.
        let (r, _) = call(get_("/api/svc/items")).await;
        assert!(!r.headers().contains_key(header::CONNECTION));
    }

    #[tokio::test]
    async fn pages_may_not_be_framed_and_nothing_is_sniffed() {
        let (r, _) = call(get_("/api/svc/page")).await;
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let (r, _) = call(get_("/api/svc/items")).await;
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!r.headers().contains_key(header::X_FRAME_OPTIONS));
    }
}
