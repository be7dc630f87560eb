//! What IAM does when other contexts publish.

use async_trait::async_trait;
use auth::Role;
use contracts::Envelope;
use contracts::hiring::WorkerHired;
use messaging::{Handler, HandlerError};
use storage::Tx;

use crate::domain::account::{Account, Status, normalize_email};
use crate::error::IamError;
use crate::{App, store};

/// The consumer's durable name.
pub const ON_WORKER_HIRED: &str = "iam.on-worker-hired";

/// A candidate was hired: the worker gets an account (id = the worker id) and a set-password
/// invite. Someone who already has an account (say, as a client) gets the worker role.
pub struct OnWorkerHired {
    pub app: App,
}

#[async_trait]
impl Handler for OnWorkerHired {
    async fn handle(&self, tx: &mut Tx, event: &Envelope) -> Result<(), HandlerError> {
        let hired: WorkerHired = event.decode()?;
        let email = normalize_email(&hired.email)
            .map_err(|e| HandlerError::Rejected(format!("email: {e}")))?;
        let failed = |e: IamError| HandlerError::Failed(anyhow::anyhow!(e.to_string()));
        if let Some((mut existing, _)) = store::credentials(tx, &email).await.map_err(failed)? {
            if !existing.roles.contains(&Role::Worker) {
                existing.roles.push(Role::Worker);
                store::update_account(tx, &existing).await.map_err(failed)?;
            }
            return Ok(());
        }
        let account = Account {
            id: hired.worker_id.to_string(),
            email,
            name: hired.name.clone(),
            roles: vec![Role::Worker],
            status: Status::Active,
        };
        store::insert_account(tx, &account, None)
            .await
            .map_err(failed)?;
        crate::routes::admin::invite(&self.app, tx, &account, Some(event))
            .await
            .map_err(failed)?;
        Ok(())
    }
}
