use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::{Principal, Role};

/// A public key as published in a JWKS (Ed25519, RFC 8037). IAM's JWKS also holds RSA keys
/// (for clients' ID tokens): they parse with `crv` and `x` empty and are never used here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub crv: String,
    /// The public key, base64url without padding.
    #[serde(default)]
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The claims of an MCF access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The account id, as JWT's string claim; [`Verifier::verify`] refuses a token whose
    /// `sub` is not one.
    pub sub: String,
    /// The services this token may be used at.
    pub aud: Vec<String>,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub roles: Vec<Role>,
    /// The OAuth client the token was issued to.
    pub client_id: String,
}

/// Why a token was refused. The message is safe to show the caller.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm {0} is not accepted (EdDSA only)")]
    Algorithm(String),
    #[error("token has no key id")]
    NoKeyId,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token is invalid: {0}")]
    Invalid(String),
    #[error("cannot fetch the signing keys: {0}")]
    KeysUnavailable(String),
}

/// Where the verifier gets IAM's public keys.
#[derive(Clone)]
pub enum KeySource {
    /// IAM's JWKS document over HTTP, at any of these URLs (one per IAM replica, or the one
    /// public URL): one that gives no answer is passed over for the next, and the one that
    /// answered is asked first next time ([`client::Failover`]). Empty: no keys are fetched.
    Urls(Vec<String>),
    /// A fixed set (tests; or IAM verifying its own tokens).
    Static(Jwks),
}

