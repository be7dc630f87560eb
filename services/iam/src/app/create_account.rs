//! An admin creates a person's account: with a password, or with a set-password invite
//! mailed to them. An `Idempotency-Key` makes a retry answer the first result.

use auth::Role;
use contracts::AccountId;
use messaging::idempotency::Keyed;
use service::Created;

use crate::domain::account::{Account, Status, check_password, normalize_email, parse_roles};
use crate::error::IamError;
use crate::{App, app};

/// What the admin asks for.
pub(crate) struct NewAccount<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub roles: &'a [String],
    pub password: Option<&'a str>,
}

/// Creates the account (`iam.account.created`; without a password also the invite,
/// `iam.mail.requested`). With an idempotency `key`, the first answer (`201` with the
/// account) is remembered for the same request (what it asked, the password as a digest).
pub(crate) async fn create_account(
    app: &App,
    by: AccountId,
    new: NewAccount<'_>,
    key: Option<&str>,
) -> Result<Created<Account>, IamError> {
    let asked = (
        new.email,
        new.name,
        new.roles,
        new.password.map(crate::tokens::digest),
    );
    let email = normalize_email(new.email)?;
    // One line: names go into mail headers and pages.
    let name = web::text::single_line("name", new.name, 100)?;
    let roles = parse_roles(new.roles)?;
    if roles.is_empty() || roles.contains(&Role::Service) {
        return Err(IamError::invalid(
            "roles",
            "give at least one person role (service accounts have their own endpoint)",
        ));
    }
    // Hashed before the unit of work: an argon2 hash takes a while, and a write transaction
    // (SQLite's one writer) must not wait for it.
    let hash = match new.password {
        Some(p) => {
            check_password(p)?;
            Some(app.passwords.hash(p).await?)
        }
        None => None,
    };
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{by} POST /accounts"), key, &asked)
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => return Ok(Created::Replayed { status, body }),
    };
    let account = Account {
        id: AccountId::new(),
        email,
        name,
        roles,
        status: Status::Active,
        language: None,
    };
    app::add_account(app, &mut work, &account, hash.as_deref()).await?;
    if hash.is_none() {
        app::password_link::invite(app, &mut work, &account, None).await?;
    }
    work.answer(ticket, 201, &account).await?;
    work.commit().await?;
    Ok(Created::New(account))
}
