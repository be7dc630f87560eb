//! What IAM does when other contexts publish: decode, then `app/`.

use async_trait::async_trait;
use contracts::Envelope;
use contracts::hiring::WorkerHired;
use messaging::{Handler, HandlerError, Work};

use crate::App;
use crate::app::hire_worker::{Refused, hire_worker};

/// The consumer's durable name.
pub const ON_WORKER_HIRED: &str = "iam.on-worker-hired";

/// A candidate was hired: the worker gets an account (see [`hire_worker`]).
pub struct OnWorkerHired {
    pub app: App,
}

#[async_trait]
impl Handler for OnWorkerHired {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let hired: WorkerHired = event.decode()?;
        hire_worker(&self.app, work, &hired, event)
            .await
            .map_err(|e| match e {
                Refused::Hire(message) => HandlerError::Rejected(message),
                Refused::Failed(e) => HandlerError::Failed(anyhow::Error::from(e)),
            })
    }
}