/// How a service verifies tokens.
#[derive(Clone)]
pub struct VerifierConfig {
    /// The expected `iss`.
    pub issuer: String,
    /// This service's name: it must be in `aud`.
    pub audience: String,
    pub keys: KeySource,
    /// Fastest the JWKS is refetched for an unknown `kid`.
    pub min_refetch: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Verifies access tokens locally with cached keys. Share one per service (`Arc`).
pub struct Verifier {
    config: VerifierConfig,
    /// Where the keys are fetched ([`KeySource::Urls`]).
    jwks: Option<client::Failover>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl Verifier {
    pub fn new(config: VerifierConfig) -> Arc<Self> {
        let (keys, jwks) = match &config.keys {
            KeySource::Static(jwks) => (decoding_keys(jwks), None),
            KeySource::Urls(urls) => (
                HashMap::new(),
                client::Failover::new(
                    urls.iter().cloned(),
                    client::HttpTransport::with_timeout(Duration::from_secs(5)),
                ),
            ),
        };
        Arc::new(Verifier {
            config,
            jwks,
            keys: RwLock::new(keys),
            last_fetch: Mutex::new(None),
        })
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before, and that `sub`
    /// is an account id (IAM issues no other), giving the caller as a [`Principal`].
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.claims(token).await?;
        let id = claims
            .sub
            .parse()
            .map_err(|_| AuthError::Invalid("sub is not an account id".into()))?;
        Ok(Principal {
            id,
            roles: claims.roles,
        })
    }

    /// Like [`Verifier::verify`], returning every claim.
    pub async fn claims(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(AuthError::NoKeyId)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        decode::<AccessClaims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(k.clone());
        }
        let Some(source) = &self.jwks else {
            return Err(AuthError::UnknownKey);
        };
        {
            let mut last = self.last_fetch.lock().await;
            if last.is_some_and(|t| t.elapsed() < self.config.min_refetch) {
                // Someone fetched a moment ago; the key was not there.
                return self
                    .keys
                    .read()
                    .await
                    .get(kid)
                    .cloned()
                    .ok_or(AuthError::UnknownKey);
            }
            *last = Some(Instant::now());
            let jwks: Jwks = source
                .client()
                .get("")
                .await
                .map_err(|e| AuthError::KeysUnavailable(e.to_string()))?;
            tracing::info!(keys = jwks.keys.len(), "fetched signing keys");
            *self.keys.write().await = decoding_keys(&jwks);
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or(AuthError::UnknownKey)
    }
}

/// The usable (Ed25519, EdDSA) keys of a JWKS, by `kid`.
pub fn decoding_keys(jwks: &Jwks) -> HashMap<String, DecodingKey> {
    jwks.keys
        .iter()
        .filter(|k| k.kty == "OKP" && k.crv == "Ed25519" && k.alg == "EdDSA")
        .filter_map(|k| {
            DecodingKey::from_ed_components(&k.x)
                .ok()
                .map(|d| (k.kid.clone(), d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{EncodingKey, Header, encode};

    use super::*;

    struct Key {
        kid: String,
        encoding: EncodingKey,
        jwk: Jwk,
    }

    fn key(kid: &str) -> Key {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().unwrap();
        Key {
            kid: kid.into(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()),
                kid: kid.into(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
            },
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    const ACCOUNT: &str = "01a21300-0000-7000-8000-0000000000c1";

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://iam.test".into(),
            sub: ACCOUNT.into(),
            aud: vec!["ordering".into()],
            exp: now() + 300,
            nbf: now() - 5,
            iat: now(),
            jti: "j1".into(),
            roles: vec![Role::Client],
            client_id: "web".into(),
        }
    }

    fn sign(k: &Key, c: &AccessClaims) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(k.kid.clone());
        encode(&h, c, &k.encoding).unwrap()
    }

    fn verifier(keys: &[&Key]) -> Arc<Verifier> {
        Verifier::new(VerifierConfig {
            issuer: "https://iam.test".into(),
            audience: "ordering".into(),
            keys: KeySource::Static(Jwks {
                keys: keys.iter().map(|k| k.jwk.clone()).collect(),
            }),
            min_refetch: Duration::from_secs(10),
            leeway: Duration::from_secs(0),
        })
    }

    #[tokio::test]
    async fn a_good_token_yields_the_principal() {
        let k = key("k1");
        let p = verifier(&[&k]).verify(&sign(&k, &claims())).await.unwrap();
        assert_eq!(p.id.to_string(), ACCOUNT);
        assert_eq!(p.roles, vec![Role::Client]);
    }

    #[tokio::test]
    async fn a_well_signed_token_whose_sub_is_not_an_account_id_is_refused() {
        let k = key("k1");
        let v = verifier(&[&k]);
        for sub in ["account-1", "", "01a213000000700080000000000000c1"] {
            let c = AccessClaims {
                sub: sub.into(),
                ..claims()
            };
            assert_eq!(
                v.verify(&sign(&k, &c)).await,
                Err(AuthError::Invalid("sub is not an account id".into())),
                "{sub:?}"
            );
        }
    }

    #[tokio::test]
    async fn wrong_issuer_audience_expired_and_not_yet_valid_are_refused() {
        let k = key("k1");
        let v = verifier(&[&k]);
        let cases = [
            AccessClaims {
                iss: "https://evil.test".into(),
                ..claims()
            },
            AccessClaims {
                aud: vec!["billing".into()],
                ..claims()
            },
            AccessClaims {
                exp: now() - 10,
                ..claims()
            },
            AccessClaims {
                nbf: now() + 600,
                ..claims()
            },
        ];
        for c in cases {
            assert!(
                matches!(v.verify(&sign(&k, &c)).await, Err(AuthError::Invalid(_))),
                "{c:?} was accepted"
            );
        }
    }

    #[tokio::test]
    async fn alg_none_and_algorithm_confusion_are_refused() {
        let k = key("k1");
        let v = verifier(&[&k]);
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let body = b64(&serde_json::to_string(&claims()).unwrap());
        let none = format!(
            "{}.{body}.",
            b64(r#"{"alg":"none","kid":"k1","typ":"JWT"}"#)
        );
        assert!(v.verify(&none).await.is_err());
        // HS256 "signed" with the public key as the HMAC secret.
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let confused =
            encode(&h, &claims(), &EncodingKey::from_secret(k.jwk.x.as_bytes())).unwrap();
        assert_eq!(
            v.verify(&confused).await,
            Err(AuthError::Algorithm("HS256".into()))
        );
    }

    #[tokio::test]
    async fn a_token_from_another_key_or_tampered_is_refused() {
        let (k1, k2) = (key("k1"), key("k2"));
        let v = verifier(&[&k1]);
        assert_eq!(
            v.verify(&sign(&k2, &claims())).await,
            Err(AuthError::UnknownKey)
        );
        // k2's signature under k1's kid.
        let mut forged = sign(&key("k1"), &claims());
        forged.push('x');
        assert!(v.verify(&forged).await.is_err());
        assert_eq!(v.verify("not a token").await, Err(AuthError::Malformed));
    }

    /// IAM publishes RSA keys (for ID tokens) next to its Ed25519 ones: the set still parses,
    /// its Ed25519 key still verifies, and no RSA key is ever usable for access tokens.
    #[tokio::test]
    async fn a_jwks_with_rsa_keys_parses_and_only_ed25519_keys_are_used() {
        let k = key("ed");
        let published = serde_json::json!({"keys": [
            {"kty": "RSA", "n": "sXch", "e": "AQAB", "kid": "rsa", "alg": "RS256", "use": "sig"},
            k.jwk,
        ]});
        let jwks: Jwks = serde_json::from_value(published).unwrap();
        let keys = decoding_keys(&jwks);
        assert!(keys.contains_key("ed") && !keys.contains_key("rsa"));
        let v = Verifier::new(VerifierConfig {
            issuer: "https://iam.test".into(),
            audience: "ordering".into(),
            keys: KeySource::Static(jwks),
            min_refetch: Duration::from_secs(10),
            leeway: Duration::from_secs(0),
        });
        assert!(v.verify(&sign(&k, &claims())).await.is_ok());
    }

    /// The keys come from IAM's replicas: one that does not answer is passed over.
    #[tokio::test]
    async fn keys_are_fetched_from_the_first_replica_that_answers() {
        // Given a stopped IAM replica listed before a running one that publishes the key
        let k = key("k1");
        let published = Jwks {
            keys: vec![k.jwk.clone()],
        };
        let app = axum::Router::new().route(
            "/api/iam/jwks.json",
            axum::routing::get(move || {
                let published = published.clone();
                async move { axum::Json(published) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = format!(
            "http://{}/api/iam/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let stopped = {
            let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/api/iam/jwks.json", gone.local_addr().unwrap())
        };
        let v = Verifier::new(VerifierConfig {
            issuer: "https://iam.test".into(),
            audience: "ordering".into(),
            keys: KeySource::Urls(vec![stopped.clone(), running]),
            min_refetch: Duration::from_secs(10),
            leeway: Duration::from_secs(0),
        });
        // When a token signed with it arrives, then it is verified
        assert!(v.verify(&sign(&k, &claims())).await.is_ok());

        // Given only the stopped one, then the keys are unavailable, naming it
        let v = Verifier::new(VerifierConfig {
            keys: KeySource::Urls(vec![stopped.clone()]),
            issuer: "https://iam.test".into(),
            audience: "ordering".into(),
            min_refetch: Duration::from_secs(10),
            leeway: Duration::from_secs(0),
        });
        match v.verify(&sign(&k, &claims())).await {
            Err(AuthError::KeysUnavailable(why)) => assert!(why.contains(&stopped), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
