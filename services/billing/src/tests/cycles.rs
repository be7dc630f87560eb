//! The billing cycles against the sandbox bank on a free port, with a business clock the
//! tests move: a client's week collected, a worker's month paid out or carried over, each
//! period run once (again, racing, after downtime), and the bank's fault matrix: every
//! collection and payout executed exactly once at the bank, the ledger equal to the bank's
//! statement.

use auth::Role;
use chrono::{DateTime, Utc};
use contracts::iam::AccountCreated;
use contracts::{AccountId, Envelope, Money, WorkerId};
use sandbox_bank::{Faults, OperationKind, StatementQuery};
use service::Clock;
use service::testing::TestService;

use super::orders::{activated, completed, failed};
use super::{as_role, deliver, on_account, on_order};
use crate::client::{BankDetailsView, BillingClient};
use crate::domain::{
    CompanyAccount, EntryKind, InvoiceKind, InvoiceStatus, LedgerAccount, NewAward, PeriodKind,
    period_of, week_of,
};
use crate::{App, BillingConfig, app};

/// Billing with an adjustable clock and a sandbox bank.
struct Given {
    ts: TestService,
    app: App,
    bank: sandbox_bank::Sandbox,
    task: tokio::task::JoinHandle<()>,
    clock: Clock,
}

