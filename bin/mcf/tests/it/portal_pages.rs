//! The portal's money, books and operator pages in a real browser (Debian's Chromium, driven
//! by `tests/browser/portal-pages.mjs`, one step per run): a client adds a card on the bank's
//! own page and her invoice shows paid once business time passed Sunday, another's card
//! declines and her invoice says why and what to do, a worker opens a payout account; a
//! manager keeps the register of hypotheses, draws a sample, gives an award and reads
//! statements and the week's summary, reviews a failed order and closes a bet on it; an
//! admin replays a dead letter. With
//! `PORTAL_SCREENSHOTS=<dir>` the pages' screenshots are kept there (`docs/screenshots/`).

use std::path::PathBuf;
use std::time::Duration;

use billing::client::{BillingClient, Invoice};
use billing::domain::{EntryKind, InvoiceStatus, PeriodKind, Zone, period_of};
use contracts::{Envelope, Money};
use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode, poll_until};
use crate::lifecycle::{order, wait_status, worker};

/// A browser walk's files: its screenshots' directory and its config.
struct Walk {
    dir: tempfile::TempDir,
    shots: PathBuf,
    config: Value,
}

impl Walk {
    /// The people of `c` the walk signs in as (`name@cats.test`, `password-of-<name>`).
    fn new(c: &Cluster, people: &[&str]) -> Walk {
        let dir = tempfile::tempdir().unwrap();
        let shots = std::env::var("PORTAL_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| dir.path().join("shots"));
        let base = c.apis("iam")[0].trim_end_matches("/api/iam").to_owned();
        let mut config = json!({
            "base": base,
            "shots": shots,
            "admin": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        });
        for name in people {
            config[*name] = json!({
                "email": format!("{name}@cats.test"),
                "password": format!("password-of-{name}"),
            });
        }
        Walk { dir, shots, config }
    }

    /// Runs the walk's `step` in the browser: panics with what it printed unless it ends
    /// with "ok".
    async fn step(&self, step: &str) {
        let file = self.dir.path().join(format!("{step}.json"));
        std::fs::write(&file, self.config.to_string()).unwrap();
        crate::browser::walk(
            "portal-pages.mjs",
            vec![file.display().to_string(), step.to_owned()],
            &self.shots,
            &format!("the browser step {step}"),
        )
        .await;
    }
}

/// Billing as the holder of `token`.
fn billing(c: &mut Cluster, token: &str) -> BillingClient {
    BillingClient(c.client("billing", token))
}

/// `who`'s invoices once one is `status`.
async fn invoice_in(billing: &BillingClient, status: InvoiceStatus) -> Vec<Invoice> {
    poll_until(Duration::from_secs(60), "the invoice", || async {
        match billing.my_invoices().await {
            Ok(i) if i.iter().any(|i| i.status == status) => Ok(i),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// Moves business time, on every Billing process, just past the end of this week.
async fn past_sunday(c: &mut Cluster) {
    let token = c.admin_token().await;
    let admin = BillingClient(c.client("billing", &token));
    let now = admin.clock().await.unwrap().now;
    let week = period_of(PeriodKind::Week, now, Zone::utc()).unwrap();
    let by = (week.end - now).num_seconds() + 1;
    for api in c.apis("billing") {
        let replica = BillingClient(client::Client::new(api).with_token(&token));
        replica.advance_clock(by).await.unwrap();
    }
}

/// A client adds a card on the bank's page and sees her week's invoice paid after Sunday;
/// another's card declines and her invoice says why and what to do; a worker opens a payout
/// account the same way.
pub async fn a_client_pays(mode: Mode) {
    // Given two clients, a worker who is matched to their orders, a service to order
    let mut c = crate::lifecycle::start(mode).await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    let ann = c.token_for("ann", "client").await;
    let (tom, _) = worker(&mut c, "tom", 90).await;
    let walk = Walk::new(&c, &["kim", "ann", "tom"]);

    // When, in the browser, Kim adds a card on the bank's page, Ann adds one that declines,
    // and Tom opens a payout account
    walk.step("bank-details").await;

    // Then Billing holds what the bank registered for each of them
    let kims = billing(&mut c, &kim);
    let anns = billing(&mut c, &ann);
    let toms = billing(&mut c, &tom);
    let card = kims
        .my_bank()
        .await
        .unwrap()
        .payment_method
        .expect("Kim's card");
    let at_bank = c
        .bank
        .sandbox
        .payment_method(&card)
        .expect("registered at the bank");
    assert_eq!((at_bank.holder.as_str(), at_bank.declines), ("kim", false));
    let empty = anns
        .my_bank()
        .await
        .unwrap()
        .payment_method
        .expect("Ann's card");
    assert!(c.bank.sandbox.payment_method(&empty).unwrap().declines);
    let account = toms
        .my_bank()
        .await
        .unwrap()
        .payout_account
        .expect("Tom's account");
    assert_eq!(c.bank.sandbox.account(&account).unwrap().holder, "tom");

    // When each client's order becomes active (charged), and business time passes Sunday
    let soon = chrono::Utc::now() + chrono::Duration::minutes(20);
    let kims_order = order(&mut c, &kim, service_type, soon).await;
    wait_status(&mut c, kims_order, "active").await;
    let later = soon + chrono::Duration::hours(3);
    let anns_order = order(&mut c, &ann, service_type, later).await;
    wait_status(&mut c, anns_order, "active").await;
    for client in [&kims, &anns] {
        poll_until(Duration::from_secs(60), "the charge", || async {
            match client.upcoming().await {
                Ok(u) if u.week_total > Money::zero() => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    past_sunday(&mut c).await;

    // Then Kim's invoice is collected from her card and Ann's fails: her card declined
    let paid = invoice_in(&kims, InvoiceStatus::Paid).await;
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(
        c.bank.sandbox.payment_method(&card).unwrap().collected,
        paid[0].total.minor()
    );
    let failed = invoice_in(&anns, InvoiceStatus::Failed).await;
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("declined"),
        "{failed:?}"
    );
    // And the browser shows Kim's invoice paid, Ann's failed with why and what to do
    walk.step("invoices").await;
}

/// A manager keeps the register of hypotheses, draws a sample, gives an award and reads
/// statements and the week's summary in the browser; bets on a running order, reviews it
/// from the quality queue once it failed (a no-show) and closes the bet.
pub async fn a_manager_keeps_the_books(mode: Mode) {
    // Given a manager, a worker Billing knows, a client whose order was charged
    let mut c = crate::lifecycle::start(mode).await;
    let service_type = c.service_type().await.parse().unwrap();
    let boss = c.token_for("boss", "manager").await;
    let kim = c.token_for("kim", "client").await;
    let (_, tom_id) = worker(&mut c, "tom", 90).await;
    let soon = chrono::Utc::now() + chrono::Duration::minutes(20);
    let id = order(&mut c, &kim, service_type, soon).await;
    wait_status(&mut c, id, "active").await;
    let mut walk = Walk::new(&c, &["boss"]);
    walk.config["order"] = json!(id.to_string());

    // When the manager walks the register, samples, awards, statements and the summary,
    // and opens a bet on the running order, staking on "failed"
    walk.step("books").await;
    walk.step("bet").await;
    // And nobody comes to it: its kit issued, business time passes its check-in window
    c.issue_kit(&id.to_string()).await;
    crate::lifecycle::advance(&mut c, chrono::Duration::minutes(91)).await;
    let failed = wait_status(&mut c, id, "failed").await;
    assert_eq!(failed["reason"], "no_show", "{failed}");
    // And the manager reviews the failed order from the queue and closes the bet
    walk.step("failed-order").await;

    // Then what the browser did is what the services hold: one award of 12.50 to Tom (and
    // the no-show's penalty), a hypothesis with the tags changed, a draw with the seed typed
    let books = billing(&mut c, &boss);
    let tom = books
        .statement(format!("worker:{tom_id}").parse().unwrap())
        .await
        .unwrap();
    let moved: Vec<(EntryKind, i64)> = tom
        .lines
        .iter()
        .map(|l| (l.kind, l.amount.minor()))
        .collect();
    assert_eq!(
        moved,
        [(EntryKind::Award, -1250), (EntryKind::WorkerPenalty, 40)],
        "{tom:?}"
    );
    let (status, hypotheses) = c.get_as(&boss, "quality", "/hypotheses").await;
    assert_eq!(status, 200, "{hypotheses}");
    assert_eq!(
        hypotheses[0]["tags"],
        json!(["kits", "supply"]),
        "{hypotheses}"
    );
    let (status, draws) = c.get_as(&boss, "quality", "/samples").await;
    assert_eq!(status, 200, "{draws}");
    assert_eq!(draws[0]["seed"], 42, "{draws}");
    // And the failed order's review has the verdict chosen, and the bet is settled
    let (status, file) = c.get_as(&boss, "quality", &format!("/orders/{id}")).await;
    assert_eq!(status, 200, "{file}");
    let review = file["review"]["id"].as_str().expect("a review").to_owned();
    let (status, review) = c
        .get_as(&boss, "quality", &format!("/reviews/{review}"))
        .await;
    assert_eq!(status, 200, "{review}");
    assert!(review.to_string().contains("worker_at_fault"), "{review}");
    let (status, bets) = c.get_as(&boss, "bets", "/bets").await;
    assert_eq!(status, 200, "{bets}");
    let state = &bets[0]["state"];
    assert!(state == "settled" || state == "settling", "{bets}");
}

/// An admin replays a dead letter in the browser: Billing's consumer of IAM's account news
/// parked an event (as after its database refused every retry); replayed, it is applied
/// (the new client's account is open) and the page no longer lists it.
pub async fn an_admin_replays_a_dead_letter(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.admin_token().await;
    // Given an account event Billing's consumer parked after its retries, with the reason it
    // gave (planted in Billing's database the way the consumer parks one: that database
    // being unavailable through five retries cannot be arranged without stopping the rest)
    let ghost: contracts::iam::AccountCreated = serde_json::from_value(json!({
        "account_id": uuid::Uuid::now_v7(),
        "email": "ghost@cats.test",
        "name": "Ghost Cat",
        "roles": ["client"],
    }))
    .unwrap();
    let envelope = Envelope::new(&ghost, 1, None);
    let data = c
        .mail_dir()
        .parent()
        .unwrap()
        .join("data")
        .join("billing.sqlite");
    let db = storage::Db::connect(&storage::sqlite_url(&data), &storage::DbOptions::default())
        .await
        .unwrap();
    storage::query(
        "INSERT INTO dead_letters (id, consumer, event_id, event_type, body, error, attempts, \
         failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(billing::events::ON_ACCOUNT)
    .bind(envelope.id.to_string())
    .bind(&envelope.event_type)
    .bind(serde_json::to_string(&envelope).unwrap())
    .bind("database is locked")
    .bind(5_i64)
    .bind(storage::now_micros())
    .execute(db.pool())
    .await
    .unwrap();
    db.close().await;
    let walk = Walk::new(&c, &[]);

    // When the admin replays it at /admin/dead-letters
    walk.step("dead-letter").await;

    // Then Billing applied it once: Ghost's client account is open, nothing is pending
    let (status, letters) = c.get("billing", "/ops/dead-letters").await;
    assert_eq!(status, 200, "{letters}");
    assert_eq!(letters, json!([]));
    let (status, balance) = c.get("billing", "/trial-balance").await;
    assert_eq!(status, 200, "{balance}");
    let ghosts = balance["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "Ghost Cat")
        .count();
    assert_eq!(ghosts, 1, "{balance}");
}
