//! IAM's use cases, one file each: load, decide (`domain/`), save (`store/`), publish and
//! commit in one [`messaging::Work`]. Routes and event handlers call these, never the
//! store directly for a write.

pub(crate) mod bootstrap;
pub(crate) mod change_account;
pub(crate) mod change_password;
pub(crate) mod create_account;
pub(crate) mod create_service_account;
pub(crate) mod federated_sign_in;
pub(crate) mod forgot_password;
pub(crate) mod guesses;
pub(crate) mod hire_worker;
pub(crate) mod password_link;
pub(crate) mod read;
pub(crate) mod rotate_keys;
pub(crate) mod set_language;
pub(crate) mod set_password;
pub(crate) mod sign_in;
pub(crate) mod sign_out;
pub(crate) mod token;

use std::collections::BTreeMap;

use contracts::Envelope;
use contracts::iam::{AccountChanged, AccountCreated};
use messaging::Work;
use service::Refused;

use crate::domain::account::Account;
use crate::error::IamError;
use crate::{App, store};

/// The parameters of an OAuth request (query or form) as sent: the authorization request
/// travels through the sign-in page and upstream whole, so every parameter is kept.
pub(crate) type Params = BTreeMap<String, String>;

/// A parameter of `p`, empty when missing (OAuth treats both alike).
pub(crate) fn param<'a>(p: &'a Params, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

/// Saves a new account and announces it (`iam.account.created`) in `work`; an e-mail that
/// already has an account is refused (`email_taken`).
pub(crate) async fn add_account(
    app: &App,
    work: &mut Work,
    account: &Account,
    password_hash: Option<&str>,
) -> Result<(), IamError> {
    match store::insert_account(work, account, password_hash, app.now()).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => {
            return Err(Refused::conflict(
                "email_taken",
                format!("an account with e-mail {} exists", account.email),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    }
    let event = AccountCreated {
        account_id: account.id,
        email: account.email.clone(),
        name: account.name.clone(),
        roles: account.role_names(),
        language: account.language.clone(),
    };
    work.publish(&Envelope::new(&event, 1, None)).await?;
    Ok(())
}

/// Saves an account's name, roles and status and announces the new state
/// (`iam.account.changed`) in `work`.
pub(crate) async fn save_account(
    app: &App,
    work: &mut Work,
    account: &Account,
) -> Result<(), IamError> {
    let version = store::update_account(work, account, app.now()).await?;
    let event = AccountChanged {
        account_id: account.id,
        email: account.email.clone(),
        name: account.name.clone(),
        roles: account.role_names(),
        status: account.status.as_str().to_owned(),
        language: account.language.clone(),
    };
    work.publish(&Envelope::new(&event, version, None)).await?;
    Ok(())
}