impl Drop for Given {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The section the tests run with: a bank that answers within 3 s (generous: a loaded CI
/// machine), two attempts per call, a retry after 1 s, a breaker that does not open during
/// the matrix.
fn section(bank_url: &str) -> serde_json::Value {
    serde_json::json!({
        "bank_url": bank_url,
        "bank_timeout_ms": 3000,
        "bank_attempts": 2,
        "bank_backoff_ms": 10,
        "bank_breaker_failures": 100,
        "retry_initial_ms": 1000,
        "retry_max_ms": 60000,
        "bank_lease_ms": 500,
    })
}

async fn given_billing_and_a_bank(database: Option<String>) -> Given {
    let bank = sandbox_bank::Sandbox::new(sandbox_bank::Settings::default());
    let (addr, task) = bank.clone().start("127.0.0.1:0").await.unwrap();
    let clock = Clock::adjustable();
    let section = section(&format!("http://{addr}"));
    let mut builder = TestService::builder(&crate::SPEC)
        .section(section.clone())
        .clock(clock.clone());
    if let Some(url) = database {
        builder = builder.database(url);
    }
    let ts = builder.start().await;
    let config: BillingConfig = service::parse_section(&section).unwrap();
    let app = App::new(ts.ctx().clone(), config).unwrap();
    Given {
        ts,
        app,
        bank,
        task,
        clock,
    }
}

impl Given {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the business clock just past the end of the current period of `kind`.
    fn past_the_end_of_the(&self, kind: PeriodKind) {
        let period = period_of(kind, self.now(), self.app.zone).unwrap();
        let by = period.end - self.now() + chrono::Duration::seconds(1);
        self.clock.advance(by).unwrap();
    }

    /// Moves the business clock past the end of the current month and then of the week
    /// that is current then: both cycles have something ended.
    fn past_both_ends(&self) {
        self.past_the_end_of_the(PeriodKind::Month);
        self.past_the_end_of_the(PeriodKind::Week);
    }

    /// A person IAM announced with `roles`, who gave MCF `details` for the bank.
    async fn person(&self, name: &str, roles: &[&str], details: BankDetailsView) -> AccountId {
        let id = AccountId::new();
        let created = AccountCreated {
            account_id: id,
            email: format!("{name}@cats.test"),
            name: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            language: None,
        };
        deliver(&on_account(&self.ts), &Envelope::new(&created, 1, None)).await;
        let role = if roles.contains(&"client") {
            Role::Client
        } else {
            Role::Worker
        };
        let me = BillingClient(self.ts.client_as(id, &[role]));
        me.set_my_bank(&details).await.unwrap();
        id
    }

    /// A client with a payment method registered at the bank (declining when `declines`).
    async fn client(&self, name: &str, declines: bool) -> AccountId {
        let card = self.bank.register_payment_method(name, declines).token;
        let details = BankDetailsView {
            payment_method: Some(card),
            payout_account: None,
        };
        self.person(name, &["client"], details).await
    }

    /// A worker with an account at the bank: the worker and the account's number.
    async fn worker(&self, name: &str) -> (WorkerId, String) {
        let number = self.bank.open_account(name).number;
        let details = BankDetailsView {
            payment_method: None,
            payout_account: Some(number.clone()),
        };
        (
            WorkerId::from(self.person(name, &["worker"], details).await),
            number,
        )
    }

    /// Orders of `prices` activated for `client` (and completed by `worker`).
    async fn orders(&self, client: AccountId, worker: WorkerId, prices: &[i64], complete: bool) {
        let consumer = on_order(&self.ts);
        for price in prices {
            let order = activated(client, worker, *price);
            deliver(&consumer, &Envelope::new(&order, 2, None)).await;
            if complete {
                deliver(&consumer, &Envelope::new(&completed(&order), 4, None)).await;
            }
        }
    }

    /// The cycles' job once: ended periods run, due invoices settled.
    async fn cycle(&self) -> usize {
        let ran = app::run_cycles(&self.app).await.unwrap();
        app::settle_due(&self.app).await.unwrap();
        ran.len()
    }

    fn admin(&self) -> BillingClient {
        as_role(&self.ts, Role::Admin)
    }

    /// Every operation the bank executed.
    fn executed(&self) -> Vec<sandbox_bank::Operation> {
        self.bank.statement(&StatementQuery::default())
    }

    /// The ledger and the bank agree: each operation's key is a booked entry of the same
    /// amount, and the clearing accounts hold what the bank moved.
    async fn ledger_equals_the_bank(&self) {
        let admin = self.admin();
        let collections = admin
            .statement(LedgerAccount::Company(CompanyAccount::BankCollections))
            .await
            .unwrap();
        let payouts = admin
            .statement(LedgerAccount::Company(CompanyAccount::BankPayouts))
            .await
            .unwrap();
        let mut booked: Vec<(String, i64)> = collections
            .lines
            .iter()
            .map(|l| (l.entry_id.to_string(), l.amount.minor()))
            .chain(
                payouts
                    .lines
                    .iter()
                    .map(|l| (l.entry_id.to_string(), -l.amount.minor())),
            )
            .collect();
        let mut at_bank: Vec<(String, i64)> = self
            .executed()
            .into_iter()
            .map(|op| (op.key, op.amount))
            .collect();
        booked.sort();
        at_bank.sort();
        assert_eq!(
            booked, at_bank,
            "the ledger's bank entries are the bank's statement"
        );
        assert_eq!(admin.trial_balance().await.unwrap().total, Money::zero());
    }
}

#[tokio::test]
async fn given_a_clients_week_when_sunday_ends_then_one_invoice_is_collected_once() {
    weekly_collection(&given_billing_and_a_bank(None).await).await;
}

#[tokio::test]
async fn given_a_clients_week_when_sunday_ends_then_one_invoice_is_collected_once_on_postgres() {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    weekly_collection(&given_billing_and_a_bank(Some(pg.url("billing_test"))).await).await;
}

async fn weekly_collection(g: &Given) {
    // Given a client with a card and two orders this week (100 and 120: no discount yet)
    let tom = g.client("tom", false).await;
    let (felix, _) = g.worker("felix").await;
    g.orders(tom, felix, &[100, 120], false).await;
    // When the week has not ended, nothing is invoiced
    assert_eq!(g.cycle().await, 0);
    // When Sunday ends
    g.past_the_end_of_the(PeriodKind::Week);
    g.cycle().await;
    // Then Tom's invoice of 220 was collected once at the bank, keyed by its entry
    let tom_client = BillingClient(g.ts.client_as(tom, &[Role::Client]));
    let invoices = tom_client.my_invoices().await.unwrap();
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    let invoice = &invoices[0];
    assert_eq!(
        (invoice.kind, invoice.status, invoice.total),
        (
            InvoiceKind::Collection,
            InvoiceStatus::Paid,
            Money::from_minor(220)
        )
    );
    let executed = g.executed();
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0].kind, OperationKind::Collection);
    assert_eq!(executed[0].key, invoice.entry_id().to_string());
    // And the invoice lists the two charges, Tom owes nothing, the ledger matches the bank
    let shown = tom_client.invoice(&invoice.id).await.unwrap();
    assert_eq!(shown.lines.len(), 2);
    let statement = g
        .admin()
        .statement(LedgerAccount::Client(tom))
        .await
        .unwrap();
    assert_eq!(statement.balance, Money::zero());
    g.ledger_equals_the_bank().await;
    // And the invoice was announced and mailed, the payment announced
    assert_eq!(g.ts.published("billing.invoice.issued").await.len(), 1);
    assert_eq!(g.ts.published("billing.invoice.paid").await.len(), 1);
    let mails = g.ts.published("billing.mail.requested").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["data"]["request"]["template"], "invoice_issued");
    assert_eq!(mails[0]["data"]["request"]["to"], "tom@cats.test");
    // When the job runs again, nothing more happens
    assert_eq!(g.cycle().await, 0);
    assert_eq!(g.executed().len(), 1);
    // And nobody else sees Tom's invoice
    let other = BillingClient(g.ts.client_as(AccountId::new(), &[Role::Client]));
    let refused = other.invoice(&invoice.id).await.unwrap_err();
    assert_eq!(refused.code(), Some("not_found"));
    assert!(other.my_invoices().await.unwrap().is_empty());
}

