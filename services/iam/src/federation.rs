//! Federation: clients arrive signed in at an upstream OpenID Connect provider (Happy Cat
//! Box). IAM is a client of that provider (authorization code + PKCE), verifies its ID
//! token against its JWKS, creates the client account on first sign-in, and then finishes
//! the original authorization request as if the person had signed in here.

use std::collections::BTreeMap;

use auth::Role;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::account::{Account, Status, normalize_email};
use crate::domain::pkce;
use crate::error::IamError;
use crate::tokens::{digest, random_token};
use crate::{App, store};

/// How long a person may take at the upstream provider.
const STATE_TTL_S: i64 = 600;

/// The upstream provider's endpoints (from its discovery document).
struct Upstream {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

async fn discover(app: &App) -> Result<Upstream, IamError> {
    let issuer = app.config.upstream.issuer.trim_end_matches('/');
    let doc: Value = app
        .http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(upstream_down)?
        .json()
        .await
        .map_err(upstream_down)?;
    let field = |name: &str| {
        doc[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| IamError::Unexpected(anyhow::anyhow!("upstream discovery lacks {name}")))
    };
    Ok(Upstream {
        authorization_endpoint: field("authorization_endpoint")?,
        token_endpoint: field("token_endpoint")?,
        jwks_uri: field("jwks_uri")?,
    })
}

fn upstream_down(e: reqwest::Error) -> IamError {
    IamError::OAuth {
        status: axum::http::StatusCode::BAD_GATEWAY,
        error: "temporarily_unavailable",
        description: format!("the upstream identity provider did not answer: {e}"),
    }
}

/// Where to send the browser to sign in upstream, remembering the original request.
pub async fn start(app: &App, request: &BTreeMap<String, String>) -> Result<String, IamError> {
    let upstream = discover(app).await?;
    let state = random_token(32);
    let verifier = random_token(48);
    let nonce = random_token(16);
    let mut tx = app.rt.db.begin().await?;
    storage::query(
        "INSERT INTO federation_states (state_hash, request, verifier, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(digest(&state))
    .bind(serde_json::to_string(request).map_err(anyhow::Error::from)?)
    .bind(&verifier)
    .bind(&nonce)
    .bind(storage::now_micros() + STATE_TTL_S * 1_000_000)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let params = [
        ("response_type", "code"),
        ("client_id", app.config.upstream.client_id.as_str()),
        ("redirect_uri", &callback_uri(app)),
        ("scope", "openid email profile"),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &pkce::challenge_of(&verifier)),
        ("code_challenge_method", "S256"),
    ];
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::routes::urlencode(v)))
        .collect();
    Ok(format!(
        "{}?{}",
        upstream.authorization_endpoint,
        query.join("&")
    ))
}

/// Our redirect URI at the upstream provider.
pub fn callback_uri(app: &App) -> String {
    format!("{}/federation/callback", app.issuer)
}

#[derive(Deserialize)]
struct UpstreamIdClaims {
    sub: String,
    email: String,
    #[serde(default)]
    name: String,
    nonce: Option<String>,
}

/// The upstream answered: verify, find or create the account, and return it with the
/// original authorization request to finish.
pub async fn callback(
    app: &App,
    state: &str,
    code: &str,
) -> Result<(Account, BTreeMap<String, String>), IamError> {
    let mut tx = app.rt.db.begin().await?;
    // Spent exactly once: only the first callback with this state gets the row back.
    let row = storage::query(
        "UPDATE federation_states SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 RETURNING request, verifier, nonce",
    )
    .bind(storage::now_micros())
    .bind(digest(state))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| IamError::invalid_request("unknown, used or expired federation state"))?;
    tx.commit().await?;
    use storage::Row;
    let request: BTreeMap<String, String> =
        serde_json::from_str(&row.get::<String, _>("request")).map_err(anyhow::Error::from)?;
    let verifier: String = row.get("verifier");
    let nonce: String = row.get("nonce");

    let upstream = discover(app).await?;
    let tokens: Value = app
        .http
        .post(&upstream.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", app.config.upstream.client_id.as_str()),
            ("redirect_uri", &callback_uri(app)),
            ("code", code),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .map_err(upstream_down)?
        .json()
        .await
        .map_err(upstream_down)?;
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or_else(|| IamError::invalid_grant("the upstream provider returned no ID token"))?;
    let claims = verify_id_token(app, &upstream, id_token).await?;
    if claims.nonce.as_deref() != Some(nonce.as_str()) {
        return Err(IamError::invalid_grant(
            "the upstream ID token's nonce does not match",
        ));
    }
    let account = find_or_create(app, &claims).await?;
    Ok((account, request))
}

