//! What the HTTP sandboxes (the cookie contractor, the bank) share: a server that can drop a
//! connection without answering (the "connection reset" fault) and problem+json refusals.
//!
//! A sandbox's router is served by [`serve`]; a handler that should fail as a broken
//! connection takes the request's [`Cut`] extension and calls [`Cut::drop_connection`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Closes the connection of the request it was handed to, with nothing written: every
/// request served by [`serve`] carries one as an extension.
#[derive(Clone)]
pub struct Cut(Arc<Notify>);

impl Cut {
    /// Drops the connection before any answer is written, and never returns: the caller
    /// sees the connection closed (reset) instead of an answer.
    pub async fn drop_connection(&self) -> ! {
        self.0.notify_one();
        // The connection's task drops this handler's future with the connection.
        std::future::pending().await
    }
}

/// Serves `router` on `listener` until the task is dropped, each connection on its own task
/// so a [`Cut`] can drop one connection without an answer. `name` labels log lines.
pub async fn serve(
    name: &'static str,
    router: Router,
    listener: TcpListener,
) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let router = router.clone();
        tokio::spawn(async move {
            let cut = Arc::new(Notify::new());
            let service = {
                let cut = cut.clone();
                hyper::service::service_fn(move |mut request: axum::http::Request<_>| {
                    request.extensions_mut().insert(Cut(cut.clone()));
                    tower::ServiceExt::oneshot(router.clone(), request)
                })
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                r = connection => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "{name} sandbox connection ended");
                    }
                }
                // Dropping the connection closes the socket with nothing written.
                _ = cut.notified() => {}
            }
        });
    }
}

/// Binds `listen` and serves `router` there in the background (see [`serve`]): the bound
/// address and the task (abort it to stop the sandbox).
pub async fn start(
    name: &'static str,
    router: Router,
    listen: &str,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = serve(name, router, listener).await {
            tracing::error!(error = %e, "{name} sandbox stopped");
        }
    });
    Ok((addr, task))
}

/// A refusal: answered as problem+json (RFC 9457) with a stable `code` and a `detail` for
/// people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// The problem+json answer of a [`Problem`].
pub fn problem(status: StatusCode, code: &'static str, detail: &str) -> Response {
    Problem::new(status, code, detail).into_response()
}

/// The longest `Idempotency-Key` a sandbox takes (ids are 36 characters).
pub const MAX_KEY: usize = 200;

/// The request's `Idempotency-Key` (1 to [`MAX_KEY`] visible characters), or the 400
/// `idempotency_key_missing` refusal to answer.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<String, Problem> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(key)) if !key.trim().is_empty() && key.len() <= MAX_KEY => Ok(key.to_owned()),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_missing",
            "Idempotency-Key: required (1 to 200 visible characters)",
        )),
    }
}
