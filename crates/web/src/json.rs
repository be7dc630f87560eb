use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// `axum::Json`, but a body that does not parse is refused as problem+json naming the
/// field (`invalid_body`, 400/415/422; `payload_too_large`, 413) instead of axum's plain-text
/// rejection, and a NUL character in any string of the body is a 422 naming its JSON path
/// (PostgreSQL cannot store NUL in text; no MCF field has a use for it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_body",
                "expected content-type application/json",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(crate::extract::body_rejection)?;
        if let Some(path) = nul_path(&body) {
            return Err(ApiError::invalid(path, "must not contain NUL characters"));
        }
        match axum::Json::<T>::from_bytes(&body) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

/// `application/json` or `application/*+json`, as axum accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(mime) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
    else {
        return false;
    };
    let mime = mime.trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The JSON path (`description`, `questions[0].text`) of the first string or key holding a
/// NUL, if any. In JSON text a NUL can only be written as the escape `\u0000` (serde_json
/// refuses raw control characters in strings), so bodies without that spelling are not
/// parsed twice.
fn nul_path(body: &[u8]) -> Option<String> {
    const ESCAPE: &[u8] = b"\\u0000";
    if !body.windows(ESCAPE.len()).any(|w| w == ESCAPE) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    fn walk(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(fields) => fields.iter().any(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if key.contains('\0') {
                    // Name the object holding the bad key, not the key itself.
                    path.truncate(len);
                    return true;
                }
                path.push_str(key);
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(&value, &mut path).then(|| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    })
}

fn reject(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let detail = match &rejection {
        JsonRejection::JsonDataError(e) => std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.body_text()),
        other => other.body_text(),
    };
    let mut error = ApiError::new(
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            status
        } else if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        },
        "invalid_body",
        detail.clone(),
    );
    error.field = field_of(&detail);
    error
}

/// serde names the field in its messages: "missing field `x`", "x: invalid type ...".
fn field_of(detail: &str) -> Option<String> {
    if let Some(rest) = detail.split("field `").nth(1) {
        return rest.split('`').next().map(str::to_owned);
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.contains(' ')).then(|| path.to_owned())
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{field_of, nul_path};

    #[test]
    fn finds_the_path_of_a_nul_anywhere_in_the_body() {
        assert_eq!(nul_path(br#"{"description":"dishes"}"#), None);
        // An escaped backslash followed by u0000 is six visible characters, not a NUL.
        assert_eq!(nul_path(br#"{"description":"a\\u0000"}"#), None);
        assert_eq!(
            nul_path(br#"{"description":"dishes\u0000"}"#).as_deref(),
            Some("description")
        );
        assert_eq!(
            nul_path(br#"{"name":"x","questions":[{"text":"ok"},{"text":"a\u0000"}]}"#).as_deref(),
            Some("questions[1].text")
        );
        assert_eq!(
            nul_path(br#"{"skills":{"clean\u0000ing":80}}"#).as_deref(),
            Some("skills")
        );
        assert_eq!(nul_path(br#""\u0000""#).as_deref(), Some("body"));
    }

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(
            field_of("missing field `description` at line 1").as_deref(),
            Some("description")
        );
        assert_eq!(
            field_of("price: invalid type: string \"x\", expected i64").as_deref(),
            Some("price")
        );
        assert_eq!(field_of("EOF while parsing a value"), None);
    }
}
