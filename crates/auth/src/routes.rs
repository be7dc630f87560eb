//! Routes declared with who may call them: the authorization matrix *is* the enforcement.
//!
//! Every route is added with an [`Access`]; a layer on that route authenticates the caller
//! and checks the roles before the handler (or its body parsing) runs, and the rule is
//! recorded so tests can walk every route and check every cell.
//!
//! A route is declared once, as a [`Route`]: its method (named once: it picks the method
//! router too), path, access, and what it takes and answers (JSON Schemas of the request
//! body, query, path parameters and responses, from `schemars::JsonSchema`). The `service`
//! crate turns those declarations into the service's OpenAPI document.
//!
//! ```
//! use auth::{Access, Role, Route, Routes};
//! use axum::http::StatusCode;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct NewThing { name: String }
//! #[derive(serde::Serialize, schemars::JsonSchema)]
//! struct Thing { id: String, name: String }
//!
//! async fn create(web::Json(new): web::Json<NewThing>) -> (StatusCode, axum::Json<Thing>) {
//!     (StatusCode::CREATED, axum::Json(Thing { id: "t1".into(), name: new.name }))
//! }
//! async fn list() -> axum::Json<Vec<Thing>> {
//!     axum::Json(vec![])
//! }
//!
//! let routes: Routes = Routes::new()
//!     .route(
//!         Route::post("/things", Access::Roles(&[Role::Manager]))
//!             .summary("Create a thing")
//!             .body::<NewThing>()
//!             .returns::<Thing>(StatusCode::CREATED),
//!         create,
//!     )
//!     .route(
//!         Route::get("/things", Access::SignedIn).returns::<Vec<Thing>>(StatusCode::OK),
//!         list,
//!     );
//! assert_eq!(routes.rules()[0].method, "POST");
//! assert_eq!(routes.rules()[1].roles, Some(vec![]));
//! ```

use std::fmt;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use schemars::{JsonSchema, Schema, SchemaGenerator};

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

/// Adds a type's JSON Schema to a generator and returns it (a `$ref` into the shared
/// schemas for named types): how a declaration names a type without holding a value.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// A body as declared: its media type and, for JSON and forms, its schema.
#[derive(Debug, Clone, Copy)]
pub struct Content {
    /// `application/json`, `application/x-www-form-urlencoded`, `text/html`, ...
    pub media_type: &'static str,
    /// `None`: not described by a schema (pages, images).
    pub schema: Option<SchemaFn>,
}

/// A response a route declares.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: StatusCode,
    /// `None`: no body (204, a redirect).
    pub content: Option<Content>,
    /// The answer carries a `Location` header (redirects).
    pub location: bool,
}

/// What a route takes and answers, for its API document. Built through [`Route`]'s
/// methods; the routes added with the older [`Routes::add`]/[`Routes::merge`] have an empty
/// one (path, method and access only).
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// One line saying what the route does.
    pub summary: Option<&'static str>,
    /// The request body.
    pub body: Option<Content>,
    /// The query string, as a struct whose fields are the parameters (its schema inline,
    /// not a `$ref`, so its properties can be listed).
    pub query: Option<SchemaFn>,
    /// Path parameters with a schema (the others are plain strings).
    pub params: Vec<(&'static str, SchemaFn)>,
    /// The route takes an `Idempotency-Key` header.
    pub idempotency_key: bool,
    /// The answers on success (and any refusal worth its own schema); every route also
    /// answers `application/problem+json` on 4xx and 5xx, which need not be declared.
    pub answers: Vec<Answer>,
}

