//! Federation: clients arrive signed in at an upstream OpenID Connect provider (Happy Cat
//! Box). IAM is a client of that provider (authorization code + PKCE), verifies its ID
//! token against its JWKS, creates the client account on first sign-in, and then finishes
//! the original authorization request as if the person had signed in here.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use crate::App;
use crate::domain::pkce;
use crate::error::IamError;

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
            .ok_or_else(|| IamError::unexpected(format!("upstream discovery lacks {name}")))
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

/// Our redirect URI at the upstream provider.
fn callback_uri(app: &App) -> String {
    format!("{}/federation/callback", app.issuer())
}

/// What IAM reads of the upstream's ID token.
#[derive(Deserialize)]
pub(crate) struct UpstreamIdClaims {
    pub sub: String,
    pub email: String,
    #[serde(default)]
    pub name: String,
    nonce: Option<String>,
}

/// Redeems the upstream's `code` (with our PKCE `verifier`) for its ID token, verified,
/// with the `nonce` we sent.
pub(crate) async fn redeem(
    app: &App,
    code: &str,
    verifier: &str,
    nonce: &str,
) -> Result<UpstreamIdClaims, IamError> {
    let upstream = discover(app).await?;
    let tokens: Value = app
        .http
        .post(&upstream.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", app.config.upstream.client_id.as_str()),
            ("redirect_uri", &callback_uri(app)),
            ("code", code),
            ("code_verifier", verifier),
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
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(IamError::invalid_grant(
            "the upstream ID token's nonce does not match",
        ));
    }
    Ok(claims)
}

/// Where to send the browser to sign in upstream with our `state`, PKCE `verifier` and
/// `nonce`.
pub(crate) async fn authorization_url(
    app: &App,
    state: &str,
    verifier: &str,
    nonce: &str,
) -> Result<String, IamError> {
    let upstream = discover(app).await?;
    let params = [
        ("response_type", "code"),
        ("client_id", app.config.upstream.client_id.as_str()),
        ("redirect_uri", &callback_uri(app)),
        ("scope", "openid email profile"),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", &pkce::challenge_of(verifier)),
        ("code_challenge_method", "S256"),
    ];
    Ok(crate::app::sign_in::with_query(
        &upstream.authorization_endpoint,
        &params,
    ))
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
