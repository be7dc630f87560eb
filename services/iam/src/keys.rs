//! IAM's signing keys, stored in IAM's database so every replica signs with the same key and
//! a rotation is seen by all without restarts.
//!
//! Two kinds, one active key of each: Ed25519 (`EdDSA`) signs access tokens, the only kind
//! MCF's services accept; RSA (`RS256`) signs ID tokens for the clients that ask for it (the
//! default: OpenID Connect Discovery requires every provider to support RS256, and it is what
//! standard client libraries expect). Both are published in the JWKS; services keep only the
//! Ed25519 keys, so an RS256 token is never an access token anywhere.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Value, json};
use service::{Clock, Context};
use storage::Row;
use tokio::sync::RwLock;

/// RSA modulus size: 2048 bits, the size RFC 7518 requires at least and clients expect.
const RSA_BITS: usize = 2048;

/// The algorithms IAM signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    EdDSA,
    RS256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::EdDSA, SigningAlg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::EdDSA => Algorithm::EdDSA,
            SigningAlg::RS256 => Algorithm::RS256,
        }
    }
}

/// A freshly generated key, ready to store.
struct NewKey {
    alg: SigningAlg,
    kid: String,
    /// Base64 DER: PKCS#8 for Ed25519, PKCS#1 for RSA (what jsonwebtoken signs with).
    private_key: String,
    /// Base64url: Ed25519's `x`, RSA's modulus `n`.
    public_x: String,
    /// Base64url RSA exponent `e`; none for Ed25519.
    public_e: Option<String>,
}

fn generate(alg: SigningAlg) -> anyhow::Result<NewKey> {
    let kid = uuid::Uuid::now_v7().simple().to_string();
    Ok(match alg {
        SigningAlg::EdDSA => {
            let signing = SigningKey::generate(&mut rand::rngs::OsRng);
            let der = signing
                .to_pkcs8_der()
                .map_err(|e| anyhow::anyhow!("encoding key: {e}"))?;
            NewKey {
                alg,
                kid,
                private_key: STANDARD.encode(der.as_bytes()),
                public_x: URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()),
                public_e: None,
            }
        }
        SigningAlg::RS256 => {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)?;
            let der = key
                .to_pkcs1_der()
                .map_err(|e| anyhow::anyhow!("encoding key: {e}"))?;
            NewKey {
                alg,
                kid,
                private_key: STANDARD.encode(der.as_bytes()),
                public_x: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                public_e: Some(URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())),
            }
        }
    })
}

/// RSA key generation takes a while (a second or so): never on the async threads.
async fn generate_off_thread(alg: SigningAlg) -> anyhow::Result<NewKey> {
    tokio::task::spawn_blocking(move || generate(alg)).await?
}

type Cached = (std::time::Instant, String, EncodingKey);

/// The key store, with the active keys cached briefly.
///
/// Its times are real time ([`Clock::system`]), not business time: the keys' lifetimes
/// follow the tokens they sign, which every verifier checks against its system clock.
pub struct Keys {
    ctx: Context,
    clock: Clock,
    /// Retired keys stay published this long (longer than any token they signed lives).
    keep_retired: Duration,
    active: RwLock<HashMap<SigningAlg, Cached>>,
}

impl Keys {
    /// The keys in `ctx`'s database; retired ones stay published for `keep_retired`.
    pub fn new(ctx: Context, keep_retired: Duration) -> Self {
        Keys {
            ctx,
            clock: Clock::system(),
            keep_retired,
            active: RwLock::new(HashMap::new()),
        }
    }

    fn now(&self) -> i64 {
        storage::micros(self.clock.now())
    }

    /// Creates an active key of each kind that has none (the first start; and the first
    /// start of a version that signs with a new kind).
    pub async fn ensure(&self) -> anyhow::Result<()> {
        for alg in SigningAlg::ALL {
            let n: i64 = storage::query_scalar(
                "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL AND alg = $1",
            )
            .bind(alg.as_str())
            .fetch_one(self.ctx.db.pool())
            .await?;
            if n == 0 {
                let key = generate_off_thread(alg).await?;
                let mut work = self.ctx.begin().await?;
                insert(&mut work, &key, self.now()).await?;
                work.commit().await?;
                tracing::info!(kid = key.kid, alg = alg.as_str(), "signing key created");
            }
        }
        Ok(())
    }

