//! IAM's HTTP API and who may call it, one file per resource: the OpenID Connect endpoints
//! are public (pages, forms and redirects among them), the admin API is for admins. Every
//! route is declared with what it takes and answers (the OpenAPI document), and calls
//! `app/` only.

pub(crate) mod accounts;
pub(crate) mod keys;
pub(crate) mod me;
pub(crate) mod oidc;
mod page;
pub(crate) mod password;
pub(crate) mod service_accounts;
pub(crate) mod session;

use auth::{Access, Role, Routes};

use crate::App;

const ADMIN: Access = Access::Roles(&[Role::Admin]);
/// People (every role but service accounts, which have no password).
const PEOPLE: Access = Access::Roles(&[
    Role::Admin,
    Role::Manager,
    Role::Supply,
    Role::Worker,
    Role::Client,
]);

/// `text/html`: the pages a browser sees.
const HTML: &str = "text/html";
/// `application/problem+json`, declared where a status also has another media type.
const PROBLEM: &str = "application/problem+json";

/// Every route of IAM, with its handlers' state.
pub fn routes(app: App) -> Routes {
    Routes::new()
        .include(oidc::routes())
        .include(session::routes())
        .include(me::routes())
        .include(accounts::routes())
        .include(service_accounts::routes())
        .include(keys::routes())
        .include(password::routes())
        .with_state(app)
}
