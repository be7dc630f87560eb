//! An admin changes an account's roles, status or name. Disabling signs it out everywhere.

use auth::Role;
use contracts::AccountId;
use service::Refused;

use crate::domain::account::{Account, Status, parse_roles};
use crate::error::IamError;
use crate::{App, app, store};

/// What the admin changes; `None` leaves it.
pub(crate) struct Change {
    pub roles: Option<Vec<String>>,
    pub status: Option<Status>,
    pub name: Option<String>,
}

/// Applies `change` to the account `id` names (any text: not an id is not found), by the
/// admin `by`, who may not lock themselves out. Announces `iam.account.changed`.
pub(crate) async fn change_account(
    app: &App,
    by: AccountId,
    id: &str,
    change: Change,
) -> Result<Account, IamError> {
    let mut work = app.ctx.begin().await?;
    let mut account = store::account_by_text(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("account"))?;
    if let Some(roles) = &change.roles {
        account.roles = parse_roles(roles)?;
    }
    if let Some(name) = change.name {
        account.name = web::text::single_line("name", &name, 100)?;
    }
    if let Some(status) = change.status {
        account.status = status;
    }
    if account.id == by
        && (!account.roles.contains(&Role::Admin) || account.status != Status::Active)
    {
        return Err(Refused::conflict(
            "self_lockout",
            "admins cannot remove their own admin role or disable themselves",
        )
        .into());
    }
    app::save_account(app, &mut work, &account).await?;
    if account.status == Status::Disabled {
        store::revoke_account_tokens(&mut work, account.id, app.now()).await?;
    }
    work.commit().await?;
    Ok(account)
}
