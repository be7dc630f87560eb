//! The base of every MCF service's typed client (`services/<svc>/src/client.rs`): JSON calls
//! against one service's API with a bearer token, errors decoded from the services'
//! `application/problem+json`, the raw status and headers when a caller needs them.
//!
//! A [`Client`] talks to `http://host:port/api/<service>` over HTTP ([`HttpTransport`], with
//! timeouts, never following redirects), or to a router in the same process through any
//! other [`Transport`] (the `service` crate's test kit has one), so a service's in-process
//! tests and the end-to-end tests call it the same way.
//!
//! A typed client wraps one and names the routes:
//!
//! ```no_run
//! use client::{Client, ClientError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize)]
//! pub struct NewThing { pub name: String }
//! #[derive(Deserialize)]
//! pub struct Thing { pub id: String, pub name: String }
//!
//! /// The things service, as its callers see it.
//! pub struct ThingsClient(pub Client);
//!
//! impl ThingsClient {
//!     pub async fn create(&self, new: &NewThing, key: &str) -> Result<Thing, ClientError> {
//!         self.0.request(client::Method::POST, "/things").json(new).idempotency_key(key)
//!             .send().await?.json()
//!     }
//!     pub async fn get(&self, id: &str) -> Result<Thing, ClientError> {
//!         self.0.get(&format!("/things/{id}")).await
//!     }
//! }
//!
//! # async fn run() -> Result<(), ClientError> {
//! let things = ThingsClient(Client::new("http://127.0.0.1:8080/api/things").with_token("eyJ..."));
//! match things.get("nope").await {
//!     Err(e) if e.code() == Some("not_found") => {}
//!     other => panic!("{:?}", other.err()),
//! }
//! # Ok(()) }
//! ```

mod error;
mod failover;
mod transport;

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{ClientError, Problem, Refusal, Undecodable};
pub use failover::Failover;
pub use http::header::{self, HeaderMap, HeaderName, HeaderValue};
pub use http::{Method, StatusCode};
pub use transport::{HttpTransport, Sending, Transport};

/// A client of one service's API: its base URL, the token it calls with, and how requests
/// travel. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    base: Arc<str>,
    token: Option<Arc<str>>,
    transport: Arc<dyn Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the API at `base_url` (`http://host:port/api/<service>`, no trailing
    /// slash needed) over HTTP with the default timeouts ([`HttpTransport::new`]).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::over(base_url, HttpTransport::new())
    }

    /// A client of the API at `base_url` whose requests travel through `transport`.
    pub fn over(base_url: impl Into<String>, transport: impl Transport) -> Self {
        let base: String = base_url.into();
        Client {
            base: Arc::from(base.trim_end_matches('/')),
            token: None,
            transport: Arc::new(transport),
        }
    }

    /// The same client, calling with `token` as its bearer token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client {
            token: Some(Arc::from(token.into())),
            ..self.clone()
        }
    }

    /// The same client, calling without a token.
    pub fn without_token(&self) -> Self {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The bearer token it calls with, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A request to `path` (below the base URL, starting with `/`), to complete with a body,
    /// query or headers and [`send`](RequestBuilder::send).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut headers = HeaderMap::new();
        let mut error = None;
        if let Some(token) = &self.token {
            match HeaderValue::from_str(&format!("Bearer {token}")) {
                Ok(value) => {
                    headers.insert(header::AUTHORIZATION, value);
                }
                Err(_) => error = Some("the token is not a valid header value".to_owned()),
            }
        }
        // A call made while handling a request or an event stays in its trace: the callee's
        // request span continues it.
        if let Some(value) =
            telemetry::current_traceparent().and_then(|t| HeaderValue::from_str(&t).ok())
        {
            headers.insert(telemetry::TRACEPARENT, value);
        }
        RequestBuilder {
            transport: self.transport.clone(),
            method,
            url: format!("{}{path}", self.base),
            headers,
            body: Bytes::new(),
            error,
        }
    }

    /// `GET path`, answered with a `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.request(Method::GET, path).send().await?.json()
    }

    /// `GET path` with `query` (a struct or a list of pairs) as the query string, answered
    /// with a `T`.
    pub async fn get_query<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        self.request(Method::GET, path)
            .query(query)
            .send()
            .await?
            .json()
    }

    /// `POST path` without a body (an action the path names: retire, accept, rotate),
    /// answered with a `T` (`()` for no body).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.request(Method::POST, path).send().await?.json()
    }

    /// `POST path` with `body` as JSON and, when given, `key` as its `Idempotency-Key`,
    /// answered with a `T` (the new thing, or on a replay the first one).
    pub async fn post_keyed<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        key: Option<&str>,
    ) -> Result<T, ClientError> {
        self.request(Method::POST, path)
            .json(body)
            .maybe_idempotency_key(key)
            .send()
            .await?
            .json()
    }

    /// `POST path` with `body` as JSON, answered with a `T` (`()` for no body).
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(Method::POST, path, body).await
    }

    /// `PUT path` with `body` as JSON, answered with a `T`.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(Method::PUT, path, body).await
    }

    /// `PATCH path` with `body` as JSON, answered with a `T`.
    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(Method::PATCH, path, body).await
    }

    /// `method path` with `body` as JSON, answered with a `T`.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.request(method, path).json(body).send().await?.json()
    }

    /// `DELETE path`, answered with a `T` (`()` for no body).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.request(Method::DELETE, path).send().await?.json()
    }
}

