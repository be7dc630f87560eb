//! The refusals every context makes alike, each answered one way.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use messaging::idempotency::KeyError;
use web::ApiError;

/// A refusal every context makes alike, with its one answer (problem+json with a stable
/// `code`). A service's error enum holds it as `Refused(#[from] service::Refused)` beside its
/// own domain refusals, and lets `?` convert what becomes one with
/// [`refused_from!`](crate::refused_from).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A field of the request is not acceptable: 422 `validation_failed` naming it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such thing, or not one the caller may see: 404 `not_found`.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The move does not fit the state of things: 409 with `code` naming the rule.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller's roles do not allow this: 403 `forbidden`.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An `Idempotency-Key` may not go ahead: used before for another request (422
    /// `idempotency_key_reused`), or its row failed (see [`key_refusal`](crate::key_refusal)).
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl Refused {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refused::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// 409 with `code` naming the rule the move breaks.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Refused::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for Refused {
    fn from(e: web::text::Invalid) -> Self {
        Refused::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refusal: Refused) -> Self {
        match refusal {
            Refused::Invalid { field, message } => ApiError::invalid(field, message),
            Refused::NotFound(what) => ApiError::not_found(what),
            Refused::Conflict { code, message } => ApiError::conflict(code, message),
            Refused::Forbidden(message) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            Refused::Key(e) => crate::key_refusal(e),
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// Implements `From<T>` for a service error enum, for each listed type `T` that becomes a
/// [`Refused`] (`web::text::Invalid`, `messaging::idempotency::KeyError`), through its
/// `Refused(service::Refused)` variant, so `?` on a text check or a key claim works in code
/// returning the service's error. The enum must have `From<service::Refused>` (thiserror's
/// `#[from]`), as `web::unexpected_from!` wants `From<web::Unexpected>`.
#[macro_export]
macro_rules! refused_from {
    ($enum:ty : $($from:ty),+ $(,)?) => {
        $(
            impl ::core::convert::From<$from> for $enum {
                fn from(error: $from) -> Self {
                    <$enum>::from($crate::Refused::from(error))
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::Value;

    use super::*;

    async fn answer(refusal: Refused) -> (StatusCode, Value) {
        let response = refusal.into_response();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn each_refusal_has_its_status_code_and_field() {
        // Given each refusal / When it is answered / Then status, code and field are its own
        let (status, body) = answer(Refused::invalid("name", "must not be empty")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            (&body["code"], &body["field"]),
            (&"validation_failed".into(), &"name".into())
        );
        let (status, body) = answer(Refused::NotFound("order")).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::NOT_FOUND, &"not_found".into())
        );
        assert_eq!(body["detail"], "order not found");
        let (status, body) = answer(Refused::conflict("application_closed", "decided")).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::CONFLICT, &"application_closed".into())
        );
        let (status, body) = answer(Refused::Forbidden("not your order")).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::FORBIDDEN, &"forbidden".into())
        );
        let (status, body) = answer(Refused::from(KeyError::Reused)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            (&body["code"], &body["field"]),
            (&"idempotency_key_reused".into(), &"Idempotency-Key".into())
        );
    }

    #[test]
    fn a_text_check_becomes_an_invalid_field() {
        // Given a text check that refuses a value
        let refused = web::text::single_line("name", "two\nlines", 100).unwrap_err();
        // When it becomes a refusal / Then it names the same field
        assert!(
            matches!(Refused::from(refused), Refused::Invalid { field, .. } if field == "name")
        );
    }
}