#[tokio::test]
async fn given_a_workers_month_then_a_positive_total_is_paid_out_and_a_negative_carried_over() {
    let g = given_billing_and_a_bank(None).await;
    // Given Felix with a completed order of 100 (+60), an award of 10 and a failure at his
    // fault (-40): +30; and Tom with only a failure at his fault: -40
    let tom_client = g.client("client", false).await;
    let (felix, felix_account) = g.worker("felix").await;
    let (tom, _) = g.worker("tom").await;
    g.orders(tom_client, felix, &[100], true).await;
    let consumer = on_order(&g.ts);
    for worker in [felix, tom] {
        let order = activated(tom_client, worker, 50);
        deliver(&consumer, &Envelope::new(&order, 2, None)).await;
        let failure = failed(&order, "no_show", true);
        deliver(&consumer, &Envelope::new(&failure, 3, None)).await;
    }
    let manager = as_role(&g.ts, Role::Manager);
    let award = NewAward {
        worker_id: felix,
        amount: Money::from_minor(10),
        reason: "spotless".into(),
    };
    manager.award(&award, "award-1").await.unwrap();
    // When the month ends
    g.past_the_end_of_the(PeriodKind::Month);
    g.cycle().await;
    // Then Felix is paid 30 once to his account, Tom's -40 is carried over
    let invoices = g.admin().invoices().await.unwrap();
    let of = |worker: WorkerId| {
        invoices
            .iter()
            .find(|i| i.account == LedgerAccount::Worker(worker))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (of(felix).status, of(felix).total),
        (InvoiceStatus::Paid, Money::from_minor(30))
    );
    assert_eq!(
        (of(tom).status, of(tom).total),
        (InvoiceStatus::CarriedOver, Money::from_minor(-40))
    );
    let payouts = g.bank.statement(&StatementQuery {
        kind: Some(OperationKind::Payout),
        ..StatementQuery::default()
    });
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].account.as_deref(), Some(felix_account.as_str()));
    assert_eq!(g.bank.account(&felix_account).unwrap().balance, 30);
    g.ledger_equals_the_bank().await;
    // And both were sent a payment notice
    let notices = g.ts.published("billing.mail.requested").await;
    let templates: Vec<&str> = notices
        .iter()
        .filter_map(|m| m["data"]["request"]["template"].as_str())
        .collect();
    assert_eq!(
        templates.iter().filter(|t| **t == "payment_notice").count(),
        2,
        "{templates:?}"
    );
    assert_eq!(g.ts.published("billing.payout.sent").await.len(), 1);
    // When Tom completes an order of 100 next month (+60), then 20 is paid out
    g.orders(tom_client, tom, &[100], true).await;
    g.past_the_end_of_the(PeriodKind::Month);
    g.cycle().await;
    let tom_invoices = BillingClient(g.ts.client_as(AccountId::from(tom), &[Role::Worker]))
        .my_invoices()
        .await
        .unwrap();
    let latest = &tom_invoices[0];
    assert_eq!(
        (latest.status, latest.carried_in, latest.total),
        (
            InvoiceStatus::Paid,
            Money::from_minor(-40),
            Money::from_minor(20)
        )
    );
    g.ledger_equals_the_bank().await;
}

