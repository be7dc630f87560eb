//! Mail's HTTP API and who may call it: services send, admins look and retry. One file per
//! resource; each route calls `app/` only.

pub mod messages;
pub mod templates;

use auth::{Role, Routes};

use crate::App;

/// Who may ask for mail and look at what they asked for.
pub(crate) const SENDERS: &[Role] = &[Role::Service, Role::Admin];

/// Every route of Mail.
pub fn routes() -> Routes<App> {
    Routes::new()
        .include(messages::routes())
        .include(templates::routes())
}
