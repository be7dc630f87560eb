//! Ordering: the service-type catalog and orders from request to activation.

pub mod domain;
mod error;
pub mod events;
mod routes;
mod store;

use std::sync::Arc;

use contracts::Event;
use contracts::matching::WorkerAssigned;
use messaging::Runtime;

pub use error::OrderingError;

/// The context's name (bus stream, URL prefix, database name).
pub const NAME: &str = "ordering";

/// Ordering's own migrations (the messaging tables come separately).
pub fn migrations() -> storage::Migrations {
    storage::Migrations::new(
        sqlx::migrate!("migrations/sqlite"),
        sqlx::migrate!("migrations/postgres"),
    )
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct App {
    rt: Runtime,
}

/// Builds the service: routes, the outbox relay and the assignment consumer.
pub fn build(rt: Runtime, verifier: Arc<auth::Verifier>) -> web::Service {
    let on_assignment = rt.consumer(events::ON_ASSIGNMENT, Arc::new(events::OnWorkerAssigned));
    let tasks = vec![
        rt.relay_task(),
        rt.consumer_task(
            WorkerAssigned::SOURCE,
            &[WorkerAssigned::TYPE],
            on_assignment.clone(),
        ),
    ];
    auth::assemble(
        NAME,
        routes::router(App { rt: rt.clone() }),
        rt.db.clone(),
        vec![on_assignment],
        verifier,
        tasks,
    )
}
