//! What Matching does when other contexts publish.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::Envelope;
use contracts::ordering::OrderRequested;
use messaging::{Handler, HandlerError};
use storage::Tx;

use crate::domain::pipeline::Pipeline;
use crate::domain::samples::ReferenceSample;
use crate::{matcher, store};

/// The consumer's durable name.
pub const ON_ORDER_REQUESTED: &str = "matching.on-order-requested";

/// A client requested an order: keep it as a reference sample and match it now.
pub struct OnOrderRequested {
    pub pipeline: Arc<Pipeline>,
}

#[async_trait]
impl Handler for OnOrderRequested {
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        let requested: OrderRequested = event.decode()?;
        let reference = ReferenceSample {
            order_id: requested.order_id,
            client_id: requested.client_id,
            skill: requested.skill,
            scheduled_at: requested.scheduled_at,
            ends_at: requested.scheduled_at
                + chrono::Duration::minutes(requested.duration_minutes.max(0)),
        };
        let cause = serde_json::to_string(event).map_err(|e| HandlerError::Failed(e.into()))?;
        if store::insert_reference(tx, &reference, &cause).await? {
            matcher::match_order(tx, &self.pipeline, reference.order_id).await?;
        }
        Ok(())
    }
}

/// The consumer's durable name.
pub const ON_WORKER_HIRED: &str = "matching.on-worker-hired";

/// A candidate was hired: the worker becomes a normal sample, characteristics as skills.
pub struct OnWorkerHired {
    pub wake: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl Handler for OnWorkerHired {
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        let hired: contracts::hiring::WorkerHired = event.decode()?;
        let sample = crate::domain::samples::NormalSample {
            id: hired.worker_id,
            name: hired.name,
            available: true,
            skills: hired
                .characteristics
                .into_iter()
                .map(|(k, v)| (k, v.clamp(0, 100)))
                .collect(),
        };
        store::upsert_sample(tx, &sample).await?;
        // Orders waiting for anyone can now be matched.
        self.wake.notify_one();
        Ok(())
    }
}
