//! Signing in at the upstream provider (Happy Cat Box): the authorization request goes on
//! there, and comes back to finish here as if the person had signed in with a password.
//! Their client account is created on the first sign-in.

use auth::Role;
use service::Refused;

use super::Params;
use super::sign_in::{Refusal, check_request, issue_code};
use crate::domain::account::{Account, Status, normalize_email};
use crate::error::IamError;
use crate::federation::{self, UpstreamIdClaims};
use crate::store::{self, FederationState};
use crate::tokens::{digest, random_token};
use crate::{App, app};

/// How long a person may take at the upstream provider.
const STATE_TTL_S: i64 = 600;

/// Where to send the browser for the authorization request `p`: upstream, remembering it.
pub(crate) async fn start(app: &App, p: &Params) -> Result<String, Refusal> {
    if app.config.upstream.issuer.is_empty() {
        return Err(IamError::from(Refused::NotFound("federation")).into());
    }
    check_request(app, p).await?;
    let mut request = p.clone();
    request.remove("email");
    request.remove("password");
    let state = random_token(32);
    let verifier = random_token(48);
    let nonce = random_token(16);
    let location = federation::authorization_url(app, &state, &verifier, &nonce).await?;
    let mut work = app.ctx.begin().await.map_err(IamError::from)?;
    store::insert_federation_state(
        &mut work,
        &digest(&state),
        &FederationState {
            request: serde_json::to_string(&request).map_err(IamError::from)?,
            verifier,
            nonce,
        },
        app.now() + STATE_TTL_S * 1_000_000,
    )
    .await
    .map_err(IamError::from)?;
    work.commit().await.map_err(IamError::from)?;
    Ok(location)
}

/// How the upstream's answer ended.
pub(crate) enum Back {
    /// Signed in: to the client, with a code.
    Redirect(String),
    /// The account is disabled.
    Disabled,
}

/// The upstream signed the person in (`state`, `code`): verify, find or create the account,
/// and finish the original authorization request.
pub(crate) async fn callback(app: &App, state: &str, code: &str) -> Result<Back, Refusal> {
    let mut work = app.ctx.begin().await.map_err(IamError::from)?;
    // Spent exactly once: only the first callback with this state gets it back.
    let remembered = store::use_federation_state(&mut work, &digest(state), app.now())
        .await
        .map_err(IamError::from)?
        .ok_or_else(|| IamError::invalid_request("unknown, used or expired federation state"))?;
    work.commit().await.map_err(IamError::from)?;
    let request: Params = serde_json::from_str(&remembered.request).map_err(IamError::from)?;
    let claims = federation::redeem(app, code, &remembered.verifier, &remembered.nonce).await?;
    let account = find_or_create(app, &claims).await?;
    if account.status != Status::Active {
        return Ok(Back::Disabled);
    }
    let redirect = check_request(app, &request).await?;
    Ok(Back::Redirect(
        issue_code(app, &request, &redirect, &account).await?,
    ))
}

/// The account linked to the upstream subject; else created as a client on first sign-in.
async fn find_or_create(app: &App, claims: &UpstreamIdClaims) -> Result<Account, IamError> {
    let subject = format!("{}#{}", app.config.upstream.issuer, claims.sub);
    let mut work = app.ctx.begin().await?;
    if let Some(id) = store::account_of_upstream(&mut work, &subject).await? {
        return store::account(&mut work, id)
            .await?
            .ok_or(Refused::NotFound("account").into());
    }
    let email = normalize_email(&claims.email)?;
    // The upstream's display name is not ours to refuse (the person would be locked out),
    // but it must be one line like every other account name: it goes into mail headers,
    // and PostgreSQL cannot store a NUL.
    let name = web::text::to_single_line(&claims.name, 100);
    let account = Account {
        id: contracts::AccountId::new(),
        name: if name.is_empty() { email.clone() } else { name },
        email,
        roles: vec![Role::Client],
        status: Status::Active,
        language: None,
    };
    // An existing local account with the same e-mail is not taken over: the insert fails
    // with email_taken, and an admin decides.
    app::add_account(app, &mut work, &account, None).await?;
    store::link_upstream(&mut work, account.id, &subject).await?;
    work.commit().await?;
    tracing::info!(account = %account.id, "client account created on first federated sign-in");
    Ok(account)
}
