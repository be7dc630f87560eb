//! What Quality does when other contexts publish: every order-related event becomes
//! timeline entries (decode, then `app::record_event`). One consumer per producing
//! context, so a stream that is slow or replayed holds up only its own.

use async_trait::async_trait;
use contracts::Envelope;
use messaging::{Handler, HandlerError, Work};

use crate::app;
use crate::error::QualityError;

/// The durable name of the timeline's consumer of `source`'s stream.
pub fn consumer_name(source: &str) -> String {
    format!("quality.timeline.{source}")
}

/// An order-related event: onto the timeline.
pub struct OnOrderEvent;

#[async_trait]
impl Handler for OnOrderEvent {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        app::record_event(work, event).await.map_err(|e| match e {
            QualityError::Unexpected(e) => HandlerError::from(e.into_anyhow()),
            refusal => HandlerError::Rejected(refusal.to_string()),
        })
    }
}
