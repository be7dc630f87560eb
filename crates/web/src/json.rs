use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// `axum::Json`, but a body that does not parse is refused as problem+json naming the
/// field (`invalid_body`, 400/415/422) instead of axum's plain-text rejection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
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
    use super::field_of;

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
