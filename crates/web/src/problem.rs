use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the client sees it: RFC 9457 `application/problem+json` with a stable
/// machine-readable `code` and, for validation errors, the offending `field`.
///
/// 5xx details are never sent: the client gets an opaque message, and the error (with its
/// cause chain, if any) is logged once, when the response is made — inside the request's
/// span, so the log line carries the request's `request_id` (see [`crate::harden`]).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Extra response headers some refusals need (e.g. `WWW-Authenticate` on a 401, RFC
    /// 6750); set with [`ApiError::with_header`]. A `Vec`, not a `HeaderMap`: almost always
    /// empty, and it keeps `Result<_, ApiError>` small.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// What went wrong behind a 5xx (the cause chain), for the log only.
    cause: Option<String>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            headers: Vec::new(),
            cause: None,
        }
    }

    /// The same error, answered with `name: value` as well (replacing an earlier value).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        self
    }

    /// The extra headers this error is answered with.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// 422 `validation_failed` naming the field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: format!("{field}: {}", message.into()),
            field: Some(field),
            headers: Vec::new(),
            cause: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }

    /// 409 with a domain `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 `internal`: the cause chain is logged when the response is made; the client
    /// is told nothing more.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        );
        error.cause = Some(crate::unexpected::chain(cause));
        error
    }

    /// 500 `internal` for a failure that is not an error value (a panic, a broken
    /// invariant): `cause` is logged when the response is made.
    pub fn internal_because(cause: impl Into<String>) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        );
        error.cause = Some(cause.into());
        error
    }

    /// The cause chain behind a 5xx, as it will be logged.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // One log line per failed request, where the response is made: inside the request's
        // span (method, path, request_id). Refusals (4xx) are the client's business, not ours.
        if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                error = self.cause.as_deref().unwrap_or(&self.message),
                "request failed"
            );
        }
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Problem {
            kind: "about:blank",
            title,
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.message,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
