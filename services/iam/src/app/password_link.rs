//! Set-password links: a long random token, stored hashed, single use, expiring. Admins
//! ask for one; IAM mails one (an invite) to people who have no password yet.

use chrono::{DateTime, Utc};
use contracts::iam::{MailRequest, MailRequested};
use contracts::{AccountId, Envelope};
use messaging::Work;
use serde_json::json;
use service::Refused;

use crate::domain::account::Account;
use crate::error::IamError;
use crate::tokens::{digest, random_token};
use crate::{App, store};

/// How long a link works.
const LINK_TTL_S: i64 = 72 * 3600;

/// A link as made: the URL (with its token) and when it stops working.
pub(crate) struct Link {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A link for the account `id` names (any text: not an id is not found).
pub(crate) async fn create_link(app: &App, id: &str) -> Result<Link, IamError> {
    let mut work = app.ctx.begin().await?;
    let account = store::account_by_text(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("account"))?;
    let link = new_link(app, &mut work, account.id).await?;
    work.commit().await?;
    Ok(link)
}

/// Makes a set-password link for `account_id` in `work`.
pub(crate) async fn new_link(
    app: &App,
    work: &mut Work,
    account_id: AccountId,
) -> Result<Link, IamError> {
    let token = random_token(32);
    let now = app.now();
    let expires_at = now + LINK_TTL_S * 1_000_000;
    store::insert_password_link(work, &digest(&token), account_id, "set", expires_at, now).await?;
    Ok(Link {
        url: format!("{}/password?token={token}", app.issuer()),
        expires_at: storage::time(expires_at),
    })
}

/// Sends `account` a set-password invite: a link, mailed through Mail by a command
/// (`iam.mail.requested`) published in `work` (never a plaintext password).
pub(crate) async fn invite(
    app: &App,
    work: &mut Work,
    account: &Account,
    cause: Option<&Envelope>,
) -> Result<(), IamError> {
    let key = format!("invite-{}", account.id);
    mail_link(app, work, account, "set_password_invite", key, cause).await
}

/// Mails `account` a new set-password link with `template` (`name`, `link`) under the mail
/// idempotency `key`, by a command published in `work`.
pub(crate) async fn mail_link(
    app: &App,
    work: &mut Work,
    account: &Account,
    template: &str,
    key: String,
    cause: Option<&Envelope>,
) -> Result<(), IamError> {
    let link = new_link(app, work, account.id).await?;
    // The page the link opens is in the mail's language (`lang` is read by IAM's pages;
    // appended, so the token stays right after `?token=`).
    let url = match account
        .language
        .as_deref()
        .and_then(contracts::language::language)
    {
        Some(lang) => format!("{}&lang={lang}", link.url),
        None => link.url,
    };
    let mail = MailRequested {
        account_id: account.id,
        request: MailRequest {
            to: account.email.clone(),
            template: template.into(),
            variables: serde_json::Map::from_iter([
                ("name".to_owned(), json!(account.name)),
                ("link".to_owned(), json!(url)),
            ]),
            idempotency_key: key,
            // Mail would find it too, but only once it heard of the account: the invite is
            // asked for in the same unit of work that creates it.
            language: account.language.clone(),
        },
    };
    work.publish(&Envelope::new(&mail, 1, cause)).await?;
    Ok(())
}
