//! An admin creates a service account: a confidential client for service-to-service calls,
//! whose secret is shown once (and so never stored for a replay: no idempotency key).

use auth::Role;
use contracts::AccountId;

use crate::domain::account::{Account, Status};
use crate::error::IamError;
use crate::keys::SigningAlg;
use crate::tokens::{digest, random_token};
use crate::{App, app, store};

/// A service account as created: the credentials its service signs in with.
pub(crate) struct ServiceAccount {
    pub client_id: String,
    pub client_secret: String,
    pub account_id: AccountId,
}

/// Creates the account `name` (1 to 60 letters, digits or dashes) whose tokens are for
/// `audiences` (default: every service).
pub(crate) async fn create_service_account(
    app: &App,
    name: &str,
    audiences: Option<Vec<String>>,
) -> Result<ServiceAccount, IamError> {
    let name = name.trim().to_owned();
    if name.is_empty()
        || name.len() > 60
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(IamError::invalid(
            "name",
            "must be 1 to 60 letters, digits or dashes",
        ));
    }
    let audiences =
        audiences.unwrap_or_else(|| app.audiences().iter().map(|s| (*s).to_owned()).collect());
    if let Some(bad) = audiences
        .iter()
        .find(|a| !app.audiences().contains(&a.as_str()))
    {
        return Err(IamError::invalid(
            "audiences",
            &format!("unknown service {bad:?}"),
        ));
    }
    let account_id = AccountId::new();
    let secret = random_token(32);
    let client_id = format!("svc-{name}");
    let mut work = app.ctx.begin().await?;
    register(
        app,
        &mut work,
        Registration {
            account_id,
            email: format!("{name}@services.mcf.local"),
            name,
            client_id: client_id.clone(),
            secret: &secret,
            audiences,
            new_account: true,
        },
    )
    .await?;
    work.commit().await?;
    Ok(ServiceAccount {
        client_id,
        client_secret: secret,
        account_id,
    })
}

/// A service account's account and confidential client, as [`register`] writes them.
pub(crate) struct Registration<'a> {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub client_id: String,
    pub secret: &'a str,
    pub audiences: Vec<String>,
    /// Whether the account is to be created too (else it exists: only the client changes).
    pub new_account: bool,
}

/// Writes a service account (role `service`) and its confidential client in `work`: an
/// admin's (above) or one of the system's own services' (bootstrap).
pub(crate) async fn register(
    app: &App,
    work: &mut messaging::Work,
    r: Registration<'_>,
) -> Result<(), IamError> {
    if r.new_account {
        let account = Account {
            id: r.account_id,
            email: r.email,
            name: r.name.clone(),
            roles: vec![Role::Service],
            status: Status::Active,
            language: None,
        };
        app::add_account(app, work, &account, None).await?;
    }
    store::upsert_client(
        work,
        &store::Client {
            id: r.client_id,
            name: r.name,
            confidential: true,
            secret_hash: Some(digest(r.secret)),
            redirect_uris: vec![],
            audiences: r.audiences,
            account_id: Some(r.account_id),
            // Service accounts get no ID tokens; the column wants a value.
            id_token_alg: SigningAlg::RS256,
            post_logout_redirect_uris: vec![],
        },
        app.now(),
    )
    .await?;
    Ok(())
}
