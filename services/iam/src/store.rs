//! IAM's tables.

use auth::Role;
use contracts::iam::{AccountChanged, AccountCreated};
use contracts::{AccountId, Envelope};
use messaging::Outbox;
use storage::{AnyConnection, AnyRow, Row};

use crate::domain::throttle::{Policy, Throttle};
use crate::keys::SigningAlg;

use crate::domain::account::{Account, Status, roles_from_text, roles_to_text};
use crate::error::IamError;

type Result<T> = std::result::Result<T, IamError>;

/// The account id in `column` of a row (ids are stored as their text).
fn account_id(r: &AnyRow, column: &str) -> Result<AccountId> {
    Ok(r.get::<String, _>(column)
        .parse()
        .map_err(anyhow::Error::from)?)
}

fn account_of(r: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: account_id(r, "id")?,
        email: r.get("email"),
        name: r.get("name"),
        roles: roles_from_text(&r.get::<String, _>("roles")),
        status: Status::parse(&r.get::<String, _>("status")),
    })
}

/// Inserts an account and announces it (`iam.account.created`) in the same transaction.
pub async fn insert_account(
    conn: &mut AnyConnection,
    a: &Account,
    password_hash: Option<&str>,
) -> Result<()> {
    let now = storage::now_micros();
    let r = storage::query(
        "INSERT INTO accounts (id, email, name, roles, status, password_hash, version, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
    )
    .bind(a.id.to_string())
    .bind(&a.email)
    .bind(&a.name)
    .bind(roles_to_text(&a.roles))
    .bind(a.status.as_str())
    .bind(password_hash)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(storage::DbError::from);
    match r {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => {
            return Err(IamError::Conflict(
                "email_taken",
                format!("an account with e-mail {} exists", a.email),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let event = AccountCreated {
        account_id: a.id,
        email: a.email.clone(),
        name: a.name.clone(),
        roles: a.roles.iter().map(|r| r.as_str().to_owned()).collect(),
    };
    Outbox::append(conn, &Envelope::new(&event, 1, None)).await?;
    Ok(())
}

pub async fn account(conn: &mut AnyConnection, id: AccountId) -> Result<Option<Account>> {
    storage::query("SELECT * FROM accounts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| account_of(&r))
        .transpose()
}

/// The account named by `id` as a request gave it (a path segment): none when the text is
/// not an account id at all, as when no account has it.
pub async fn account_by_text(conn: &mut AnyConnection, id: &str) -> Result<Option<Account>> {
    match id.parse() {
        Ok(id) => account(conn, id).await,
        Err(_) => Ok(None),
    }
}

/// The account and its password hash, by e-mail.
pub async fn credentials(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<(Account, Option<String>)>> {
    storage::query("SELECT * FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((account_of(&r)?, r.get("password_hash"))))
        .transpose()
}

pub async fn accounts(conn: &mut AnyConnection) -> Result<Vec<Account>> {
    storage::query("SELECT * FROM accounts ORDER BY email")
        .fetch_all(conn)
        .await?
        .iter()
        .map(account_of)
        .collect()
}

pub async fn any_admin(conn: &mut AnyConnection) -> Result<bool> {
    let n: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM accounts WHERE (' ' || roles || ' ') LIKE '% admin %'",
    )
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Saves an account's name, roles and status and announces the new state
/// (`iam.account.changed`) in the same transaction.
pub async fn update_account(conn: &mut AnyConnection, a: &Account) -> Result<()> {
    let version: i64 = storage::query_scalar(
        "UPDATE accounts SET roles = $1, status = $2, name = $3, updated_at = $4, \
         version = version + 1 WHERE id = $5 RETURNING version",
    )
    .bind(roles_to_text(&a.roles))
    .bind(a.status.as_str())
    .bind(&a.name)
    .bind(storage::now_micros())
    .bind(a.id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let event = AccountChanged {
        account_id: a.id,
        email: a.email.clone(),
        name: a.name.clone(),
        roles: a.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        status: a.status.as_str().to_owned(),
    };
    Outbox::append(conn, &Envelope::new(&event, version, None)).await?;
    Ok(())
}

/// The throttle state of a key (`account:<email>` or `address:<ip>`).
pub async fn throttle(conn: &mut AnyConnection, key: &str) -> Result<Throttle> {
    Ok(
        storage::query("SELECT * FROM sign_in_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?
            .map(|r| Throttle {
                failures: r.get("failures"),
                window_start: r.get("window_start"),
                blocked_until: r.get("blocked_until"),
            })
            .unwrap_or_default(),
    )
}

/// Records one more failure of `key` at `now` under `policy`, atomically: call it in a
/// write transaction. Concurrent failures all count (a read, then a write of the state read,
/// would let a burst of parallel guesses count as one): the row is created if missing, then
/// read locked (`FOR UPDATE` on PostgreSQL; SQLite's write transactions are serialized).
pub async fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    policy: Policy,
    now: i64,
) -> Result<Throttle> {
    storage::query(
        "INSERT INTO sign_in_throttle (key, failures, window_start, blocked_until) \
         VALUES ($1, 0, $2, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let lock = if storage::Backend::of(conn) == storage::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let current = storage::query(sqlx::AssertSqlSafe(format!(
        "SELECT failures, window_start, blocked_until FROM sign_in_throttle WHERE key = $1{lock}"
    )))
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let next = Throttle {
        failures: current.get("failures"),
        window_start: current.get("window_start"),
        blocked_until: current.get("blocked_until"),
    }
    .fail(policy, now);
    save_throttle(conn, key, &next).await?;
    Ok(next)
}

async fn save_throttle(conn: &mut AnyConnection, key: &str, t: &Throttle) -> Result<()> {
    storage::query(
        "INSERT INTO sign_in_throttle (key, failures, window_start, blocked_until) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
         window_start = excluded.window_start, blocked_until = excluded.blocked_until",
    )
    .bind(key)
    .bind(t.failures)
    .bind(t.window_start)
    .bind(t.blocked_until)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_throttle(conn: &mut AnyConnection, key: &str) -> Result<()> {
    storage::query("DELETE FROM sign_in_throttle WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes every live refresh token of an account (disabling it signs it out everywhere).
pub async fn revoke_account_tokens(conn: &mut AnyConnection, account_id: AccountId) -> Result<u64> {
    Ok(storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
    )
    .bind(storage::now_micros())
    .bind(account_id.to_string())
    .execute(conn)
    .await?
    .rows_affected())
}

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
                redirect_uris: serde_json::from_str(&r.get::<String, _>("redirect_uris"))
                    .map_err(anyhow::Error::from)?,
                audiences: serde_json::from_str(&r.get::<String, _>("audiences"))
                    .map_err(anyhow::Error::from)?,
                account_id: r
                    .get::<Option<String>, _>("account_id")
                    .map(|id| id.parse())
                    .transpose()
                    .map_err(anyhow::Error::from)?,
                // An unknown value (a newer version wrote it) falls back to the default.
                id_token_alg: SigningAlg::parse(&r.get::<String, _>("id_token_alg"))
                    .unwrap_or(SigningAlg::RS256),
                post_logout_redirect_uris: serde_json::from_str(
                    &r.get::<String, _>("post_logout_redirect_uris"),
                )
                .map_err(anyhow::Error::from)?,
            })
        })
        .transpose()
}

/// Inserts or replaces a client.
pub async fn upsert_client(conn: &mut AnyConnection, c: &Client) -> Result<()> {
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
    .bind(serde_json::to_string(&c.redirect_uris).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&c.audiences).map_err(anyhow::Error::from)?)
    .bind(c.account_id.map(String::from))
    .bind(storage::now_micros())
    .bind(c.id_token_alg.as_str())
    .bind(serde_json::to_string(&c.post_logout_redirect_uris).map_err(anyhow::Error::from)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored authorization code.
pub struct Code {
    pub client_id: String,
    pub account_id: AccountId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_code(conn: &mut AnyConnection, hash: &str, c: &Code) -> Result<()> {
    storage::query(
        "INSERT INTO auth_codes (code_hash, client_id, account_id, redirect_uri, code_challenge, \
         scope, nonce, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(hash)
    .bind(&c.client_id)
    .bind(c.account_id.to_string())
    .bind(&c.redirect_uri)
    .bind(&c.code_challenge)
    .bind(&c.scope)
    .bind(&c.nonce)
    .bind(c.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the code used and returns it, exactly once: a second redemption gets `None`.
/// `family_id` names the sign-in the code starts, so a replay can end it.
pub async fn redeem_code(
    conn: &mut AnyConnection,
    hash: &str,
    family_id: &str,
) -> Result<Option<Code>> {
    storage::query(
        "UPDATE auth_codes SET used_at = $1, family_id = $3 WHERE code_hash = $2 \
         AND used_at IS NULL RETURNING *",
    )
    .bind(storage::now_micros())
    .bind(hash)
    .bind(family_id)
    .fetch_optional(conn)
    .await?
    .map(|r| {
        Ok(Code {
            client_id: r.get("client_id"),
            account_id: account_id(&r, "account_id")?,
            redirect_uri: r.get("redirect_uri"),
            code_challenge: r.get("code_challenge"),
            scope: r.get("scope"),
            nonce: r.get("nonce"),
            expires_at: r.get("expires_at"),
        })
    })
    .transpose()
}

/// The sign-in an already redeemed code started, if the code exists and was redeemed.
pub async fn redeemed_code_family(conn: &mut AnyConnection, hash: &str) -> Result<Option<String>> {
    Ok(storage::query_scalar(
        "SELECT family_id FROM auth_codes WHERE code_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// A stored refresh token.
pub struct Refresh {
    pub family_id: String,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub expires_at: i64,
    pub used: bool,
    pub revoked: bool,
}

pub async fn insert_refresh(conn: &mut AnyConnection, hash: &str, r: &Refresh) -> Result<()> {
    storage::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, account_id, scope, \
         expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash)
    .bind(&r.family_id)
    .bind(&r.client_id)
    .bind(r.account_id.to_string())
    .bind(&r.scope)
    .bind(r.expires_at)
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn refresh(conn: &mut AnyConnection, hash: &str) -> Result<Option<Refresh>> {
    storage::query("SELECT * FROM refresh_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(conn)
        .await?
        .map(|r| {
            Ok(Refresh {
                family_id: r.get("family_id"),
                client_id: r.get("client_id"),
                account_id: account_id(&r, "account_id")?,
                scope: r.get("scope"),
                expires_at: r.get("expires_at"),
                used: r.get::<Option<i64>, _>("used_at").is_some(),
                revoked: r.get::<Option<i64>, _>("revoked_at").is_some(),
            })
        })
        .transpose()
}

/// Marks a refresh token used; false if it already was (a concurrent rotation).
pub async fn use_refresh(conn: &mut AnyConnection, hash: &str) -> Result<bool> {
    Ok(storage::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(storage::now_micros())
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn revoke_family(conn: &mut AnyConnection, family_id: &str) -> Result<()> {
    storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(storage::now_micros())
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes a sign-in of `account_id` (an `id_token_hint` names both).
pub async fn revoke_family_of(
    conn: &mut AnyConnection,
    family_id: &str,
    account_id: AccountId,
) -> Result<()> {
    storage::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND account_id = $3 \
         AND revoked_at IS NULL",
    )
    .bind(storage::now_micros())
    .bind(family_id)
    .bind(account_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Roles as the admin API accepts them, each checked.
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>> {
    names
        .iter()
        .map(|n| {
            Role::parse(n).ok_or_else(|| IamError::invalid("roles", &format!("unknown role {n:?}")))
        })
        .collect()
}

/// Stores a password link for `account_id`.
pub async fn insert_password_link(
    conn: &mut AnyConnection,
    hash: &str,
    account_id: AccountId,
    purpose: &str,
    expires_at: i64,
) -> Result<()> {
    storage::query(
        "INSERT INTO password_links (token_hash, account_id, purpose, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(account_id.to_string())
    .bind(purpose)
    .bind(expires_at)
    .bind(storage::now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses a password link once: the account id if it was unused and unexpired.
pub async fn use_password_link(conn: &mut AnyConnection, hash: &str) -> Result<Option<AccountId>> {
    let id: Option<String> = storage::query_scalar(
        "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 RETURNING account_id",
    )
    .bind(storage::now_micros())
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    Ok(id
        .map(|id| id.parse())
        .transpose()
        .map_err(anyhow::Error::from)?)
}

/// True when the link exists, is unused and unexpired (the page checks before showing a form).
pub async fn password_link_usable(conn: &mut AnyConnection, hash: &str) -> Result<bool> {
    let n: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM password_links WHERE token_hash = $1 AND used_at IS NULL \
         AND expires_at > $2",
    )
    .bind(hash)
    .bind(storage::now_micros())
    .fetch_one(conn)
    .await?;
    Ok(n == 1)
}

pub async fn set_password(
    conn: &mut AnyConnection,
    account_id: AccountId,
    hash: &str,
) -> Result<()> {
    storage::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(storage::now_micros())
        .bind(account_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
