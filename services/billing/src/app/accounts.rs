//! Payment accounts from other contexts' news: IAM's accounts (clients, managers, and
//! workers who sign in) and Hiring's hires (a worker's payment account).

use contracts::hiring::WorkerHired;
use contracts::{AccountId, WorkerId};
use messaging::Work;

use crate::App;
use crate::domain::LedgerAccount;
use crate::error::BillingError;
use crate::store::{self, Holder};

/// IAM announced account `id` (created or changed) at aggregate `version` with `roles`:
/// each of its personal roles (client, worker, manager) gets its payment account, opened
/// if needed, with the holder's name and e-mail unless a newer announcement was heard.
/// Roles taken away keep their account: what was booked on it stays.
pub async fn remember_account(
    app: &App,
    work: &mut Work,
    id: AccountId,
    roles: &[String],
    holder: &Holder,
) -> Result<(), BillingError> {
    let now = app.ctx.clock.now();
    for role in roles {
        let account = match role.as_str() {
            "client" => LedgerAccount::Client(id),
            "manager" => LedgerAccount::Manager(id),
            "worker" => LedgerAccount::Worker(WorkerId::from(id)),
            _ => continue,
        };
        store::remember_holder(work, account, holder, now).await?;
    }
    Ok(())
}

/// Hiring hired a worker: the worker's payment account is opened, named as the hire says
/// (IAM's account of the same id, heard before or after, keeps the newer name).
pub async fn open_worker_account(
    app: &App,
    work: &mut Work,
    hired: &WorkerHired,
) -> Result<(), BillingError> {
    let holder = Holder {
        name: hired.name.clone(),
        email: hired.email.clone(),
        // Below any IAM version: IAM's news of the same person wins.
        version: 0,
    };
    store::remember_holder(
        work,
        LedgerAccount::Worker(hired.worker_id),
        &holder,
        app.ctx.clock.now(),
    )
    .await?;
    Ok(())
}