/// A route as recorded: who may call it and what it takes and answers.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub rule: RouteRule,
    pub operation: Operation,
}

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/x-www-form-urlencoded`.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A route's declaration: method (named once), path and access, then what it takes and
/// answers. Added to [`Routes`] with its handler by [`Routes::route`].
#[derive(Debug, Clone)]
pub struct Route {
    method: Method,
    path: String,
    access: Access,
    operation: Operation,
}

impl Route {
    fn new(method: Method, path: &str, access: Access) -> Self {
        Route {
            method,
            path: path.to_owned(),
            access,
            operation: Operation::default(),
        }
    }

    /// `GET path`, callable as `access` says.
    pub fn get(path: &str, access: Access) -> Self {
        Self::new(Method::GET, path, access)
    }

    /// `POST path`, callable as `access` says.
    pub fn post(path: &str, access: Access) -> Self {
        Self::new(Method::POST, path, access)
    }

    /// `PUT path`, callable as `access` says.
    pub fn put(path: &str, access: Access) -> Self {
        Self::new(Method::PUT, path, access)
    }

    /// `PATCH path`, callable as `access` says.
    pub fn patch(path: &str, access: Access) -> Self {
        Self::new(Method::PATCH, path, access)
    }

    /// `DELETE path`, callable as `access` says.
    pub fn delete(path: &str, access: Access) -> Self {
        Self::new(Method::DELETE, path, access)
    }

    /// One line saying what the route does (the operation's `summary`).
    pub fn summary(mut self, summary: &'static str) -> Self {
        self.operation.summary = Some(summary);
        self
    }

    /// Takes a JSON body of type `T` (`web::Json<T>`).
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.operation.body = Some(Content {
            media_type: JSON,
            schema: Some(SchemaGenerator::subschema_for::<T>),
        });
        self
    }

    /// Takes a form-encoded body of type `T` (`web::Form<T>`).
    pub fn form<T: JsonSchema>(mut self) -> Self {
        self.operation.body = Some(Content {
            media_type: FORM,
            schema: Some(SchemaGenerator::subschema_for::<T>),
        });
        self
    }

    /// Takes a query string of type `T` (`web::Query<T>`): a struct whose fields are the
    /// parameters.
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.operation.query = Some(T::json_schema);
        self
    }

    /// The path parameter `{name}` is a `T` (e.g. `uuid::Uuid` or a typed id): documented
    /// with `T`'s schema instead of a plain string.
    ///
    /// # Panics
    /// If the path has no `{name}` segment: a declaration naming a parameter that does not
    /// exist is a bug found when the routes are built.
    pub fn param<T: JsonSchema>(mut self, name: &'static str) -> Self {
        assert!(
            path_params(&self.path).any(|p| p == name),
            "{} {} has no path parameter {{{name}}}",
            self.method,
            self.path
        );
        self.operation
            .params
            .push((name, SchemaGenerator::subschema_for::<T>));
        self
    }

    /// Takes an `Idempotency-Key` header (optional; a replay answers the first result).
    pub fn idempotency_key(mut self) -> Self {
        self.operation.idempotency_key = true;
        self
    }

    /// Answers `status` with a JSON body of type `T`.
    pub fn returns<T: JsonSchema>(mut self, status: StatusCode) -> Self {
        self.operation.answers.push(Answer {
            status,
            content: Some(Content {
                media_type: JSON,
                schema: Some(SchemaGenerator::subschema_for::<T>),
            }),
            location: false,
        });
        self
    }

    /// Answers `status` with no body (`204 No Content`, `202 Accepted`...).
    pub fn returns_empty(mut self, status: StatusCode) -> Self {
        self.operation.answers.push(Answer {
            status,
            content: None,
            location: false,
        });
        self
    }

    /// Answers `status` with a body of `media_type` not described by a schema (an HTML
    /// page, an image).
    pub fn returns_media(mut self, status: StatusCode, media_type: &'static str) -> Self {
        self.operation.answers.push(Answer {
            status,
            content: Some(Content {
                media_type,
                schema: None,
            }),
            location: false,
        });
        self
    }

    /// Answers `status` (`303 See Other`, `302 Found`) with a `Location` header.
    pub fn redirects(mut self, status: StatusCode) -> Self {
        self.operation.answers.push(Answer {
            status,
            content: None,
            location: true,
        });
        self
    }

    /// The authorization rule this declaration records.
    pub fn rule(&self) -> RouteRule {
        self.access.rule(self.method.as_str(), &self.path)
    }

    fn filter(&self) -> MethodFilter {
        // Only the constructors above make a `Route`, each with a method axum filters on.
        MethodFilter::try_from(self.method.clone()).expect("a method axum routes")
    }

    fn endpoint(self) -> Endpoint {
        Endpoint {
            rule: self.rule(),
            operation: self.operation,
        }
    }
}

/// The `{name}` segments of a path pattern, in order.
pub fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// A router being built, with its matrix and its API declarations.
pub struct Routes<S = ()> {
    router: Router<S>,
    endpoints: Vec<Endpoint>,
}

impl<S> fmt::Debug for Routes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
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
            endpoints: Vec::new(),
        }
    }

    /// Adds `handler` (any axum handler) for `route`, behind its access check.
    pub fn route<H, T>(self, route: Route, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route_layered(route, handler, |method_router| method_router)
    }

    /// Like [`Routes::route`], with `layer` applied to the route's method router first
    /// (rate limits, body limits), inside the access check.
    pub fn route_layered<H, T>(
        self,
        route: Route,
        handler: H,
        layer: impl FnOnce(MethodRouter<S>) -> MethodRouter<S>,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let method_router = layer(axum::routing::on(route.filter(), handler));
        let (access, path) = (route.access, route.path.clone());
        self.push(route.endpoint(), &path, access, method_router)
    }

    /// Adds every route of `other` (e.g. one resource's routes, declared in its own file).
    pub fn include(mut self, other: Routes<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.endpoints.extend(other.endpoints);
        self
    }

    /// The same routes, their handlers given `state`.
    pub fn with_state<S2>(self, state: S) -> Routes<S2> {
        Routes {
            router: self.router.with_state(state),
            endpoints: self.endpoints,
        }
    }

    /// The authorization matrix of the routes so far.
    pub fn rules(&self) -> Vec<RouteRule> {
        self.endpoints.iter().map(|e| e.rule.clone()).collect()
    }

    /// Every route declared so far, in order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The router and every route's declaration.
    pub fn into_parts(self) -> (Router<S>, Vec<Endpoint>) {
        (self.router, self.endpoints)
    }

    fn push(
        mut self,
        endpoint: Endpoint,
        path: &str,
        access: Access,
        handler: MethodRouter<S>,
    ) -> Self {
        self.endpoints.push(endpoint);
        let handler = match access {
            Access::Public => handler,
            _ => handler.route_layer(middleware::from_fn(move |req: Request, next: Next| {
                authorize(access, req, next)
            })),
        };
        self.router = self.router.route(path, handler);
        self
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::{Jwks, KeySource, Verifier, VerifierConfig};

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct NewThing {
        name: String,
    }

    #[derive(serde::Serialize, JsonSchema)]
    struct Thing {
        name: String,
    }

    async fn status(router: &Router, method: Method, path: &str) -> StatusCode {
        let verifier = Verifier::new(VerifierConfig {
            issuer: "http://iam.test".into(),
            audience: "things".into(),
            keys: KeySource::Static(Jwks::default()),
            min_refetch: Duration::from_secs(1),
            leeway: Duration::ZERO,
        });
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        router
            .clone()
            .layer(axum::Extension(verifier))
            .oneshot(request)
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn a_route_named_once_serves_that_method_only_behind_its_access() {
        let (router, endpoints) = Routes::new()
            .route(
                Route::get("/things", Access::Public).returns::<Vec<Thing>>(StatusCode::OK),
                || async { "[]" },
            )
            .route(
                Route::post("/things", Access::Roles(&[Role::Manager]))
                    .body::<NewThing>()
                    .returns::<Thing>(StatusCode::CREATED),
                || async { StatusCode::CREATED },
            )
            .route(
                Route::delete("/things/{id}", Access::SignedIn)
                    .param::<u64>("id")
                    .returns_empty(StatusCode::NO_CONTENT),
                || async { StatusCode::NO_CONTENT },
            )
            .into_parts();
        assert_eq!(
            status(&router, Method::GET, "/things").await,
            StatusCode::OK
        );
        // Declared for managers: no token, no entry (before the handler runs).
        assert_eq!(
            status(&router, Method::POST, "/things").await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(&router, Method::DELETE, "/things/1").await,
            StatusCode::UNAUTHORIZED
        );
        // Methods not declared are not served.
        assert_eq!(
            status(&router, Method::PUT, "/things").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(&router, Method::GET, "/things/1").await,
            StatusCode::METHOD_NOT_ALLOWED
        );

        let rules: Vec<RouteRule> = endpoints.iter().map(|e| e.rule.clone()).collect();
        assert_eq!(
            rules,
            vec![
                Access::Public.rule("GET", "/things"),
                Access::Roles(&[Role::Manager]).rule("POST", "/things"),
                Access::SignedIn.rule("DELETE", "/things/{id}"),
            ]
        );
        let post = &endpoints[1].operation;
        assert_eq!(post.body.unwrap().media_type, JSON);
        assert_eq!(post.answers[0].status, StatusCode::CREATED);
        let mut generator = SchemaGenerator::default();
        let body = (post.body.unwrap().schema.unwrap())(&mut generator);
        assert_eq!(
            body.get("$ref").and_then(|r| r.as_str()),
            Some("#/$defs/NewThing")
        );
        assert!(generator.definitions().contains_key("NewThing"));
        let delete = &endpoints[2].operation;
        assert_eq!(delete.params[0].0, "id");
        assert!(delete.answers[0].content.is_none());
    }

    #[test]
    #[should_panic(expected = "GET /things/{id} has no path parameter {thing}")]
    fn a_parameter_the_path_does_not_have_is_refused() {
        let _ = Route::get("/things/{id}", Access::Public).param::<u64>("thing");
    }

    #[tokio::test]
    async fn layers_state_and_included_routes_compose() {
        #[derive(Clone)]
        struct App(&'static str);
        let teapot = |method_router: MethodRouter<App>| {
            method_router.route_layer(middleware::from_fn(
                |_: axum::extract::Request, _: Next| async {
                    StatusCode::IM_A_TEAPOT.into_response()
                },
            ))
        };
        let things = Routes::new().route(
            Route::get("/things", Access::Public),
            |axum::extract::State(app): axum::extract::State<App>| async move { app.0 },
        );
        let routes: Routes = Routes::new()
            .include(things)
            .route_layered(
                Route::post("/brew", Access::Public).form::<NewThing>(),
                || async { "brewed" },
                teapot,
            )
            .route(Route::get("/old", Access::SignedIn), || async { "old" })
            .with_state(App("things"));
        assert_eq!(
            routes
                .rules()
                .iter()
                .map(|r| r.path.as_str())
                .collect::<Vec<_>>(),
            ["/things", "/brew", "/old"]
        );
        assert_eq!(
            routes.endpoints()[1].operation.body.unwrap().media_type,
            FORM
        );
        // A route that declares no answers records none.
        assert!(routes.endpoints()[2].operation.answers.is_empty());
        let (router, _) = routes.into_parts();
        assert_eq!(
            status(&router, Method::GET, "/things").await,
            StatusCode::OK
        );
        assert_eq!(
            status(&router, Method::POST, "/brew").await,
            StatusCode::IM_A_TEAPOT
        );
        assert_eq!(
            status(&router, Method::GET, "/old").await,
            StatusCode::UNAUTHORIZED
        );
    }
}
