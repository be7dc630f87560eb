//! The first start: the web client registered as configured, and a first admin when there
//! is none.

use auth::Role;

use contracts::AccountId;

use super::create_service_account::{Registration, register};
use crate::domain::account::{Account, Status, check_password, normalize_email};
use crate::keys::SigningAlg;
use crate::tokens::random_token;
use crate::{App, WEB_CLIENT, store};

/// Registers (or updates) `mcf-web` and creates the first admin if no admin exists.
pub(crate) async fn bootstrap(app: &App) -> anyhow::Result<()> {
    let id_token_alg = SigningAlg::parse(&app.config.web_id_token_alg)
        .ok_or_else(|| anyhow::anyhow!("iam.web_id_token_alg must be RS256 or EdDSA"))?;
    let mut work = app.ctx.begin().await?;
    store::upsert_client(
        &mut work,
        &store::Client {
            id: WEB_CLIENT.into(),
            name: "MCF web apps".into(),
            confidential: false,
            secret_hash: None,
            redirect_uris: app.config.web_redirect_uris.clone(),
            audiences: app.audiences().iter().map(|s| (*s).to_owned()).collect(),
            account_id: None,
            id_token_alg,
            post_logout_redirect_uris: app.config.web_post_logout_redirect_uris.clone(),
        },
        app.now(),
    )
    .await?;
    if !store::any_admin(&mut work).await? {
        let email = normalize_email(&app.config.bootstrap_admin_email)
            .map_err(|_| anyhow::anyhow!("iam.bootstrap_admin_email is not an e-mail address"))?;
        let (password, generated) = if app.config.bootstrap_admin_password.is_empty() {
            (random_token(18), true)
        } else {
            check_password(&app.config.bootstrap_admin_password)
                .map_err(|e| anyhow::anyhow!("iam.bootstrap_admin_password: {e}"))?;
            (app.config.bootstrap_admin_password.clone(), false)
        };
        let hash = app.passwords.hash(&password).await?;
        let admin = Account {
            id: contracts::AccountId::new(),
            email: email.clone(),
            name: "Administrator".into(),
            roles: vec![Role::Admin],
            status: Status::Active,
            language: None,
        };
        super::add_account(app, &mut work, &admin, Some(&hash)).await?;
        if generated {
            // Shown once, on the console of the first start; never logged.
            println!(
                "IAM: created the first admin {email} with password {password} (shown once; change it: POST /api/iam/me/password)"
            );
        } else {
            eprintln!("IAM: created the first admin {email}");
        }
    }
    work.commit().await?;
    register_services(app).await
}

/// The system's own services sign in to IAM as themselves (`service::peers`) with
/// credentials derived from the system secret; they are registered (again) at every start, so
/// a changed secret takes effect with the restart. Without a secret nothing is registered
/// and services cannot call each other (they say so).
async fn register_services(app: &App) -> anyhow::Result<()> {
    let audiences: Vec<String> = app.audiences().iter().map(|s| (*s).to_owned()).collect();
    for &service in app.audiences() {
        let Some(creds) = app.ctx.peers.credentials_of(service) else {
            return Ok(());
        };
        // Another IAM replica starting at the same time may create the account between our
        // read and our write: then the second try finds it.
        let mut tries = 0;
        loop {
            tries += 1;
            let mut work = app.ctx.begin().await?;
            let existing = store::client(&mut work, &creds.client_id)
                .await?
                .and_then(|c| c.account_id);
            let registered = register(
                app,
                &mut work,
                Registration {
                    account_id: existing.unwrap_or_else(AccountId::new),
                    email: format!("{service}@system.mcf.local"),
                    name: creds.client_id.clone(),
                    client_id: creds.client_id.clone(),
                    secret: &creds.client_secret,
                    audiences: audiences.clone(),
                    new_account: existing.is_none(),
                },
            )
            .await;
            match registered {
                Ok(()) => {
                    work.commit().await?;
                    break;
                }
                Err(e) if tries < 3 => {
                    tracing::debug!(service, error = %e, "service client registration raced; again");
                    drop(work);
                }
                Err(e) => anyhow::bail!("registering service {service}: {e}"),
            }
        }
    }
    Ok(())
}
