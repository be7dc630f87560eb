//! The token endpoint's grants: an authorization code (with PKCE), a refresh token (rotated,
//! reuse ends the sign-in), client credentials (service accounts).

use axum::http::StatusCode;
use contracts::AccountId;

use super::{Params, param};
use crate::App;
use crate::domain::account::{Account, Status};
use crate::domain::pkce;
use crate::error::IamError;
use crate::store::{self, Refresh};
use crate::tokens::{self, digest, random_token};

/// What a grant gives.
pub(crate) struct Issued {
    pub access_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Only for a person's sign-in (not client credentials).
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// Only when the scope has `openid`.
    pub id_token: Option<String>,
}

impl Issued {
    /// An access token alone, for `account` signed in through `client`.
    async fn access(
        app: &App,
        account: &Account,
        client: &store::Client,
    ) -> Result<Issued, IamError> {
        let access_token = tokens::access_token(
            app,
            account.id,
            &account.roles,
            &client.id,
            &client.audiences,
        )
        .await?;
        Ok(Issued {
            access_token,
            expires_in: app.config.access_token_ttl_s,
            refresh_token: None,
            scope: None,
            id_token: None,
        })
    }
}

/// A client's credentials as sent: HTTP Basic, else the form's `client_id`/`client_secret`.
pub(crate) type Credentials = Option<(String, String)>;

/// `POST /token` with the form `p` (and the HTTP Basic credentials, if any).
pub(crate) async fn grant(app: &App, basic: Credentials, p: &Params) -> Result<Issued, IamError> {
    match param(p, "grant_type") {
        "authorization_code" => code_grant(app, p).await,
        "refresh_token" => refresh_grant(app, p).await,
        "client_credentials" => client_credentials(app, basic, p).await,
        "" => Err(IamError::invalid_request("grant_type is required")),
        _ => Err(IamError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "use authorization_code, refresh_token or client_credentials".into(),
        }),
    }
}

/// The registered public client `id` (the web apps).
pub(crate) async fn public_client(app: &App, id: &str) -> Result<store::Client, IamError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::client(&mut conn, id)
        .await?
        .filter(|c| !c.confidential)
        .ok_or_else(|| IamError::invalid_client("unknown client_id"))
}

/// The confidential client whose secret this is.
pub(crate) async fn confidential_client(
    app: &App,
    id: &str,
    secret: &str,
) -> Result<store::Client, IamError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    store::client(&mut conn, id)
        .await?
        .filter(|c| c.confidential && c.secret_hash.as_deref() == Some(digest(secret).as_str()))
        .ok_or_else(|| IamError::invalid_client("unknown client or wrong secret"))
}

async fn code_grant(app: &App, p: &Params) -> Result<Issued, IamError> {
    let client = public_client(app, param(p, "client_id")).await?;
    let code_hash = digest(param(p, "code"));
    // The sign-in this code starts; recorded with the code so a replay can end it.
    let family = uuid::Uuid::now_v7().to_string();
    let mut work = app.ctx.begin().await?;
    let now = app.now();
    let Some(code) = store::redeem_code(&mut work, &code_hash, &family, now).await? else {
        // A code presented twice was intercepted or replayed: the tokens already issued
        // from it may be in the wrong hands, so that sign-in ends (RFC 6749 4.1.2). Its
        // access tokens expire on their own within minutes.
        if let Some(issued) = store::redeemed_code_family(&mut work, &code_hash).await? {
            store::revoke_family(&mut work, &issued, now).await?;
            work.commit().await?;
            tracing::warn!(family = %issued, "authorization code replayed: its sign-in revoked");
        }
        return Err(IamError::invalid_grant(
            "the code is unknown or was already used",
        ));
    };
    // The code is spent whatever happens next: commit that first.
    work.commit().await?;
    if code.expires_at < now {
        return Err(IamError::invalid_grant("the code expired"));
    }
    if code.client_id != client.id || code.redirect_uri != param(p, "redirect_uri") {
        return Err(IamError::invalid_grant(
            "client_id or redirect_uri does not match the code",
        ));
    }
    if !pkce::verifies(param(p, "code_verifier"), &code.code_challenge) {
        return Err(IamError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    issue(
        app,
        &client,
        code.account_id,
        &code.scope,
        &family,
        code.nonce.as_deref(),
    )
    .await
}

async fn refresh_grant(app: &App, p: &Params) -> Result<Issued, IamError> {
    let client = public_client(app, param(p, "client_id")).await?;
    let hash = digest(param(p, "refresh_token"));
    let mut work = app.ctx.begin().await?;
    let now = app.now();
    let Some(old) = store::refresh(&mut work, &hash).await? else {
        return Err(IamError::invalid_grant("unknown refresh token"));
    };
    if old.client_id != client.id {
        return Err(IamError::invalid_grant(
            "the refresh token belongs to another client",
        ));
    }
    if old.used || old.revoked || !store::use_refresh(&mut work, &hash, now).await? {
        // A used token presented again was stolen or replayed: end the whole sign-in.
        store::revoke_family(&mut work, &old.family_id, now).await?;
        work.commit().await?;
        tracing::warn!(family = %old.family_id, "refresh token reuse: family revoked");
        return Err(IamError::invalid_grant(
            "the refresh token was already used or revoked",
        ));
    }
    work.commit().await?;
    if old.expires_at < now {
        return Err(IamError::invalid_grant("the refresh token expired"));
    }
    issue(
        app,
        &client,
        old.account_id,
        &old.scope,
        &old.family_id,
        None,
    )
    .await
}

/// Access token (+ refresh token, + ID token for `openid`) for an active account.
async fn issue(
    app: &App,
    client: &store::Client,
    account_id: AccountId,
    scope: &str,
    family: &str,
    nonce: Option<&str>,
) -> Result<Issued, IamError> {
    let mut work = app.ctx.begin().await?;
    let account = store::account(&mut work, account_id)
        .await?
        .filter(|a| a.status == Status::Active)
        .ok_or_else(|| IamError::invalid_grant("the account is disabled"))?;
    let refresh = random_token(32);
    let now = app.now();
    store::insert_refresh(
        &mut work,
        &digest(&refresh),
        &Refresh {
            family_id: family.to_owned(),
            client_id: client.id.clone(),
            account_id: account.id,
            scope: scope.to_owned(),
            expires_at: now + app.config.refresh_token_ttl_s as i64 * 1_000_000,
            used: false,
            revoked: false,
        },
        now,
    )
    .await?;
    work.commit().await?;
    let access = Issued::access(app, &account, client).await?;
    let id_token = match scope.split_whitespace().any(|s| s == "openid") {
        true => Some(tokens::id_token(app, &account, client, nonce, family).await?),
        false => None,
    };
    Ok(Issued {
        refresh_token: Some(refresh),
        scope: Some(scope.to_owned()),
        id_token,
        ..access
    })
}

async fn client_credentials(app: &App, basic: Credentials, p: &Params) -> Result<Issued, IamError> {
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            param(p, "client_id").to_owned(),
            param(p, "client_secret").to_owned(),
        )
    });
    let client = confidential_client(app, &id, &secret).await?;
    let account_id = client
        .account_id
        .ok_or_else(|| IamError::invalid_client("the client acts for no account"))?;
    let mut conn = app.ctx.db.pool().acquire().await?;
    let account = store::account(&mut conn, account_id)
        .await?
        .filter(|a| a.status == Status::Active)
        .ok_or_else(|| IamError::invalid_client("the service account is disabled"))?;
    Issued::access(app, &account, &client).await
}