    /// Retires the active keys and makes a new one of each kind. Returns the new kids.
    pub async fn rotate(&self) -> anyhow::Result<HashMap<SigningAlg, String>> {
        let mut fresh = Vec::new();
        for alg in SigningAlg::ALL {
            fresh.push(generate_off_thread(alg).await?);
        }
        let now = self.now();
        let mut work = self.ctx.begin().await?;
        storage::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *work)
            .await?;
        for key in &fresh {
            insert(&mut work, key, now).await?;
        }
        work.commit().await?;
        self.active.write().await.clear();
        let kids: HashMap<SigningAlg, String> = fresh.into_iter().map(|k| (k.alg, k.kid)).collect();
        tracing::info!(?kids, "signing keys rotated");
        Ok(kids)
    }

    /// Signs `claims` with the active key of `alg`.
    pub async fn sign<T: Serialize>(&self, alg: SigningAlg, claims: &T) -> anyhow::Result<String> {
        let (kid, key) = self.active_key(alg).await?;
        let mut header = Header::new(alg.jwt());
        header.kid = Some(kid);
        header.typ = Some("JWT".into());
        Ok(jsonwebtoken::encode(&header, claims, &key)?)
    }

    async fn active_key(&self, alg: SigningAlg) -> anyhow::Result<(String, EncodingKey)> {
        // Another replica may rotate: re-read the active key every few seconds.
        if let Some((at, kid, key)) = self.active.read().await.get(&alg)
            && at.elapsed() < Duration::from_secs(5)
        {
            return Ok((kid.clone(), key.clone()));
        }
        let row = storage::query(
            "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL AND alg = $1 \
             ORDER BY created_at DESC, kid DESC LIMIT 1",
        )
        .bind(alg.as_str())
        .fetch_optional(self.ctx.db.pool())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no active {} signing key", alg.as_str()))?;
        let kid: String = row.get("kid");
        let der = STANDARD.decode(row.get::<String, _>("private_key"))?;
        let key = match alg {
            SigningAlg::EdDSA => EncodingKey::from_ed_der(&der),
            SigningAlg::RS256 => EncodingKey::from_rsa_der(&der),
        };
        self.active
            .write()
            .await
            .insert(alg, (std::time::Instant::now(), kid.clone(), key.clone()));
        Ok((kid, key))
    }

    async fn published(&self) -> anyhow::Result<Vec<storage::AnyRow>> {
        let since = self.now() - self.keep_retired.as_micros() as i64;
        Ok(storage::query(
            "SELECT kid, alg, public_x, public_e FROM signing_keys \
             WHERE retired_at IS NULL OR retired_at > $1 \
             ORDER BY alg, created_at DESC, kid DESC",
        )
        .bind(since)
        .fetch_all(self.ctx.db.pool())
        .await?)
    }

    /// The published keys (RFC 7517): the active ones and those retired recently enough that
    /// tokens they signed may still be alive. Ed25519 keys as RFC 8037 `OKP`, RSA as `RSA`.
    pub async fn jwks(&self) -> anyhow::Result<Value> {
        let keys: Vec<Value> = self
            .published()
            .await?
            .iter()
            .filter_map(|r| {
                let kid: String = r.get("kid");
                let x: String = r.get("public_x");
                match SigningAlg::parse(&r.get::<String, _>("alg"))? {
                    SigningAlg::EdDSA => Some(json!({
                        "kty": "OKP", "crv": "Ed25519", "x": x,
                        "kid": kid, "alg": "EdDSA", "use": "sig",
                    })),
                    SigningAlg::RS256 => Some(json!({
                        "kty": "RSA", "n": x, "e": r.get::<Option<String>, _>("public_e")?,
                        "kid": kid, "alg": "RS256", "use": "sig",
                    })),
                }
            })
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// The verification key of a published key id, with its algorithm (for checking tokens
    /// IAM signed itself, e.g. an `id_token_hint`).
    pub async fn decoding_key(
        &self,
        kid: &str,
    ) -> anyhow::Result<Option<(Algorithm, DecodingKey)>> {
        for r in self.published().await? {
            if r.get::<String, _>("kid") != kid {
                continue;
            }
            let x: String = r.get("public_x");
            let key = match SigningAlg::parse(&r.get::<String, _>("alg")) {
                Some(SigningAlg::EdDSA) => (Algorithm::EdDSA, DecodingKey::from_ed_components(&x)?),
                Some(SigningAlg::RS256) => {
                    let e: Option<String> = r.get("public_e");
                    let e = e.ok_or_else(|| anyhow::anyhow!("RSA key {kid} has no exponent"))?;
                    (Algorithm::RS256, DecodingKey::from_rsa_components(&x, &e)?)
                }
                None => continue,
            };
            return Ok(Some(key));
        }
        Ok(None)
    }
}

async fn insert(conn: &mut storage::AnyConnection, key: &NewKey, now: i64) -> anyhow::Result<()> {
    storage::query(
        "INSERT INTO signing_keys (kid, alg, private_key, public_x, public_e, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(key.alg.as_str())
    .bind(&key.private_key)
    .bind(&key.public_x)
    .bind(&key.public_e)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What IAM signs with each kind verifies with the public half it publishes.
    #[test]
    fn keys_sign_and_their_published_halves_verify() {
        for alg in SigningAlg::ALL {
            let key = generate(alg).unwrap();
            let der = STANDARD.decode(&key.private_key).unwrap();
            let encoding = match alg {
                SigningAlg::EdDSA => EncodingKey::from_ed_der(&der),
                SigningAlg::RS256 => EncodingKey::from_rsa_der(&der),
            };
            let decoding = match alg {
                SigningAlg::EdDSA => DecodingKey::from_ed_components(&key.public_x).unwrap(),
                SigningAlg::RS256 => DecodingKey::from_rsa_components(
                    &key.public_x,
                    key.public_e.as_deref().unwrap(),
                )
                .unwrap(),
            };
            let claims = json!({"sub": "s", "exp": 4_000_000_000i64});
            let token = jsonwebtoken::encode(&Header::new(alg.jwt()), &claims, &encoding).unwrap();
            let mut v = jsonwebtoken::Validation::new(alg.jwt());
            v.required_spec_claims.clear();
            let back = jsonwebtoken::decode::<Value>(&token, &decoding, &v).unwrap();
            assert_eq!(back.claims["sub"], "s", "{alg:?}");
        }
    }
}
