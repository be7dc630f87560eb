//! What IAM refuses, and the one variant for what nobody planned for.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use service::Refused;
use web::ApiError;

/// Everything IAM can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// What every context refuses alike: an invalid field (422 naming it), no such thing
    /// (404), a move that breaks a rule (409 with `code`), someone else's account (403), a
    /// reused `Idempotency-Key`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Too many wrong passwords: blocked for this many more seconds.
    #[error("too many wrong passwords; try again in {0} s")]
    TooManyAttempts(i64),
    /// A client IAM does not know, outside the OAuth endpoints (the web apps' sign-out):
    /// problem+json like every MCF API, not RFC 6749 JSON.
    #[error("unknown client_id")]
    UnknownClient,
    /// An OAuth 2.0 error (RFC 6749 §5.2), answered as `{error, error_description}`.
    #[error("{error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    #[error(transparent)]
    Unexpected(#[from] web::Unexpected),
}

web::unexpected_from!(IamError: storage::DbError, sqlx::Error, serde_json::Error, reqwest::Error);
service::refused_from!(IamError: web::text::Invalid, messaging::idempotency::KeyError);

/// How clients authenticate to IAM (RFC 6749 5.2: a 401 names the scheme).
const CLIENT_CHALLENGE: &str = r#"Basic realm="iam", charset="UTF-8""#;

/// What the infrastructure IAM drives reports through anyhow (the argon2 pool, the signing
/// keys): unplanned, so unexpected.
impl From<anyhow::Error> for IamError {
    fn from(e: anyhow::Error) -> Self {
        IamError::Unexpected(web::Unexpected::from_anyhow(e))
    }
}

/// The answer of the OAuth endpoints when they refuse (RFC 6749 §5.2, RFC 7009 §2.2.1):
/// plain JSON, not problem+json, as OAuth clients expect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`,
    /// `unsupported_token_type`, `temporarily_unavailable`.
    pub error: String,
    /// For the developer, in English.
    pub error_description: String,
}

impl IamError {
    /// 422 `validation_failed` naming `field`.
    pub fn invalid(field: &str, message: &str) -> Self {
        Refused::invalid(field, message).into()
    }

    /// A failure nobody planned for, described by `message` (an invariant found broken).
    pub fn unexpected(message: impl Into<String>) -> Self {
        IamError::Unexpected(web::Unexpected::msg(message.into()))
    }

    /// `invalid_grant`, 400: a bad, used, expired or revoked code or refresh token.
    pub fn invalid_grant(description: &str) -> Self {
        IamError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.to_owned(),
        }
    }

    /// `invalid_request`, 400.
    pub fn invalid_request(description: &str) -> Self {
        IamError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.to_owned(),
        }
    }

    /// `invalid_client`, 401.
    pub fn invalid_client(description: &str) -> Self {
        IamError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.to_owned(),
        }
    }
}

impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        match self {
            IamError::Refused(refused) => refused.into_response(),
            IamError::TooManyAttempts(seconds) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong passwords; try again in {seconds} s"),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
            .into_response(),
            // A 401 names the scheme clients may authenticate with, as the OAuth one does.
            IamError::UnknownClient => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client_id",
            )
            .with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CLIENT_CHALLENGE),
            )
            .into_response(),
            IamError::OAuth {
                status,
                error,
                description,
            } => {
                let body = axum::Json(OAuthError {
                    error: error.to_owned(),
                    error_description: description,
                });
                let no_store = (header::CACHE_CONTROL, "no-store");
                if error == "invalid_client" {
                    // RFC 6749 5.2: a 401 names the authentication scheme clients may use.
                    let challenge = (header::WWW_AUTHENTICATE, CLIENT_CHALLENGE);
                    (status, [no_store, challenge], body).into_response()
                } else {
                    (status, [no_store], body).into_response()
                }
            }
            IamError::Unexpected(e) => ApiError::from(e).into_response(),
        }
    }
}
