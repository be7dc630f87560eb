use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use web::ApiError;

use crate::Verifier;

/// What a person (or a service) may do. Stable wire names, lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The account id (`sub`).
    pub id: String,
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
    pub fn require_owner_or(&self, owner: &str, staff: &[Role]) -> Result<(), ApiError> {
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

pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
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
            .map_err(|e| unauthorized(e.to_string()))
    }
}
