//! IAM's signing keys: Ed25519, stored in IAM's database so every replica signs with the
//! same key and a rotation is seen by all without restarts.

use std::time::Duration;

use auth::{Jwk, Jwks};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use storage::{Db, Row};
use tokio::sync::RwLock;

/// The key store, with the active key cached briefly.
pub struct Keys {
    db: Db,
    /// Retired keys stay published this long (longer than any token they signed lives).
    keep_retired: Duration,
    active: RwLock<Option<(std::time::Instant, String, EncodingKey)>>,
}

impl Keys {
    pub fn new(db: Db, keep_retired: Duration) -> Self {
        Keys {
            db,
            keep_retired,
            active: RwLock::new(None),
        }
    }

    /// Creates the first key if there is none.
    pub async fn ensure(&self) -> anyhow::Result<()> {
        let n: i64 =
            storage::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL")
                .fetch_one(self.db.pool())
                .await?;
        if n == 0 {
            self.rotate().await?;
        }
        Ok(())
    }

    /// Retires the active key and makes a new one. Returns the new `kid`.
    pub async fn rotate(&self) -> anyhow::Result<String> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding key: {e}"))?;
        let kid = uuid::Uuid::now_v7().simple().to_string();
        let now = storage::now_micros();
        let mut tx = self.db.begin().await?;
        storage::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        storage::query(
            "INSERT INTO signing_keys (kid, private_key, public_x, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&kid)
        .bind(STANDARD.encode(der.as_bytes()))
        .bind(URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        *self.active.write().await = None;
        tracing::info!(kid, "signing key rotated");
        Ok(kid)
    }

    /// Signs `claims` with the active key.
    pub async fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let (kid, key) = self.active_key().await?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some("JWT".into());
        Ok(jsonwebtoken::encode(&header, claims, &key)?)
    }

    async fn active_key(&self) -> anyhow::Result<(String, EncodingKey)> {
        // Another replica may rotate: re-read the active key every few seconds.
        if let Some((at, kid, key)) = &*self.active.read().await
            && at.elapsed() < Duration::from_secs(5)
        {
            return Ok((kid.clone(), key.clone()));
        }
        let row = storage::query(
            "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL \
             ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no active signing key"))?;
        let kid: String = row.get("kid");
        let der = STANDARD.decode(row.get::<String, _>("private_key"))?;
        let key = EncodingKey::from_ed_der(&der);
        *self.active.write().await = Some((std::time::Instant::now(), kid.clone(), key.clone()));
        Ok((kid, key))
    }

    /// The published keys: the active one and those retired recently enough that tokens
    /// they signed may still be alive.
    pub async fn jwks(&self) -> anyhow::Result<Jwks> {
        let since = storage::now_micros() - self.keep_retired.as_micros() as i64;
        let rows = storage::query(
            "SELECT kid, public_x FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
             ORDER BY created_at DESC",
        )
        .bind(since)
        .fetch_all(self.db.pool())
        .await?;
        Ok(Jwks {
            keys: rows
                .iter()
                .map(|r| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: r.get("public_x"),
                    kid: r.get("kid"),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                })
                .collect(),
        })
    }
}
