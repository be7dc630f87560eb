//! What everyone does with their own account: change the password; forgot it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use iam::client::{IamClient, PasswordChange};

use crate::Portal;
use crate::form::Fields;
use crate::web::{Chrome, Current, FormState, PageResult, refusal, render, render_with, see_other};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/password", get(password_page).post(change_password))
        .route("/forgot", get(forgot))
}

/// `GET /forgot`: IAM's "forgot your password?" page (IAM asks, throttles and mails; the
/// request comes from the person's browser, so IAM limits their address, not the
/// portal's).
async fn forgot(State(portal): State<Portal>) -> PageResult {
    Ok(see_other(&format!(
        "{}/password/forgot",
        portal.settings().issuer.trim_end_matches('/')
    )))
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    c: Chrome,
    form: FormState,
    done: bool,
}

/// `GET /password`.
async fn password_page(current: Current) -> PageResult {
    current.user()?;
    render(&PasswordPage {
        c: current.chrome("account.change_password"),
        form: FormState::default(),
        done: false,
    })
}

/// `POST /password`: IAM checks the current password and the new one's rules.
async fn change_password(
    State(portal): State<Portal>,
    current: Current,
    form: Fields,
) -> PageResult {
    let user = current.user()?;
    let iam = IamClient(portal.api("iam", user)?);
    let change = PasswordChange {
        current_password: form.get("current_password").to_owned(),
        new_password: form.get("new_password").to_owned(),
    };
    let page = |form, done| PasswordPage {
        c: current.chrome("account.change_password"),
        form,
        done,
    };
    match refusal(iam.change_password(&change).await)? {
        Ok(_) => render(&page(FormState::default(), true)),
        Err(refused) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(FormState::refused(Default::default(), &refused), false),
        ),
    }
}
