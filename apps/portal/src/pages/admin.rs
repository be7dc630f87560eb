//! An admin's pages: accounts and roles, set-password links, service accounts, dead
//! letters of every service (list, replay), mails (search, retry), key rotation.

use askama::Template;
use auth::Role;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use iam::client::{Account, AccountChange, IamClient, NewAccount, NewServiceAccount, Status};
use mail::client::{MailClient, MessageOut, SearchQuery};
use serde::Deserialize;
use service::client::OpsClient;

use crate::Portal;
use crate::form::Fields;
use crate::web::{
    Chrome, Current, FormState, PageError, PageResult, Refusal, refusal, render, render_with,
    see_other,
};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/admin/accounts", get(accounts).post(create_account))
        .route("/admin/accounts/{id}", post(change_account))
        .route("/admin/accounts/{id}/password-link", post(password_link))
        .route("/admin/service-accounts", post(create_service_account))
        .route("/admin/dead-letters", get(dead_letters))
        .route("/admin/dead-letters/{service}/{id}/replay", post(replay))
        .route("/admin/mails", get(mails))
        .route("/admin/mails/{id}/retry", post(retry_mail))
        .route("/admin/keys", get(keys).post(rotate_keys))
}

const ADMIN: &[Role] = &[Role::Admin];

/// The person roles an admin may give.
const PERSON_ROLES: [Role; 5] = [
    Role::Admin,
    Role::Manager,
    Role::Supply,
    Role::Worker,
    Role::Client,
];