#[tokio::test]
async fn given_the_service_down_across_several_weeks_then_each_missed_week_runs_once_in_order() {
    let g = given_billing_and_a_bank(None).await;
    let tom = g.client("tom", false).await;
    let (felix, _) = g.worker("felix").await;
    // Given a charge this week, then three weeks without the job running
    g.orders(tom, felix, &[100], false).await;
    let first = week_of(g.now(), g.app.zone).unwrap();
    for _ in 0..3 {
        g.past_the_end_of_the(PeriodKind::Week);
    }
    // When the job runs, then each of the three ended weeks runs once (oldest first), one
    // invoice in all, collected once
    let ran = app::run_cycles(&g.app).await.unwrap();
    let weeks: Vec<&str> = ran
        .iter()
        .filter(|p| p.kind == PeriodKind::Week)
        .map(|p| p.key.as_str())
        .collect();
    let mut expected = vec![first.clone()];
    while expected.len() < 3 {
        let next = expected.last().unwrap().next(g.app.zone).unwrap();
        expected.push(next);
    }
    let expected: Vec<&str> = expected.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(weeks, expected);
    app::settle_due(&g.app).await.unwrap();
    assert_eq!(g.executed().len(), 1);
    // And a second replica (another App on the same database) finds nothing left to run
    let other = App::new(g.ts.ctx().clone(), (*g.app.config).clone()).unwrap();
    assert!(app::run_cycles(&other).await.unwrap().is_empty());
    g.ledger_equals_the_bank().await;
}

#[tokio::test]
async fn given_two_replicas_racing_then_each_period_runs_once_and_each_invoice_is_collected_once() {
    race(&given_billing_and_a_bank(None).await).await;
}

#[tokio::test]
async fn given_two_replicas_racing_on_postgres_then_each_period_runs_once() {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    race(&given_billing_and_a_bank(Some(pg.url("billing_race"))).await).await;
}

async fn race(g: &Given) {
    // Given three clients charged, and the month and the week after it over
    let (felix, _) = g.worker("felix").await;
    for name in ["a", "b", "c"] {
        let client = g.client(name, false).await;
        g.orders(client, felix, &[100], true).await;
    }
    g.past_both_ends();
    // When two replicas run the cycles and settle at the same time, twice over
    let other = App::new(g.ts.ctx().clone(), (*g.app.config).clone()).unwrap();
    for _ in 0..2 {
        let (a, b) = tokio::join!(app::run_cycles(&g.app), app::run_cycles(&other));
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut keys: Vec<String> = a
            .iter()
            .chain(&b)
            .map(|p| format!("{:?}:{}", p.kind, p.key))
            .collect();
        let all = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all, "no period ran twice: {keys:?}");
        let (a, b) = tokio::join!(app::settle_due(&g.app), app::settle_due(&other));
        a.unwrap();
        b.unwrap();
    }
    // Then every invoice was settled once: three collections and one payout at the bank
    let invoices = g.admin().invoices().await.unwrap();
    assert!(
        invoices.iter().all(|i| i.status == InvoiceStatus::Paid),
        "{invoices:?}"
    );
    let executed = g.executed();
    let collections = executed
        .iter()
        .filter(|o| o.kind == OperationKind::Collection)
        .count();
    assert_eq!((collections, executed.len()), (3, 4));
    assert_eq!(
        g.ts.published("billing.invoice.paid").await.len()
            + g.ts.published("billing.payout.sent").await.len(),
        4
    );
    g.ledger_equals_the_bank().await;
}

