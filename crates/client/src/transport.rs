//! How a request reaches the service: over HTTP, or to a router in the same process.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

/// What [`Transport::send`] returns: the answer, or why there was none.
pub type Sending<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, String>> + Send + 'a>>;

/// Carries a request to the service and brings back its answer, whole.
///
/// [`HttpTransport`] goes over the network; a test kit implements it with a router called
/// in the same process, so the same typed client serves both kinds of tests.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` (its URI absolute, `http://host/api/<service>/...`, or a path for
    /// in-process routers). `Err` is "no answer", with the reason.
    fn send(&self, request: http::Request<Bytes>) -> Sending<'_>;
}

/// Requests over HTTP with `reqwest`.
///
/// Redirects are not followed: an API client wants to see the `303` and its `Location`.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    http: reqwest::Client,
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport {
    /// A whole call may take 30 s (a slow service is a failure to report, not to wait
    /// for); connecting, 5 s.
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    /// See [`HttpTransport::TIMEOUT`].
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The default transport: [`HttpTransport::TIMEOUT`], [`HttpTransport::CONNECT_TIMEOUT`],
    /// no redirects.
    pub fn new() -> Self {
        Self::with_timeout(Self::TIMEOUT)
    }

    /// Like [`HttpTransport::new`] with another limit for a whole call.
    pub fn with_timeout(timeout: Duration) -> Self {
        HttpTransport {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(Self::CONNECT_TIMEOUT.min(timeout))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    /// Requests through an existing `reqwest` client (its own timeouts and policies).
    pub fn with_client(http: reqwest::Client) -> Self {
        HttpTransport { http }
    }
}

impl HttpTransport {
    /// Sends `request`; without an answer, says whether the connection was never made
    /// (then the request surely did not reach the service: [`crate::Failover`] may send it
    /// elsewhere).
    pub(crate) async fn exchange(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, NoAnswer> {
        let request = reqwest::Request::try_from(request).map_err(|e| NoAnswer {
            reason: e.to_string(),
            not_connected: false,
        })?;
        let response = self.http.execute(request).await.map_err(NoAnswer::from)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await.map_err(NoAnswer::from)?;
        let mut answer = http::Response::new(body);
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

/// Why a request got no answer.
pub(crate) struct NoAnswer {
    /// reqwest's error with its causes.
    pub(crate) reason: String,
    /// No connection was made (refused, unreachable, connecting timed out): nothing of the
    /// request was sent.
    pub(crate) not_connected: bool,
}

impl From<reqwest::Error> for NoAnswer {
    fn from(e: reqwest::Error) -> Self {
        NoAnswer {
            not_connected: e.is_connect(),
            reason: describe(e),
        }
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: http::Request<Bytes>) -> Sending<'_> {
        Box::pin(async move { self.exchange(request).await.map_err(|e| e.reason) })
    }
}

/// reqwest's error with its causes ("error sending request: connection refused").
fn describe(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
