//! Issuing tokens.

use auth::{AccessClaims, Role};
use contracts::AccountId;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::domain::account::Account;
use crate::keys::SigningAlg;
use crate::store::Client;

pub use auth::secret::{digest, random_token};

/// Real time, unix seconds: a token's `iat`, `nbf` and `exp` are checked by every service
/// against its system clock, so they cannot follow a moved business clock.
fn now_s() -> i64 {
    service::Clock::system().now().timestamp()
}

/// A signed access token for `account` via `client`, valid at `audiences`. The subject is
/// typed so that every token IAM issues carries an account id, the only `sub` services accept.
pub async fn access_token(
    app: &App,
    subject: AccountId,
    roles: &[Role],
    client_id: &str,
    audiences: &[String],
) -> anyhow::Result<String> {
    let now = now_s();
    let claims = AccessClaims {
        iss: app.issuer().to_owned(),
        sub: subject.to_string(),
        aud: audiences.to_vec(),
        exp: now + app.config.access_token_ttl_s as i64,
        nbf: now,
        iat: now,
        jti: uuid::Uuid::now_v7().to_string(),
        roles: roles.to_vec(),
        client_id: client_id.to_owned(),
    };
    // Always EdDSA: the only algorithm MCF's services accept for access tokens.
    app.keys.sign(SigningAlg::EdDSA, &claims).await
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    /// The sign-in (refresh-token family) this token belongs to: an `id_token_hint` at
    /// logout ends exactly that sign-in.
    sid: &'a str,
    email: &'a str,
    name: &'a str,
}

/// What IAM reads back from an ID token it issued (an `id_token_hint`).
#[derive(Debug, Deserialize)]
pub struct IdTokenHint {
    pub sub: String,
    pub aud: String,
    #[serde(default)]
    pub sid: Option<String>,
}

/// An OpenID Connect ID token for the web app that signed the person in, signed the way the
/// client is registered for (RS256 unless it chose EdDSA).
pub async fn id_token(
    app: &App,
    account: &Account,
    client: &Client,
    nonce: Option<&str>,
    sid: &str,
) -> anyhow::Result<String> {
    let now = now_s();
    let sub = account.id.to_string();
    app.keys
        .sign(
            client.id_token_alg,
            &IdClaims {
                iss: app.issuer(),
                sub: &sub,
                aud: &client.id,
                exp: now + app.config.access_token_ttl_s as i64,
                iat: now,
                nonce,
                sid,
                email: &account.email,
                name: &account.name,
            },
        )
        .await
}

/// True when `token` is an access token IAM signed (signature by a published Ed25519 key; it
/// may have expired). The revocation endpoint tells such tokens apart from unknown ones.
pub async fn is_own_access_token(app: &App, token: &str) -> bool {
    let Some(kid) = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid) else {
        return false;
    };
    let Ok(Some((jsonwebtoken::Algorithm::EdDSA, key))) = app.keys.decoding_key(&kid).await else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[app.issuer()]);
    validation.set_required_spec_claims(&["iss", "sub"]);
    jsonwebtoken::decode::<AccessClaims>(token, &key, &validation).is_ok()
}

/// Checks that `token` is an ID token IAM issued (signature by a published key, issuer). An
/// expired one is still a good hint of who is signing out (OpenID Connect RP-Initiated
/// Logout 1.0, section 2), so expiry is not checked; nothing is granted from it.
pub async fn read_id_token_hint(app: &App, token: &str) -> Option<IdTokenHint> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let (alg, key) = app.keys.decoding_key(header.kid.as_deref()?).await.ok()??;
    // The key decides the algorithm, never the token's header (no algorithm confusion).
    if header.alg != alg {
        return None;
    }
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[app.issuer()]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    jsonwebtoken::decode::<IdTokenHint>(token, &key, &validation)
        .ok()
        .map(|d| d.claims)
}
