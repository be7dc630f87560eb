use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use web::ApiError;

/// Everything IAM can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    /// An OAuth 2.0 error (RFC 6749 §5.2), answered as `{error, error_description}`.
    #[error("{error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// A refusal already shaped for the client (e.g. 403 from a role check).
    #[error("{}", .0.message)]
    Api(web::ApiError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<web::ApiError> for IamError {
    fn from(e: web::ApiError) -> Self {
        IamError::Api(e)
    }
}

impl IamError {
    pub fn invalid(field: &str, message: &str) -> Self {
        IamError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        }
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

/// A text check of `web::text` refused a value: the same 422 as any other invalid field.
impl From<web::text::Invalid> for IamError {
    fn from(e: web::text::Invalid) -> Self {
        IamError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<storage::DbError> for IamError {
    fn from(e: storage::DbError) -> Self {
        IamError::Unexpected(e.into())
    }
}

impl From<sqlx::Error> for IamError {
    fn from(e: sqlx::Error) -> Self {
        IamError::Unexpected(e.into())
    }
}

impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        match self {
            IamError::Invalid { field, message } => {
                ApiError::invalid(field, message).into_response()
            }
            IamError::NotFound(what) => ApiError::not_found(what).into_response(),
            IamError::Conflict(code, message) => ApiError::conflict(code, message).into_response(),
            IamError::OAuth {
                status,
                error,
                description,
            } => {
                let body = axum::Json(
                    serde_json::json!({"error": error, "error_description": description}),
                );
                let no_store = (axum::http::header::CACHE_CONTROL, "no-store");
                if error == "invalid_client" {
                    // RFC 6749 5.2: a 401 names the authentication scheme clients may use.
                    let challenge = (
                        axum::http::header::WWW_AUTHENTICATE,
                        r#"Basic realm="iam", charset="UTF-8""#,
                    );
                    (status, [no_store, challenge], body).into_response()
                } else {
                    (status, [no_store], body).into_response()
                }
            }
            IamError::Api(e) => e.into_response(),
            IamError::Unexpected(e) => ApiError::internal(e.as_ref()).into_response(),
        }
    }
}