async fn verify_id_token(
    app: &App,
    upstream: &Upstream,
    token: &str,
) -> Result<UpstreamIdClaims, IamError> {
    let bad = |m: String| IamError::invalid_grant(&format!("upstream ID token refused: {m}"));
    let header = decode_header(token).map_err(|e| bad(e.to_string()))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::EdDSA) {
        return Err(bad(format!("algorithm {:?}", header.alg)));
    }
    let jwks: Value = app
        .http
        .get(&upstream.jwks_uri)
        .send()
        .await
        .map_err(upstream_down)?
        .json()
        .await
        .map_err(upstream_down)?;
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| bad("no key id".into()))?;
    let (alg, key) = upstream_key(&jwks, kid).ok_or_else(|| bad("unknown key".into()))?;
    // The published key decides the algorithm; a header naming another is refused (no
    // algorithm confusion).
    if header.alg != alg {
        return Err(bad(format!("algorithm {:?} for a {alg:?} key", header.alg)));
    }
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.set_issuer(&[app.config.upstream.issuer.trim_end_matches('/')]);
    validation.set_audience(&[&app.config.upstream.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    decode::<UpstreamIdClaims>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| bad(e.to_string()))
}

/// The signing key `kid` of a JWKS with the one algorithm it is for: RSA keys verify RS256,
/// Ed25519 keys EdDSA, nothing else (the two OpenID Connect providers sign with in practice).
fn upstream_key(jwks: &Value, kid: &str) -> Option<(Algorithm, DecodingKey)> {
    let jwk = jwks["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"].as_str() == Some(kid))?;
    let s = |name: &str| jwk[name].as_str();
    if s("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let (alg, key) = match (s("kty")?, s("crv")) {
        ("RSA", _) => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(s("n")?, s("e")?).ok()?,
        ),
        ("OKP", Some("Ed25519")) => (
            Algorithm::EdDSA,
            DecodingKey::from_ed_components(s("x")?).ok()?,
        ),
        _ => return None,
    };
    let named = s("alg").map(|a| a == format!("{alg:?}"));
    (named != Some(false)).then_some((alg, key))
}

/// The account linked to the upstream subject; else created as a client on first sign-in.
async fn find_or_create(app: &App, claims: &UpstreamIdClaims) -> Result<Account, IamError> {
    let subject = format!("{}#{}", app.config.upstream.issuer, claims.sub);
    let mut tx = app.rt.db.begin().await?;
    let existing: Option<String> =
        storage::query_scalar("SELECT id FROM accounts WHERE upstream_subject = $1")
            .bind(&subject)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(id) = existing {
        let account = store::account_by_text(&mut tx, &id)
            .await?
            .ok_or(IamError::NotFound("account"))?;
        return Ok(account);
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
    };
    // An existing local account with the same e-mail is not taken over: the insert fails
    // with email_taken, and an admin decides.
    store::insert_account(&mut tx, &account, None).await?;
    storage::query("UPDATE accounts SET upstream_subject = $1 WHERE id = $2")
        .bind(&subject)
        .bind(account.id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(account = %account.id, "client account created on first federated sign-in");
    Ok(account)
}
