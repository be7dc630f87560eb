//! Routes declared with who may call them: the authorization matrix *is* the enforcement.
//!
//! Every route is added with an [`Access`]; a layer on that route authenticates the caller
//! and checks the roles before the handler (or its body parsing) runs, and the rule is
//! recorded so tests can walk every route and check every cell.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::{Principal, Role};

/// One row of an authorization matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RouteRule {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The route's path pattern within the service, e.g. `/orders/{id}`.
    pub path: String,
    /// `None`: public. `Some([])`: any signed-in caller. Otherwise the roles allowed
    /// (serialized by their wire names, `"admin"`, ...).
    pub roles: Option<Vec<Role>>,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Anyone, no token (health, discovery, sign-in).
    Public,
    /// Any valid token.
    SignedIn,
    /// A valid token holding one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    /// The rule recorded for `method path` under this access.
    pub fn rule(self, method: &str, path: &str) -> RouteRule {
        RouteRule {
            method: method.to_owned(),
            path: path.to_owned(),
            roles: match self {
                Access::Public => None,
                Access::SignedIn => Some(vec![]),
                Access::Roles(roles) => Some(roles.to_vec()),
            },
        }
    }
}

/// A router being built, with its matrix.
pub struct Routes<S> {
    router: Router<S>,
    rules: Vec<RouteRule>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            rules: Vec::new(),
        }
    }

    /// Adds `handler` (one method, e.g. `get(list)`) at `path` for `access`.
    pub fn add(
        mut self,
        method: &str,
        path: &str,
        access: Access,
        handler: MethodRouter<S>,
    ) -> Self {
        self.rules.push(access.rule(method, path));
        let handler = match access {
            Access::Public => handler,
            _ => handler.route_layer(middleware::from_fn(move |req: Request, next: Next| {
                authorize(access, req, next)
            })),
        };
        self.router = self.router.route(path, handler);
        self
    }

    /// Adds every route of `router` (listed in `routes` as `(method, path)`) for `access`.
    pub fn merge(mut self, router: Router<S>, routes: &[(&str, &str)], access: Access) -> Self {
        self.rules
            .extend(routes.iter().map(|(m, p)| access.rule(m, p)));
        let router = match access {
            Access::Public => router,
            _ => router.route_layer(middleware::from_fn(move |req: Request, next: Next| {
                authorize(access, req, next)
            })),
        };
        self.router = self.router.merge(router);
        self
    }

    /// The router and its matrix.
    pub fn finish(self) -> (Router<S>, Vec<RouteRule>) {
        (self.router, self.rules)
    }
}

async fn authorize(access: Access, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let principal = match <Principal as axum::extract::FromRequestParts<()>>::from_request_parts(
        &mut parts,
        &(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Access::Roles(roles) = access
        && let Err(e) = principal.require(roles)
    {
        return e.into_response();
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}
