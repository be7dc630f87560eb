//! Hiring's HTTP API, one file per resource: managers' tests and applications, and the
//! public routes candidates use (apply, take), which sit behind flood protection.

mod applications;
mod take;
mod tests;

pub use applications::{
    Accepted, ApplicationDetail, ApplicationPage, Assigned, Decided, Decline, PageQuery, TestSet,
};
pub use take::{Recorded, TakePage, TakenTest, TestAnswers, TokenQuery};

use auth::{Access, Role, Routes};
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::routing::MethodRouter;
use service::Refused;

use crate::App;
use crate::error::HiringError;

const MANAGERS: Access = Access::Roles(&[Role::Manager, Role::Admin]);

/// Every route of Hiring.
pub fn routes(app: &App) -> Routes<App> {
    let public = Public {
        limiter: web::limits::Limiter::new(app.config.public_limits.clone()),
        body_limit: app.config.public_limits.body_limit_bytes,
    };
    Routes::new()
        .include(tests::routes())
        .include(applications::routes(&public))
        .include(take::routes(&public))
}

/// The public endpoints are what a flood hits: rate limits per source and overall, a cap on
/// requests in flight, small bodies. The manager API is not behind them.
#[derive(Clone)]
struct Public {
    limiter: web::limits::Limiter,
    body_limit: usize,
}

impl Public {
    /// The layer a public route's handler is wrapped in (`Routes::route_layered`).
    fn layer(&self) -> impl FnOnce(MethodRouter<App>) -> MethodRouter<App> + use<> {
        let Public {
            limiter,
            body_limit,
        } = self.clone();
        move |handler| {
            handler
                .route_layer(middleware::from_fn(move |req: Request, next: Next| {
                    limiter.clone().middleware(req, next)
                }))
                .layer(DefaultBodyLimit::max(body_limit))
        }
    }
}

/// A path id that is not a UUID names nothing: "not found", as before ids were typed.
fn path_id<T: std::str::FromStr>(id: &str, what: &'static str) -> Result<T, HiringError> {
    id.parse().map_err(|_| Refused::NotFound(what).into())
}
