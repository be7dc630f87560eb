//! `federation_states`: sign-ins gone to the upstream provider, awaiting its callback.

use storage::{AnyConnection, Row};

use super::Result;

/// What IAM remembers of a sign-in sent upstream.
pub struct FederationState {
    /// The original authorization request, as JSON.
    pub request: String,
    pub verifier: String,
    pub nonce: String,
}

pub async fn insert_federation_state(
    conn: &mut AnyConnection,
    state_hash: &str,
    s: &FederationState,
    expires_at: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO federation_states (state_hash, request, verifier, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_hash)
    .bind(&s.request)
    .bind(&s.verifier)
    .bind(&s.nonce)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends a state exactly once at `now`: only the first callback with it gets it back.
pub async fn use_federation_state(
    conn: &mut AnyConnection,
    state_hash: &str,
    now: i64,
) -> Result<Option<FederationState>> {
    Ok(storage::query(
        "UPDATE federation_states SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 RETURNING request, verifier, nonce",
    )
    .bind(now)
    .bind(state_hash)
    .fetch_optional(conn)
    .await?
    .map(|r| FederationState {
        request: r.get("request"),
        verifier: r.get("verifier"),
        nonce: r.get("nonce"),
    }))
}
