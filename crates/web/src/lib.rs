//! HTTP vocabulary shared by every MCF service: problem+json errors, extractors whose
//! rejections name the field, request limits, text and image checks, the idempotency header
//! and the hardened surface. (Health, readiness and the operator routes every service
//! carries are assembled by the `service` crate.)

mod extract;
pub mod image;
mod json;
pub mod limits;
mod problem;
mod surface;
pub mod text;
mod unexpected;

pub use extract::{Form, IdempotencyKey, Path, Query};
pub use json::Json;
pub use problem::ApiError;
pub use surface::{HTML_CSP, TRACE_ID_HEADER, harden};
pub use unexpected::Unexpected;

/// `s` percent-encoded for a URL's query or path: every byte but RFC 3986's unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.
///
/// ```
/// assert_eq!(web::percent_encode("a b/c?d=é~"), "a%20b%2Fc%3Fd%3D%C3%A9~");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request's `Idempotency-Key` header, if any: 1 to 200 visible ASCII characters
/// (trimmed). A malformed one is refused naming `Idempotency-Key`, as every service's 422.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, text::Invalid> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| text::Invalid {
            field: "Idempotency-Key".into(),
            message: "must be 1 to 200 visible ASCII characters".into(),
        })
}
