//! Hiring hired a candidate: the worker gets an account (id = the worker id) and a
//! set-password invite; someone who already has an account (say, as a client) was hired
//! under that account's id (Hiring keeps accounts by e-mail) and gets the worker role.

use auth::Role;
use contracts::hiring::WorkerHired;
use contracts::{AccountId, Envelope};
use messaging::Work;

use crate::domain::account::{Account, Status, normalize_email};
use crate::error::IamError;
use crate::{App, app, store};

/// Why a hire cannot be applied, ever: an operator must look (the dead letters).
#[derive(Debug)]
pub(crate) enum Refused {
    /// The message names what does not fit.
    Hire(String),
    /// Anything else (the database...): worth retrying.
    Failed(IamError),
}

impl From<IamError> for Refused {
    fn from(e: IamError) -> Self {
        Refused::Failed(e)
    }
}

/// Applies `hired` (carried by `event`) in the consumer's `work`.
pub(crate) async fn hire_worker(
    app: &App,
    work: &mut Work,
    hired: &WorkerHired,
    event: &Envelope,
) -> Result<(), Refused> {
    let email = normalize_email(&hired.email).map_err(|e| Refused::Hire(format!("email: {e}")))?;
    let worker_id = hired.worker_id;
    // The worker's own account has the worker's id (issue 10).
    let account_id = AccountId::from(worker_id);
    if let Some((mut existing, _)) = store::credentials(work, &email)
        .await
        .map_err(IamError::from)?
    {
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
            return Err(Refused::Hire(message));
        }
        if !existing.roles.contains(&Role::Worker) {
            existing.roles.push(Role::Worker);
            app::save_account(app, work, &existing).await?;
        }
        return Ok(());
    }
    if let Some(other) = store::account(work, account_id)
        .await
        .map_err(IamError::from)?
    {
        // Cannot happen unless ids are reused; inserting would fail forever, so say so.
        let message = format!(
            "worker {worker_id} hired for {email}, but that id is the account of {}",
            other.email
        );
        tracing::error!(worker_id = %worker_id, "{message}");
        return Err(Refused::Hire(message));
    }
    let account = Account {
        id: account_id,
        email,
        name: hired.name.clone(),
        roles: vec![Role::Worker],
        status: Status::Active,
        // The language the candidate applied in: the invite is written in it.
        language: hired
            .language
            .as_deref()
            .and_then(crate::domain::account::language)
            .map(str::to_owned),
    };
    app::add_account(app, work, &account, None).await?;
    app::password_link::invite(app, work, &account, Some(event)).await?;
    Ok(())
}