/// The fault matrix: for each fault, a week's invoice and a month's payout, the fault on
/// for every attempt of the first call; then the fault off and the retry due.
#[tokio::test]
async fn given_each_bank_fault_then_every_operation_executes_exactly_once_and_the_ledger_matches() {
    let faults: [(&str, Faults); 5] = [
        (
            "timeout after executing",
            Faults {
                // Far beyond the 3 s timeout; nobody waits for these answers.
                slow_ms: 30_000,
                ..Faults::default()
            },
        ),
        (
            "500 after executing",
            Faults {
                error_after_work: true,
                ..Faults::default()
            },
        ),
        (
            "connection reset after executing",
            Faults {
                reset: true,
                ..Faults::default()
            },
        ),
        (
            "503 before executing",
            Faults {
                unavailable: true,
                ..Faults::default()
            },
        ),
        (
            "declined",
            Faults {
                decline: true,
                ..Faults::default()
            },
        ),
    ];
    for (name, fault) in faults {
        let g = given_billing_and_a_bank(None).await;
        let tom = g.client("tom", false).await;
        let (felix, _) = g.worker("felix").await;
        g.orders(tom, felix, &[100], true).await;
        g.past_both_ends();
        // When every attempt of the first pass meets the fault
        g.bank.set_faults(fault.clone());
        g.cycle().await;
        let invoices = g.admin().invoices().await.unwrap();
        assert!(!invoices.is_empty(), "{name}");
        let open: Vec<_> = invoices
            .iter()
            .filter(|i| i.status != InvoiceStatus::Paid)
            .collect();
        match name {
            // The bank executed, the answers were lost: in doubt, not paid yet
            "timeout after executing"
            | "500 after executing"
            | "connection reset after executing" => {
                assert!(
                    open.iter()
                        .all(|i| i.in_doubt && i.status == InvoiceStatus::Issued),
                    "{name}: {open:?}"
                );
                assert_eq!(
                    g.executed().len(),
                    invoices.len(),
                    "{name}: executed once each"
                );
            }
            "503 before executing" => {
                assert!(open.iter().all(|i| i.in_doubt), "{name}: {open:?}");
                assert!(g.executed().is_empty(), "{name}");
            }
            _ => {
                // Declined: only the collection failed (and was mailed); the payout went
                let failed: Vec<_> = open.iter().map(|i| (i.kind, i.status)).collect();
                assert_eq!(
                    failed,
                    vec![(InvoiceKind::Collection, InvoiceStatus::Failed)],
                    "{name}"
                );
                let mails = g.ts.published("billing.mail.requested").await;
                assert!(
                    mails
                        .iter()
                        .any(|m| m["data"]["request"]["template"] == "invoice_failed"),
                    "{name}"
                );
                assert_eq!(g.ts.published("billing.invoice.failed").await.len(), 1);
            }
        }
        // When the fault is gone and the retry is due
        g.bank.set_faults(Faults::default());
        g.clock.advance(chrono::Duration::seconds(2)).unwrap();
        g.cycle().await;
        // Then every invoice is paid, each executed exactly once, the ledger equal to the bank
        let invoices = g.admin().invoices().await.unwrap();
        assert!(
            invoices.iter().all(|i| i.status == InvoiceStatus::Paid),
            "{name}: {invoices:?}"
        );
        let executed = g.executed();
        assert_eq!(executed.len(), invoices.len(), "{name}: {executed:?}");
        let mut keys: Vec<&str> = executed.iter().map(|o| o.key.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), executed.len(), "{name}");
        g.ledger_equals_the_bank().await;
        // And the bank line shows nothing in doubt
        let view = g.admin().ops_bank().await.unwrap();
        assert_eq!(view.in_doubt, 0, "{name}");
    }
}

