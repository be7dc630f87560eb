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
use web::RouteRule;

use crate::{Principal, Role};

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
    fn rule(self, method: &str, path: &str) -> RouteRule {
        RouteRule {
            method: method.to_owned(),
            path: path.to_owned(),
            roles: match self {
                Access::Public => None,
                Access::SignedIn => Some(vec![]),
                Access::Roles(roles) => Some(roles.iter().map(|r| r.as_str().to_owned()).collect()),
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

/// A service's whole HTTP surface: its own routes, the messaging operator routes (admins)
/// and health (public), every request able to reach the token verifier.
pub fn assemble(
    name: &'static str,
    (router, mut rules): (Router, Vec<RouteRule>),
    db: storage::Db,
    consumers: Vec<messaging::Consumer>,
    verifier: std::sync::Arc<crate::Verifier>,
    tasks: Vec<messaging::Task>,
) -> web::Service {
    let task_stats = messaging::tasks::TaskStats::new(&tasks);
    let (extra, extra_rules) = Routes::new()
        .merge(
            web::ops::routes(db.clone(), consumers),
            web::ops::ROUTES,
            Access::Roles(&[Role::Admin]),
        )
        .merge(
            web::tasks::routes(task_stats.clone()),
            web::tasks::ROUTES,
            Access::Roles(&[Role::Admin]),
        )
        .merge(web::health_routes(db), web::HEALTH_ROUTES, Access::Public)
        .finish();
    rules.extend(extra_rules);
    rules.push(Access::Public.rule("GET", "/openapi.json"));
    let document = openapi(name, &rules);
    let extra = extra.route(
        "/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    web::Service {
        name,
        router: router.merge(extra).layer(axum::Extension(verifier)),
        tasks,
        task_stats,
        authz: rules,
    }
}

/// An OpenAPI 3.1 document of a service's routes, generated from its declared routes: every
/// path and method, which need a bearer token, and the roles allowed (`x-roles`). Request
/// and response bodies are not described yet.
pub fn openapi(service: &str, rules: &[RouteRule]) -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for r in rules {
        let entry = paths
            .entry(r.path.clone())
            .or_insert_with(|| serde_json::json!({}));
        let mut op = serde_json::json!({
            "operationId": format!("{} {}", r.method, r.path),
            "responses": {"default": {"description": "See the problem+json `code` on errors."}},
        });
        match &r.roles {
            None => op["security"] = serde_json::json!([]),
            Some(roles) => {
                op["security"] = serde_json::json!([{"bearer": []}]);
                op["x-roles"] = serde_json::json!(roles);
            }
        }
        let params: Vec<serde_json::Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = serde_json::Value::Array(params);
        }
        entry[r.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": format!("MCF {service}"), "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": format!("/api/{service}")}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "paths": paths,
    })
}
