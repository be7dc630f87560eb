//! `clients`: the OAuth clients (the web apps, service accounts).

use contracts::AccountId;
use storage::{AnyConnection, Row};

use storage::DbError;

use super::Result;
use crate::keys::SigningAlg;

/// An OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub confidential: bool,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub audiences: Vec<String>,
    pub account_id: Option<AccountId>,
    /// How its ID tokens are signed.
    pub id_token_alg: SigningAlg,
    /// Where RP-initiated logout may send the browser back to, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
}

fn list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(DbError::undecodable)
}

pub async fn client(conn: &mut AnyConnection, id: &str) -> Result<Option<Client>> {
    storage::query("SELECT * FROM clients WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Client {
                id: r.get("id"),
                name: r.get("name"),
                confidential: r.get::<String, _>("kind") == "confidential",
                secret_hash: r.get("secret_hash"),
                redirect_uris: list(&r.get::<String, _>("redirect_uris"))?,
                audiences: list(&r.get::<String, _>("audiences"))?,
                account_id: r
                    .get::<Option<String>, _>("account_id")
                    .map(|id| id.parse().map_err(DbError::undecodable))
                    .transpose()?,
                // An unknown value (a newer version wrote it) falls back to the default.
                id_token_alg: SigningAlg::parse(&r.get::<String, _>("id_token_alg"))
                    .unwrap_or(SigningAlg::RS256),
                post_logout_redirect_uris: list(&r.get::<String, _>("post_logout_redirect_uris"))?,
            })
        })
        .transpose()
}

/// Inserts or replaces a client.
pub async fn upsert_client(conn: &mut AnyConnection, c: &Client, now: i64) -> Result<()> {
    let text = |list: &Vec<String>| serde_json::to_string(list).map_err(DbError::undecodable);
    storage::query(
        "INSERT INTO clients (id, name, kind, secret_hash, redirect_uris, audiences, account_id, \
         created_at, id_token_alg, post_logout_redirect_uris) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET \
         name = excluded.name, kind = excluded.kind, secret_hash = excluded.secret_hash, \
         redirect_uris = excluded.redirect_uris, audiences = excluded.audiences, \
         account_id = excluded.account_id, id_token_alg = excluded.id_token_alg, \
         post_logout_redirect_uris = excluded.post_logout_redirect_uris",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(if c.confidential {
        "confidential"
    } else {
        "public"
    })
    .bind(&c.secret_hash)
    .bind(text(&c.redirect_uris)?)
    .bind(text(&c.audiences)?)
    .bind(c.account_id.map(String::from))
    .bind(now)
    .bind(c.id_token_alg.as_str())
    .bind(text(&c.post_logout_redirect_uris)?)
    .execute(conn)
    .await?;
    Ok(())
}
