//! What IAM does when other contexts publish.

use async_trait::async_trait;
use auth::Role;
use contracts::hiring::WorkerHired;
use contracts::{AccountId, Envelope};
use messaging::{Handler, HandlerError, Work};

use crate::domain::account::{Account, Status, normalize_email};
use crate::error::IamError;
use crate::{App, store};

/// The consumer's durable name.
pub const ON_WORKER_HIRED: &str = "iam.on-worker-hired";

/// A candidate was hired: the worker gets an account (id = the worker id) and a set-password
/// invite. Someone who already has an account (say, as a client) was hired under that
/// account's id (Hiring keeps accounts by e-mail) and gets the worker role.
pub struct OnWorkerHired {
    pub app: App,
}

#[async_trait]
impl Handler for OnWorkerHired {
    async fn handle(&self, work: &mut Work, event: &Envelope) -> Result<(), HandlerError> {
        let hired: WorkerHired = event.decode()?;
        let email = normalize_email(&hired.email)
            .map_err(|e| HandlerError::Rejected(format!("email: {e}")))?;
        let failed = |e: IamError| HandlerError::Failed(anyhow::anyhow!(e.to_string()));
        let worker_id = hired.worker_id;
        // The worker's own account has the worker's id (issue 10).
        let account_id = AccountId::from(worker_id);
        if let Some((mut existing, _)) = store::credentials(work, &email).await.map_err(failed)? {
            // One person, one identity: Matching assigns jobs to the worker id and Ordering
            // shows them to the account that signs in, so the two must be the same id. Hiring
            // hires someone with an account under that account's id; a different id means the
            // account appeared after Hiring last heard from IAM (a race). Giving the role here
            // would make a worker who signs in and never sees a job, every one a no-show; a
            // second account cannot exist (one per e-mail). So the hire is refused, to the
            // dead letters, where an operator sees both ids (and, once the person is sorted
            // out, can replay or re-hire).
            if existing.id != account_id {
                let message = format!(
                    "worker {worker_id} hired for {email}, but that e-mail already has account {}: \
                     one person cannot have two ids",
                    existing.id
                );
                tracing::error!(worker_id = %worker_id, account_id = %existing.id, "{message}");
                return Err(HandlerError::Rejected(message));
            }
            if !existing.roles.contains(&Role::Worker) {
                existing.roles.push(Role::Worker);
                store::update_account(work, &existing)
                    .await
                    .map_err(failed)?;
            }
            return Ok(());
        }
        if let Some(other) = store::account(work, account_id).await.map_err(failed)? {
            // Cannot happen unless ids are reused; inserting would fail forever, so say so.
            let message = format!(
                "worker {worker_id} hired for {email}, but that id is the account of {}",
                other.email
            );
            tracing::error!(worker_id = %worker_id, "{message}");
            return Err(HandlerError::Rejected(message));
        }
        let account = Account {
            id: account_id,
            email,
            name: hired.name.clone(),
            roles: vec![Role::Worker],
            status: Status::Active,
        };
        store::insert_account(work, &account, None)
            .await
            .map_err(failed)?;
        crate::routes::admin::invite(&self.app, work, &account, Some(event))
            .await
            .map_err(failed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use contracts::{ApplicationId, WorkerId};

    use super::*;
    use crate::test_app as app;

    fn hired(worker_id: WorkerId, email: &str) -> Envelope {
        let hired = WorkerHired {
            worker_id,
            application_id: ApplicationId::new(),
            name: "Zoe".into(),
            age: 3,
            breed: "Siamese".into(),
            coat_colour: "cream".into(),
            email: email.into(),
            photo_url: "http://hiring.test/applications/x/photo".into(),
            characteristics: [("cleaning".to_owned(), 100)].into(),
            strengths: vec!["cleaning".into()],
            weaknesses: vec![],
        };
        Envelope::new(&hired, 2, None)
    }

    async fn handle(app: &App, event: &Envelope) -> Result<(), HandlerError> {
        let mut work = app.rt.begin().await.unwrap();
        let result = OnWorkerHired { app: app.clone() }
            .handle(&mut work, event)
            .await;
        work.commit().await.unwrap();
        result
    }

    #[tokio::test]
    async fn a_hire_under_another_id_than_the_existing_account_is_rejected_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let zoe = Account {
            id: AccountId::new(),
            email: "zoe@cats.test".into(),
            name: "Zoe".into(),
            roles: vec![Role::Client],
            status: Status::Active,
        };
        let mut tx = app.rt.db.begin().await.unwrap();
        store::insert_account(&mut tx, &zoe, None).await.unwrap();
        tx.commit().await.unwrap();

        // The account appeared after Hiring last heard: a new id for the same person.
        let other = WorkerId::new();
        match handle(&app, &hired(other, "Zoe@Cats.test")).await {
            Err(HandlerError::Rejected(message)) => {
                assert!(
                    message.contains(&other.to_string()) && message.contains(&zoe.id.to_string()),
                    "{message}"
                );
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        let mut conn = app.rt.db.pool().acquire().await.unwrap();
        let account = store::account(&mut conn, zoe.id).await.unwrap().unwrap();
        assert_eq!(account.roles, vec![Role::Client], "nothing changed");
        assert!(
            store::account(&mut conn, other.into())
                .await
                .unwrap()
                .is_none()
        );
        drop(conn);

        // Hired under her own account's id: she keeps it and becomes a worker too.
        handle(&app, &hired(zoe.id.into(), "zoe@cats.test"))
            .await
            .unwrap();
        let mut conn = app.rt.db.pool().acquire().await.unwrap();
        let account = store::account(&mut conn, zoe.id).await.unwrap().unwrap();
        assert!(account.roles.contains(&Role::Worker), "{:?}", account.roles);
        assert!(account.roles.contains(&Role::Client), "{:?}", account.roles);
    }
}
