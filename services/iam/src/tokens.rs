//! Issuing tokens.

use auth::{AccessClaims, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::App;
use crate::domain::account::Account;

/// A random, URL-safe secret of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How secrets (codes, refresh tokens, client secrets) are stored: their SHA-256.
pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A signed access token for `account` via `client`, valid at `audiences`.
pub async fn access_token(
    app: &App,
    subject: &str,
    roles: &[Role],
    client_id: &str,
    audiences: &[String],
) -> anyhow::Result<String> {
    let now = now_s();
    let claims = AccessClaims {
        iss: app.issuer.clone(),
        sub: subject.to_owned(),
        aud: audiences.to_vec(),
        exp: now + app.config.access_token_ttl_s as i64,
        nbf: now,
        iat: now,
        jti: uuid::Uuid::now_v7().to_string(),
        roles: roles.to_vec(),
        client_id: client_id.to_owned(),
    };
    app.keys.sign(&claims).await
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
    email: &'a str,
    name: &'a str,
}

/// An OpenID Connect ID token for the web app that signed the person in.
pub async fn id_token(
    app: &App,
    account: &Account,
    client_id: &str,
    nonce: Option<&str>,
) -> anyhow::Result<String> {
    let now = now_s();
    app.keys
        .sign(&IdClaims {
            iss: &app.issuer,
            sub: &account.id,
            aud: client_id,
            exp: now + app.config.access_token_ttl_s as i64,
            iat: now,
            nonce,
            email: &account.email,
            name: &account.name,
        })
        .await
}
