//! The admin API: accounts, roles, service accounts, key rotation. Admins only.

use auth::{Principal, Role};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use web::{Json, Path};

use contracts::iam::{MailRequest, MailRequested};
use contracts::{AccountId, Envelope};
use messaging::Outbox;

use crate::App;
use crate::domain::account::{Account, Status, check_password, normalize_email};
use crate::error::IamError;
use crate::keys::SigningAlg;
use crate::store::{self, parse_roles};
use crate::tokens::{digest, random_token};

fn admin(who: &Principal) -> Result<(), IamError> {
    Ok(who.require(&[Role::Admin])?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    email: String,
    name: String,
    roles: Vec<String>,
    /// Optional: without it the person gets a set-password link (mail issue).
    password: Option<String>,
}

/// `POST /accounts`.
pub async fn create_account(
    State(app): State<App>,
    who: Principal,
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), IamError> {
    admin(&who)?;
    let email = normalize_email(&new.email)?;
    // One line: names go into mail headers and pages.
    let name = web::text::single_line("name", &new.name, 100)?;
    let roles = parse_roles(&new.roles)?;
    if roles.is_empty() || roles.contains(&Role::Service) {
        return Err(IamError::invalid(
            "roles",
            "give at least one person role (service accounts have their own endpoint)",
        ));
    }
    let hash = match &new.password {
        Some(p) => {
            check_password(p)?;
            Some(app.passwords.hash(p).await?)
        }
        None => None,
    };
    let account = Account {
        id: AccountId::new(),
        email,
        name,
        roles,
        status: Status::Active,
    };
    let mut tx = app.rt.db.begin().await?;
    store::insert_account(&mut tx, &account, hash.as_deref()).await?;
    if hash.is_none() {
        invite(&app, &mut tx, &account, None).await?;
    }
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok((StatusCode::CREATED, Json(account)))
}

/// `GET /accounts`.
pub async fn list_accounts(
    State(app): State<App>,
    who: Principal,
) -> Result<Json<Vec<Account>>, IamError> {
    admin(&who)?;
    let mut conn = app.rt.db.pool().acquire().await?;
    Ok(Json(store::accounts(&mut conn).await?))
}

/// `GET /accounts/{id}`: admins, and everyone for themselves.
pub async fn get_account(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Json<Account>, IamError> {
    if who.id.to_string() != id {
        admin(&who)?;
    }
    let mut conn = app.rt.db.pool().acquire().await?;
    store::account_by_text(&mut conn, &id)
        .await?
        .map(Json)
        .ok_or(IamError::NotFound("account"))
}

/// Sends `account` a set-password invite: a link, mailed through Mail by a command in the
/// caller's transaction (never a plaintext password).
pub(crate) async fn invite(
    app: &App,
    conn: &mut storage::AnyConnection,
    account: &Account,
    cause: Option<&Envelope>,
) -> Result<(), IamError> {
    let (link, _) = super::password::new_link(app, conn, account.id).await?;
    let invite = MailRequested {
        account_id: account.id,
        request: MailRequest {
            to: account.email.clone(),
            template: "set_password_invite".into(),
            variables: serde_json::Map::from_iter([
                ("name".to_owned(), json!(account.name)),
                ("link".to_owned(), json!(link)),
            ]),
            idempotency_key: format!("invite-{}", account.id),
        },
    };
    Outbox::append(conn, &Envelope::new(&invite, 1, cause)).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    roles: Option<Vec<String>>,
    status: Option<Status>,
    name: Option<String>,
}

/// `PATCH /accounts/{id}`: roles, status, name. Disabling revokes every refresh token.
pub async fn change_account(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(change): Json<AccountChange>,
) -> Result<Json<Account>, IamError> {
    admin(&who)?;
    let mut tx = app.rt.db.begin().await?;
    let mut account = store::account_by_text(&mut tx, &id)
        .await?
        .ok_or(IamError::NotFound("account"))?;
    if let Some(roles) = &change.roles {
        account.roles = parse_roles(roles)?;
    }
    if let Some(name) = change.name {
        account.name = web::text::single_line("name", &name, 100)?;
    }
    if let Some(status) = change.status {
        account.status = status;
    }
    if account.id == who.id
        && (!account.roles.contains(&Role::Admin) || account.status != Status::Active)
    {
        return Err(IamError::Conflict(
            "self_lockout",
            "admins cannot remove their own admin role or disable themselves".into(),
        ));
    }
    store::update_account(&mut tx, &account).await?;
    if account.status == Status::Disabled {
        store::revoke_account_tokens(&mut tx, account.id).await?;
    }
    tx.commit().await?;
    Ok(Json(account))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewServiceAccount {
    name: String,
    /// Services its tokens are for (default: all).
    audiences: Option<Vec<String>>,
}

/// `POST /service-accounts`: a confidential client for service-to-service calls. The
/// secret is shown once.
pub async fn create_service_account(
    State(app): State<App>,
    who: Principal,
    Json(new): Json<NewServiceAccount>,
) -> Result<(StatusCode, Json<Value>), IamError> {
    admin(&who)?;
    let name = new.name.trim().to_owned();
    if name.is_empty()
        || name.len() > 60
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(IamError::invalid(
            "name",
            "must be 1 to 60 letters, digits or dashes",
        ));
    }
    let audiences = new
        .audiences
        .unwrap_or_else(|| app.audiences().iter().map(|s| (*s).to_owned()).collect());
    if let Some(bad) = audiences
        .iter()
        .find(|a| !app.audiences().contains(&a.as_str()))
    {
        return Err(IamError::invalid(
            "audiences",
            &format!("unknown service {bad:?}"),
        ));
    }
    let account = Account {
        id: AccountId::new(),
        email: format!("{name}@services.mcf.local"),
        name: name.clone(),
        roles: vec![Role::Service],
        status: Status::Active,
    };
    let client_id = format!("svc-{name}");
    let secret = random_token(32);
    let mut tx = app.rt.db.begin().await?;
    store::insert_account(&mut tx, &account, None).await?;
    store::upsert_client(
        &mut tx,
        &store::Client {
            id: client_id.clone(),
            name,
            confidential: true,
            secret_hash: Some(digest(&secret)),
            redirect_uris: vec![],
            audiences,
            account_id: Some(account.id),
            // Service accounts get no ID tokens; the column wants a value.
            id_token_alg: crate::keys::SigningAlg::RS256,
            post_logout_redirect_uris: vec![],
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"client_id": client_id, "client_secret": secret, "account_id": account.id})),
    ))
}

/// `POST /keys/rotate`: a new signing key; the old one stays published until its tokens
/// have expired.
pub async fn rotate_keys(
    State(app): State<App>,
    who: Principal,
) -> Result<(StatusCode, Json<Value>), IamError> {
    admin(&who)?;
    let kids = app.keys.rotate().await?;
    let kid = |alg| kids.get(&alg).cloned().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            // The key access tokens are signed with, and every new key by algorithm.
            "kid": kid(SigningAlg::EdDSA),
            "kids": {"EdDSA": kid(SigningAlg::EdDSA), "RS256": kid(SigningAlg::RS256)},
        })),
    ))
}
