//! What Matching does when other contexts publish: decode, then the use case in `app`.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::ordering::{OrderCanceled, OrderCompleted, OrderFailed, OrderRequested};
use contracts::{Envelope, Event};
use messaging::{Handler, HandlerError, Work};
use service::Clock;

use crate::app::close::{self, Outcome};
use crate::app::matcher::Matcher;
use crate::app::{register, request};
use crate::domain::samples::{NormalSample, ReferenceSample};
use crate::error::MatchingError;

/// A refusal inside a consumer is the event's fault (never retried); anything else is.
impl From<MatchingError> for HandlerError {
    fn from(e: MatchingError) -> Self {
        match e {
            MatchingError::Unexpected(e) => HandlerError::Failed(e.into_anyhow()),
            refusal => HandlerError::Rejected(refusal.to_string()),
        }
    }
}

/// The consumer's durable name.
pub const ON_ORDER_REQUESTED: &str = "matching.on-order-requested";

/// A client requested an order: keep it as a reference sample and match it now.
pub struct OnOrderRequested {
    pub matcher: Arc<Matcher>,
    /// Wakes the background sweep, which decides orders needing external steps.
    pub wake: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl Handler for OnOrderRequested {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let requested: OrderRequested = event.decode()?;
        let reference = ReferenceSample {
            order_id: requested.order_id,
            client_id: requested.client_id,
            skill: requested.skill,
            scheduled_at: requested.scheduled_at,
            ends_at: crate::domain::samples::ends_at(
                requested.scheduled_at,
                requested.duration_minutes,
            )
            .ok_or_else(|| {
                HandlerError::Rejected(format!(
                    "the order's end (scheduled_at {} + {} minutes) is out of range",
                    requested.scheduled_at, requested.duration_minutes
                ))
            })?,
            excluded_workers: requested.excluded_workers,
            rebook_of: requested.rebook_of,
        };
        let cause = serde_json::to_string(event).map_err(|e| HandlerError::Failed(e.into()))?;
        let now = self.matcher.now();
        request::order_requested(work, &self.matcher, &self.wake, &reference, &cause, now).await?;
        Ok(())
    }
}

/// The consumer's durable name.
pub const ON_WORKER_HIRED: &str = "matching.on-worker-hired";

/// A candidate was hired: the worker becomes a normal sample, characteristics as skills.
pub struct OnWorkerHired {
    pub wake: Arc<tokio::sync::Notify>,
    pub clock: Clock,
}

#[async_trait]
impl Handler for OnWorkerHired {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let hired: contracts::hiring::WorkerHired = event.decode()?;
        let sample = NormalSample {
            id: hired.worker_id,
            name: hired.name,
            available: true,
            skills: hired
                .characteristics
                .into_iter()
                .map(|(k, v)| (k, v.clamp(0, 100)))
                .collect(),
        };
        register::save(
            work,
            &sample,
            &format!("event:{}", event.id),
            "hired again: profile replaced",
            self.clock.now(),
        )
        .await?;
        // Orders waiting for anyone can now be matched.
        self.wake.notify_one();
        Ok(())
    }
}

/// The consumer's durable name.
pub const ON_ORDER_CLOSED: &str = "matching.on-order-closed";

/// The event types [`OnOrderClosed`] consumes.
pub const CLOSING_EVENTS: &[&str] = &[OrderCompleted::TYPE, OrderCanceled::TYPE, OrderFailed::TYPE];

/// An order ended (completed, canceled or failed): see [`close::order_closed`].
pub struct OnOrderClosed {
    pub clock: Clock,
}

#[async_trait]
impl Handler for OnOrderClosed {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let (order, outcome) = match event.event_type.as_str() {
            OrderCompleted::TYPE => {
                let e: OrderCompleted = event.decode()?;
                (e.order, Outcome::Completed)
            }
            OrderCanceled::TYPE => {
                let e: OrderCanceled = event.decode()?;
                (e.order, Outcome::Canceled)
            }
            OrderFailed::TYPE => {
                let e: OrderFailed = event.decode()?;
                (e.order, Outcome::Failed { reason: e.reason })
            }
            other => return Err(HandlerError::Rejected(format!("unexpected event {other}"))),
        };
        close::order_closed(work, &order, outcome, self.clock.now()).await?;
        Ok(())
    }
}
