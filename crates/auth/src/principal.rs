use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use contracts::AccountId;
use serde::{Deserialize, Serialize};
use web::ApiError;

use crate::Verifier;

/// What a person (or a service) may do. Stable wire names, lower case.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Supply,
    Worker,
    Client,
    /// Another MCF service calling with client credentials.
    Service,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Supply,
        Role::Worker,
        Role::Client,
        Role::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Supply => "supply",
            Role::Worker => "worker",
            Role::Client => "client",
            Role::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated caller of a request: taken from a verified bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account id (`sub`). IAM makes every account id a UUID, so a token whose `sub`
    /// is not one is refused like any other invalid token.
    pub id: AccountId,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Passes if the caller holds any of `roles`; 403 `forbidden` otherwise.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// Passes if the caller is `owner` or holds one of the `staff` roles (who may see
    /// everyone's objects); 403 otherwise.
    pub fn require_owner_or(&self, owner: AccountId, staff: &[Role]) -> Result<(), ApiError> {
        if self.id == owner || staff.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(forbidden())
        }
    }
}

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "your roles do not allow this",
    )
}

/// 401 for a request that brought no bearer token: RFC 6750 (3) says the challenge then
/// names the scheme only, no error code.
pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

/// 401 for a bearer token that was given but refused (bad signature, expired, wrong
/// audience...): the challenge says `invalid_token` (RFC 6750 3.1), so a client knows to
/// get a new token rather than to sign in differently.
pub(crate) fn invalid_token(message: impl Into<String>) -> ApiError {
    let message = message.into();
    // `error_description` is a quoted-string limited to visible ASCII without `"` and `\`
    // (RFC 6750 3): anything else in the verifier's message is dropped, not escaped.
    let description: String = message
        .chars()
        .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
        .collect();
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    let value = HeaderValue::from_str(&challenge)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""));
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        .with_header(WWW_AUTHENTICATE, value)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Already verified by the route's access layer.
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let verifier = parts
            .extensions
            .get::<Arc<Verifier>>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal(&std::io::Error::other("no token verifier on this router"))
            })?;
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <access token>"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>"))?;
        verifier
            .verify(token.trim())
            .await
            .map_err(|e| invalid_token(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::extract::FromRequestParts;
    use axum::http::Request;
    use axum::response::IntoResponse;

    use super::*;
    use crate::{Jwks, KeySource, VerifierConfig};

    /// The `WWW-Authenticate` challenge and status of a request with these headers.
    async fn challenge(authorization: Option<&str>) -> (u16, String) {
        let verifier = Verifier::new(VerifierConfig {
            issuer: "http://iam.test".into(),
            audience: "ordering".into(),
            keys: KeySource::Static(Jwks::default()),
            min_refetch: Duration::from_secs(1),
            leeway: Duration::from_secs(0),
        });
        let mut request = Request::builder().uri("/orders");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(verifier);
        let error = Principal::from_request_parts(&mut parts, &())
            .await
            .expect_err("refused");
        let response = error.into_response();
        let value = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .expect("every 401 carries WWW-Authenticate")
            .to_str()
            .unwrap()
            .to_owned();
        (response.status().as_u16(), value)
    }

    #[tokio::test]
    async fn every_401_carries_a_bearer_challenge_and_refused_tokens_say_invalid_token() {
        // No credentials at all, or another scheme: the scheme only (RFC 6750 3).
        assert_eq!(challenge(None).await, (401, "Bearer".to_owned()));
        assert_eq!(
            challenge(Some("Basic YWxpY2U6c2VjcmV0")).await,
            (401, "Bearer".to_owned())
        );
        // A token was given but refused: invalid_token, with the reason.
        assert_eq!(
            challenge(Some("Bearer not-a-jwt")).await,
            (
                401,
                "Bearer error=\"invalid_token\", error_description=\"malformed token\"".to_owned()
            )
        );
        // Whatever the reason says, the description stays one valid quoted-string.
        let response = invalid_token("bad \"kid\" \\ caf\u{e9}\n").into_response();
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"bad kid  caf\""
        );
    }
}
