//! Billing in-process (`service::testing`): the ledger, accounts from IAM's and Hiring's
//! events, charges, earnings and penalties from Ordering's, awards, bets, statements and
//! who may see what, written given / when / then. Every answer is also checked against
//! Billing's OpenAPI document by the kit.

mod accounts;
mod awards;
mod bets;
mod cycles;
mod ledger;
mod orders;
mod summary;

use std::sync::Arc;

use auth::Role;
use contracts::AccountId;
use messaging::Consumer;
use service::testing::{TestService, deliver, deliver_as_new_event};

use crate::client::BillingClient;
use crate::events::{ON_ACCOUNT, ON_HIRED, ON_ORDER, OnAccount, OnHired, OnOrder};
use crate::{App, BillingConfig};

async fn billing() -> TestService {
    TestService::start(&crate::SPEC, serde_json::json!({})).await
}

/// Billing on a throw-away PostgreSQL database `name` (the cluster lives as long as the
/// first value). A cluster that cannot start fails the test: one that skipped would pass
/// without testing PostgreSQL at all.
async fn billing_on_postgres(name: &str) -> (testing::Postgres, TestService) {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    let ts = TestService::builder(&crate::SPEC)
        .database(pg.url(name))
        .start()
        .await;
    (pg, ts)
}

fn as_role(ts: &TestService, role: Role) -> BillingClient {
    BillingClient(ts.client_as(AccountId::new(), &[role]))
}

fn app(ts: &TestService) -> App {
    App::new(ts.ctx().clone(), BillingConfig::default()).unwrap()
}

/// The consumer of Ordering's order events, as `build` makes it (inbox and all).
fn on_order(ts: &TestService) -> Consumer {
    ts.ctx()
        .consumer(ON_ORDER, Arc::new(OnOrder { app: app(ts) }))
}

/// The consumer of IAM's accounts, as `build` makes it.
fn on_account(ts: &TestService) -> Consumer {
    ts.ctx()
        .consumer(ON_ACCOUNT, Arc::new(OnAccount { app: app(ts) }))
}

/// The consumer of Hiring's hires, as `build` makes it.
fn on_hired(ts: &TestService) -> Consumer {
    ts.ctx()
        .consumer(ON_HIRED, Arc::new(OnHired { app: app(ts) }))
}
