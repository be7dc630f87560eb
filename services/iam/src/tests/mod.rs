//! IAM in-process: the kit's service on a throw-away SQLite database, called through the
//! typed client (every answer checked against IAM's OpenAPI document), and the use cases
//! that need a caller's address or an event called directly on the kit's context.

mod accounts;
mod hire;
mod languages;
mod oauth;
mod passwords;

use auth::Role;
use contracts::AccountId;
use serde_json::json;
use service::testing::TestService;

use crate::client::{IamClient, NewAccount};
use crate::{App, IamConfig, SPEC};

/// The first admin's password in these tests.
const ADMIN_PASSWORD: &str = "admin-password-123";
/// A redirect URI registered for `mcf-web`.
const REDIRECT: &str = "http://app.test/callback";

/// IAM with a known first admin and `mcf-web` redirecting to [`REDIRECT`].
async fn iam() -> TestService {
    TestService::start(
        &SPEC,
        json!({"bootstrap_admin_password": ADMIN_PASSWORD, "web_redirect_uris": [REDIRECT]}),
    )
    .await
}

/// The API as an admin (a kit token: any account id with the role).
fn admin(ts: &TestService) -> IamClient {
    IamClient(ts.client_as(AccountId::new(), &[Role::Admin]))
}

/// The API without a token (the OAuth endpoints and pages).
fn anonymous(ts: &TestService) -> IamClient {
    IamClient(ts.client())
}

/// The API as the owner of `account` holding `roles`.
fn as_account(ts: &TestService, account: AccountId, roles: &[Role]) -> IamClient {
    IamClient(ts.client_as(account, roles))
}

/// A new account `name@cats.test` with `roles` and password `password-of-<name>`.
fn person(name: &str, roles: &[&str]) -> NewAccount {
    NewAccount {
        email: format!("{name}@cats.test"),
        name: name.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        password: Some(format!("password-of-{name}")),
    }
}

/// IAM's state on a kit context, for the use cases a route cannot reach (another source
/// address, an event).
async fn app() -> (App, service::testing::TestContext) {
    let test = TestService::builder(&SPEC).context().await;
    let app = App::new(test.ctx.clone(), IamConfig::default())
        .await
        .unwrap();
    (app, test)
}