struct AccountRow {
    id: String,
    email: String,
    name: String,
    /// (role, held)
    roles: Vec<(&'static str, bool)>,
    active: bool,
}

impl AccountRow {
    fn of(a: &Account) -> Self {
        AccountRow {
            id: a.id.to_string(),
            email: a.email.clone(),
            name: a.name.clone(),
            roles: PERSON_ROLES
                .iter()
                .map(|r| (r.as_str(), a.roles.contains(r)))
                .collect(),
            active: a.status == Status::Active,
        }
    }
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    c: Chrome,
    rows: Vec<AccountRow>,
    roles: Vec<&'static str>,
    form: FormState,
    /// A set-password link just made: (whose e-mail, the link).
    link: Option<(String, String)>,
    /// A service account just made: (client id, secret), shown once.
    credentials: Option<(String, String)>,
}

#[derive(Default)]
struct Made {
    link: Option<(String, String)>,
    credentials: Option<(String, String)>,
}

async fn accounts_page(
    portal: &Portal,
    current: &Current,
    form: FormState,
    made: Made,
    status: StatusCode,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let accounts = IamClient(portal.api("iam", user)?).accounts().await?;
    let form = form.keyed();
    render_with(
        status,
        &AccountsPage {
            c: current.chrome("admin.accounts"),
            rows: accounts.iter().map(AccountRow::of).collect(),
            roles: PERSON_ROLES.iter().map(|r| r.as_str()).collect(),
            form,
            link: made.link,
            credentials: made.credentials,
        },
    )
}

/// `GET /admin/accounts`.
async fn accounts(State(portal): State<Portal>, current: Current) -> PageResult {
    accounts_page(
        &portal,
        &current,
        FormState::default(),
        Made::default(),
        StatusCode::OK,
    )
    .await
}

/// After an account form: the list, or the list with the refusal.
async fn after(
    portal: &Portal,
    current: &Current,
    form: &Fields,
    result: Result<Made, Refusal>,
) -> PageResult {
    match result {
        Ok(made) if made.link.is_none() && made.credentials.is_none() => {
            Ok(see_other("/admin/accounts"))
        }
        // What was made is shown once, on this answer (not kept anywhere to redirect to).
        Ok(made) => {
            accounts_page(portal, current, FormState::default(), made, StatusCode::OK).await
        }
        Err(refused) => {
            let state = FormState::again(form, &refused);
            accounts_page(
                portal,
                current,
                state,
                Made::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /admin/accounts`: without a password the person is mailed a set-password invite.
async fn create_account(
    State(portal): State<Portal>,
    current: Current,
    form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let new = NewAccount {
        email: form.get("email").to_owned(),
        name: form.get("name").to_owned(),
        roles: form.all("roles").to_vec(),
        password: None,
    };
    let result = IamClient(portal.api("iam", user)?)
        .create_account(&new, form.key())
        .await;
    let result = refusal(result)?.map(|_| Made::default());
    after(&portal, &current, &form, result).await
}

/// `POST /admin/accounts/{id}`: the roles checked and whether it is active.
async fn change_account(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let status = if form.get("active") == "on" {
        Status::Active
    } else {
        Status::Disabled
    };
    let change = AccountChange {
        roles: Some(form.all("roles").to_vec()),
        status: Some(status),
        name: None,
    };
    let result = IamClient(portal.api("iam", user)?)
        .change_account(&id, &change)
        .await;
    let result = refusal(result)?.map(|_| Made::default());
    after(&portal, &current, &form, result).await
}

/// `POST /admin/accounts/{id}/password-link`: a link to hand over, shown once.
async fn password_link(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let iam = IamClient(portal.api("iam", user)?);
    let result = match refusal(iam.password_link(&id).await)? {
        Ok(link) => {
            let whose = iam.account(&id).await?.email;
            Ok(Made {
                link: Some((whose, link.link)),
                credentials: None,
            })
        }
        Err(refused) => Err(refused),
    };
    after(&portal, &current, &form, result).await
}

/// `POST /admin/service-accounts`: its secret is shown once.
async fn create_service_account(
    State(portal): State<Portal>,
    current: Current,
    form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let result = IamClient(portal.api("iam", user)?)
        .create_service_account(&NewServiceAccount {
            name: form.get("service_name").to_owned(),
            audiences: None,
        })
        .await;
    let result = refusal(result)?
        .map(|made| Made {
            link: None,
            credentials: Some((made.client_id, made.client_secret)),
        })
        .map_err(|mut refused| {
            // The form's field is `service_name` (the page has another `name`).
            if refused.field.as_deref() == Some("name") {
                refused.field = Some("service_name".into());
            }
            refused
        });
    after(&portal, &current, &form, result).await
}

struct LetterRow {
    service: String,
    id: String,
    consumer: String,
    event_type: String,
    error: String,
    attempts: i64,
    failed_at: String,
    replayed: bool,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct DeadLettersPage {
    c: Chrome,
    rows: Vec<LetterRow>,
    all: bool,
    /// Services that did not answer.
    unreachable: Vec<String>,
    form: FormState,
}

/// `?all=true`: replayed ones too.
#[derive(Debug, Deserialize)]
struct AllQuery {
    all: Option<bool>,
}

async fn dead_letters_page(
    portal: &Portal,
    current: &Current,
    all: bool,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let c = current.chrome("admin.dead_letters");
    let mut rows = Vec::new();
    let mut unreachable = Vec::new();
    for service in &portal.settings().services {
        let ops = OpsClient::new(portal.api(service, user)?);
        match ops.dead_letters(all).await {
            Ok(letters) => rows.extend(letters.into_iter().map(|l| {
                LetterRow {
                    service: service.clone(),
                    failed_at: chrono::DateTime::from_timestamp_micros(l.failed_at)
                        .map(|at| c.when(at))
                        .unwrap_or_default(),
                    replayed: l.replayed_at.is_some(),
                    id: l.id,
                    consumer: l.consumer,
                    event_type: l.event_type,
                    error: l.error,
                    attempts: l.attempts,
                }
            })),
            // One service down must not hide the others' letters.
            Err(e) => {
                tracing::warn!(service, error = %e, "dead letters not listed");
                unreachable.push(service.clone());
            }
        }
    }
    render_with(
        status,
        &DeadLettersPage {
            c,
            rows,
            all,
            unreachable,
            form,
        },
    )
}

/// `GET /admin/dead-letters?all=`: every service's.
async fn dead_letters(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<AllQuery>,
) -> PageResult {
    dead_letters_page(
        &portal,
        &current,
        q.all.unwrap_or(false),
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/dead-letters/{service}/{id}/replay`.
async fn replay(
    State(portal): State<Portal>,
    current: Current,
    Path((service, id)): Path<(String, String)>,
    _form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    if !portal.settings().services.contains(&service) {
        return Err(PageError::NotFound);
    }
    let ops = OpsClient::new(portal.api(&service, user)?);
    match refusal(ops.replay(&id).await)? {
        Ok(()) => Ok(see_other("/admin/dead-letters")),
        Err(refused) => {
            let state = FormState::refused(Default::default(), &refused);
            dead_letters_page(&portal, &current, false, state, StatusCode::CONFLICT).await
        }
    }
}

/// `GET /admin/mails?to=&status=`.
#[derive(Debug, Deserialize)]
struct MailQuery {
    to: Option<String>,
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "mails.html")]
struct MailsPage {
    c: Chrome,
    to: String,
    /// (status, chosen)
    statuses: Vec<(&'static str, bool)>,
    mails: Vec<MessageOut>,
    form: FormState,
}

async fn mails_page(
    portal: &Portal,
    current: &Current,
    q: MailQuery,
    form: FormState,
    status: StatusCode,
) -> PageResult {
    let user = current.require(ADMIN)?;
    let wanted = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| serde_json::from_value(serde_json::Value::String(s.to_owned())).ok());
    let to = q.to.unwrap_or_default().trim().to_owned();
    let mails = MailClient(portal.api("mail", user)?)
        .search(&SearchQuery {
            status: wanted,
            to: Some(to.clone()).filter(|t| !t.is_empty()),
            limit: Some(100),
        })
        .await?;
    render_with(
        status,
        &MailsPage {
            c: current.chrome("admin.mails"),
            to,
            statuses: ["queued", "sent", "dead"]
                .into_iter()
                .map(|s| {
                    (
                        s,
                        wanted.map(|w: mail::client::Status| w.as_str()) == Some(s),
                    )
                })
                .collect(),
            mails,
            form,
        },
    )
}

/// `GET /admin/mails`: the latest mails, by recipient and status.
async fn mails(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<MailQuery>,
) -> PageResult {
    mails_page(&portal, &current, q, FormState::default(), StatusCode::OK).await
}

/// `POST /admin/mails/{id}/retry`: a dead mail queued again.
async fn retry_mail(
    State(portal): State<Portal>,
    current: Current,
    Path(id): Path<String>,
    _form: Fields,
) -> PageResult {
    let user = current.require(ADMIN)?;
    match refusal(MailClient(portal.api("mail", user)?).retry(&id).await)? {
        Ok(()) => Ok(see_other("/admin/mails")),
        Err(refused) => {
            let q = MailQuery {
                to: None,
                status: None,
            };
            let state = FormState::refused(Default::default(), &refused);
            mails_page(&portal, &current, q, state, StatusCode::CONFLICT).await
        }
    }
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    c: Chrome,
    rotated: Option<String>,
}

/// `GET /admin/keys`.
async fn keys(current: Current) -> PageResult {
    current.require(ADMIN)?;
    render(&KeysPage {
        c: current.chrome("admin.keys"),
        rotated: None,
    })
}

/// `POST /admin/keys`: IAM signs with new keys from now on.
async fn rotate_keys(State(portal): State<Portal>, current: Current, _form: Fields) -> PageResult {
    let user = current.require(ADMIN)?;
    let rotated = IamClient(portal.api("iam", user)?).rotate_keys().await?;
    render(&KeysPage {
        c: current.chrome("admin.keys"),
        rotated: Some(serde_json::to_string(&rotated).unwrap_or_default()),
    })
}