/// A request being put together; nothing is sent before [`send`](RequestBuilder::send).
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    transport: Arc<dyn Transport>,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
    /// Why the request cannot be sent (a body that does not serialize, a header value that
    /// is not one), reported by `send` so the builder chain stays infallible.
    error: Option<String>,
}

impl RequestBuilder {
    /// `body` as JSON (`Content-Type: application/json`).
    pub fn json<B: Serialize + ?Sized>(self, body: &B) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body("application/json", bytes),
            Err(e) => self.fail(format!("the body does not serialize: {e}")),
        }
    }

    /// `body` form-encoded (`Content-Type: application/x-www-form-urlencoded`).
    pub fn form<B: Serialize + ?Sized>(self, body: &B) -> Self {
        match serde_urlencoded::to_string(body) {
            Ok(text) => self.body("application/x-www-form-urlencoded", text),
            Err(e) => self.fail(format!("the form does not serialize: {e}")),
        }
    }

    /// `bytes` as the body, sent as `content_type`.
    pub fn body(mut self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.body = bytes.into();
        self.header(header::CONTENT_TYPE.as_str(), content_type)
    }

    /// `query` (a struct or a list of pairs) as the query string.
    pub fn query<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(text) if text.is_empty() => self,
            Ok(text) => {
                let separator = if self.url.contains('?') { '&' } else { '?' };
                self.url = format!("{}{separator}{text}", self.url);
                self
            }
            Err(e) => self.fail(format!("the query does not serialize: {e}")),
        }
    }

    /// Sets the header `name` to `value` (replacing an earlier value).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
                self
            }
            _ => self.fail(format!("{name}: not a valid header")),
        }
    }

    /// The `Idempotency-Key` header: a retry with the same key gets the first result.
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    /// The `Idempotency-Key` header if there is a `key`; else the request as it is.
    pub fn maybe_idempotency_key(self, key: Option<&str>) -> Self {
        match key {
            Some(key) => self.idempotency_key(key),
            None => self,
        }
    }

    /// Calls with `token` instead of the client's.
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    /// Calls without a token, whatever the client holds.
    pub fn without_token(mut self) -> Self {
        self.headers.remove(header::AUTHORIZATION);
        self
    }

    fn fail(mut self, error: String) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// Sends the request. A 4xx or 5xx answer is an error: [`ClientError::Problem`] when it
    /// is `application/problem+json`, else [`ClientError::Decode`] (both keep the reply).
    pub async fn send(self) -> Result<Reply, ClientError> {
        let reply = self.send_raw().await?;
        if reply.status.is_client_error() || reply.status.is_server_error() {
            return Err(ClientError::from_refusal(reply));
        }
        Ok(reply)
    }

    /// Sends the request and returns whatever was answered, 4xx and 5xx included; errors
    /// only when there was no answer.
    pub async fn send_raw(self) -> Result<Reply, ClientError> {
        if let Some(error) = self.error {
            return Err(ClientError::Request(error));
        }
        let mut request = http::Request::new(self.body);
        *request.method_mut() = self.method;
        *request.uri_mut() = self
            .url
            .parse()
            .map_err(|e| ClientError::Request(format!("{}: {e}", self.url)))?;
        *request.headers_mut() = self.headers;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(ClientError::Transport)?;
        let (parts, body) = response.into_parts();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// An answer as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as a `T`. An empty body reads as JSON `null`, so `()` and `Option<T>` take
    /// a 204.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let bytes: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(bytes).map_err(|e| {
            ClientError::Decode(Box::new(Undecodable {
                error: e.to_string(),
                reply: self.clone(),
            }))
        })
    }

    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header (redirects, created resources).
    pub fn location(&self) -> Option<&str> {
        self.header(header::LOCATION.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The problem the body describes, if it is `application/problem+json`.
    pub fn problem(&self) -> Option<Problem> {
        let media_type = self.header(header::CONTENT_TYPE.as_str())?;
        if !media_type.starts_with("application/problem+json") {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
mod tests;
