//! A person chooses the language they read (the portal's switch, or their browser's
//! language when they sign in): mails to them are written in it.

use contracts::AccountId;
use service::Refused;

use crate::domain::account::{Account, LANGUAGES, language};
use crate::error::IamError;
use crate::{App, app, store};

/// Sets the language of account `id` to `tag` (`en`, `ru`, or a tag with either as its
/// primary subtag). A change is announced (`iam.account.changed`, which Mail keeps by
/// address); choosing the language already kept changes nothing and announces nothing, so
/// the portal may say it at every sign-in.
pub(crate) async fn set_language(app: &App, id: AccountId, tag: &str) -> Result<Account, IamError> {
    let chosen = language(tag).ok_or_else(|| {
        Refused::invalid(
            "language",
            format!("must be one of: {}", LANGUAGES.join(", ")),
        )
    })?;
    let mut work = app.ctx.begin().await?;
    let mut account = store::account(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("account"))?;
    if account.language.as_deref() == Some(chosen) {
        work.rollback().await?;
        return Ok(account);
    }
    account.language = Some(chosen.to_owned());
    app::save_account(app, &mut work, &account).await?;
    work.commit().await?;
    Ok(account)
}