#[tokio::test]
async fn given_no_payment_method_then_the_invoice_fails_visibly_until_one_is_given() {
    let g = given_billing_and_a_bank(None).await;
    let kim = g
        .person("kim", &["client"], BankDetailsView::default())
        .await;
    let (felix, _) = g.worker("felix").await;
    g.orders(kim, felix, &[100], false).await;
    g.past_the_end_of_the(PeriodKind::Week);
    g.cycle().await;
    let me = BillingClient(g.ts.client_as(kim, &[Role::Client]));
    let invoice = me.my_invoices().await.unwrap().remove(0);
    assert_eq!(invoice.status, InvoiceStatus::Failed);
    assert_eq!(
        invoice.last_error.as_deref(),
        Some("no payment method given")
    );
    // When Kim gives a card and the retry is due, then it is collected
    let card = g.bank.register_payment_method("kim", false).token;
    let details = BankDetailsView {
        payment_method: Some(card),
        payout_account: None,
    };
    me.set_my_bank(&details).await.unwrap();
    g.clock.advance(chrono::Duration::seconds(2)).unwrap();
    g.cycle().await;
    assert_eq!(
        me.my_invoices().await.unwrap()[0].status,
        InvoiceStatus::Paid
    );
    g.ledger_equals_the_bank().await;
    // And bad bank details are refused naming the field, nothing changed
    let bad = BankDetailsView {
        payment_method: Some("pm x".into()),
        payout_account: None,
    };
    let refused = me.set_my_bank(&bad).await.unwrap_err();
    assert_eq!(refused.field(), Some("payment_method"));
    assert_eq!(me.my_bank().await.unwrap(), details);
    // And only admins see the bank line
    assert_eq!(
        me.ops_bank()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(403)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]

    /// Whatever the charges, the weeks they fall in and how often the cycles run between
    /// moves of the clock (two replicas at times): each charge is invoiced exactly once,
    /// every invoice is collected exactly once, and what the bank collected is what was
    /// charged.
    #[test]
    fn replaying_any_cycle_is_a_no_op(
        weeks in proptest::collection::vec(proptest::collection::vec(1i64..5_000, 0..3), 1..4),
        runs in 1usize..4,
        racing in proptest::prelude::any::<bool>(),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let g = given_billing_and_a_bank(None).await;
            let tom = g.client("tom", false).await;
            let (felix, _) = g.worker("felix").await;
            let other = App::new(g.ts.ctx().clone(), (*g.app.config).clone()).unwrap();
            for prices in &weeks {
                g.orders(tom, felix, prices, false).await;
                g.past_the_end_of_the(PeriodKind::Week);
                for _ in 0..runs {
                    if racing {
                        let (a, b) = tokio::join!(app::run_cycles(&g.app), app::run_cycles(&other));
                        a.unwrap();
                        b.unwrap();
                        let (a, b) = tokio::join!(app::settle_due(&g.app), app::settle_due(&other));
                        a.unwrap();
                        b.unwrap();
                    } else {
                        g.cycle().await;
                    }
                }
            }
            let invoices = g.admin().invoices().await.unwrap();
            let weekly: Vec<_> = invoices.iter().filter(|i| i.kind == InvoiceKind::Collection).collect();
            assert_eq!(weekly.len(), weeks.iter().filter(|w| !w.is_empty()).count());
            assert!(weekly.iter().all(|i| i.status == InvoiceStatus::Paid));
            let collected: i64 = g
                .executed()
                .iter()
                .filter(|o| o.kind == OperationKind::Collection)
                .map(|o| o.amount)
                .sum();
            // What was charged (less the loyalty discount once Tom had paid enough)
            let statement = g.admin().statement(LedgerAccount::Client(tom)).await.unwrap();
            let charged: i64 = statement
                .lines
                .iter()
                .filter(|l| l.kind == EntryKind::ClientCharge)
                .map(|l| l.amount.minor())
                .sum();
            assert_eq!(collected, charged);
            assert_eq!(statement.balance, Money::zero());
            g.ledger_equals_the_bank().await;
        });
    }
}
