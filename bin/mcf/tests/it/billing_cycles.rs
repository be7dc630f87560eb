//! Billing's cycles across the system (issue 15's "Done when", parts 3 to 6 and 9), with
//! business time moved by the admin's clock route (`clock.adjustable` on for these systems)
//! and the test's sandbox bank: a client's week of orders (completed, canceled after
//! activation, failed) is charged in full, collected once and shows paid; the next week's
//! order carries the loyalty discount her collected week earned, and that week is collected
//! too; a worker's month (two earnings, nothing for the canceled job, the no-show's penalty,
//! a manager's award) is paid out once although the bank's answers were lost; the invoices
//! and the notice are mailed, every statement agrees with its invoices, the ledger equals
//! the bank's statement and the trial balance is zero. In distributed mode two Billing
//! replicas race for every period and invoice. Then Billing is down across week
//! boundaries: after its restart every missed week runs once.

use std::time::Duration;

use billing::client::{BankDetailsView, BillingClient, Invoice, NewAward, Statement};
use billing::domain::{
    CompanyAccount, EntryId, EntryKind, InvoiceStatus, LedgerAccount, PeriodKind, Zone, period_of,
};
use contracts::{AccountId, Money, WorkerId};
use sandbox_bank::{Faults, OperationKind, StatementQuery};

use crate::harness::{Cluster, Mode, account_id, poll_until};
use crate::lifecycle::{
    advance, business_now, completed_order, order, ordering, wait_status, worker,
};
use ordering::client::CancelRequest;

/// Billing as the first admin, on its first live process.
async fn billing_admin(c: &mut Cluster) -> BillingClient {
    BillingClient(c.admin_client("billing").await)
}

/// Moves business time, on every Billing process, just past the end of the current
/// period of `kind` (as Billing reads it; the calendar is in UTC by default).
async fn past_the_end_of_the(c: &mut Cluster, kind: PeriodKind) {
    past_the_end_and(c, kind, chrono::Duration::zero()).await;
}

/// Moves business time, in one step on every Billing process, `more` past the end of the
/// current period of `kind`.
async fn past_the_end_and(c: &mut Cluster, kind: PeriodKind, more: chrono::Duration) {
    let now = billing_admin(c).await.clock().await.unwrap().now;
    let period = period_of(kind, now, Zone::utc()).unwrap();
    let by = (period.end - now + more).num_seconds() + 1;
    let token = c.admin_token().await;
    for api in c.apis("billing") {
        let replica = BillingClient(client::Client::new(api).with_token(&token));
        replica.advance_clock(by).await.unwrap();
    }
}

/// `who`'s invoices once they all are paid (at least `count` of them).
async fn paid_invoices(billing: &BillingClient, count: usize) -> Vec<Invoice> {
    poll_until(Duration::from_secs(60), "invoices paid", || async {
        match billing.my_invoices().await {
            Ok(i) if i.len() >= count && i.iter().all(|i| i.status == InvoiceStatus::Paid) => Ok(i),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// The ledger's bank entries are the bank's statement: each executed operation's key is a
/// booked entry of the same amount, nothing else is booked; the trial balance is zero.
async fn ledger_equals_the_bank(c: &mut Cluster) {
    let admin = billing_admin(c).await;
    let mut booked = Vec::new();
    for (account, sign) in [
        (CompanyAccount::BankCollections, 1),
        (CompanyAccount::BankPayouts, -1),
    ] {
        let statement = admin
            .statement(LedgerAccount::Company(account))
            .await
            .unwrap();
        booked.extend(
            statement
                .lines
                .iter()
                .map(|l| (l.entry_id.to_string(), sign * l.amount.minor())),
        );
    }
    let mut at_bank: Vec<(String, i64)> = c
        .bank
        .sandbox
        .statement(&StatementQuery::default())
        .into_iter()
        .map(|op| (op.key, op.amount))
        .collect();
    booked.sort();
    at_bank.sort();
    assert_eq!(booked, at_bank);
    assert_eq!(admin.trial_balance().await.unwrap().total, Money::zero());
}

/// How many messages of `template` Mail wrote to `to` (one file per message).
fn mailed(c: &Cluster, to: &str, template: &str) -> usize {
    let needle = format!("_{to}_{template}_");
    std::fs::read_dir(c.mail_dir())
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|f| f.file_name().to_string_lossy().contains(&needle))
                .count()
        })
        .unwrap_or(0)
}

/// Orders cost this here (Matching's flat price), so that a client's first week of four
/// orders, once collected (24 040), earns the loyalty table's second step (over 20 000:
/// 6 %), and 6 % of the price is not whole (360.6: the rounding shows).
const PRICE: i64 = 6010;

/// `account`'s statement, as `billing`'s caller reads it, once it has at least `lines` lines.
async fn statement_with(
    billing: &BillingClient,
    account: LedgerAccount,
    lines: usize,
) -> Statement {
    poll_until(Duration::from_secs(30), "the entries booked", || async {
        match billing.statement(account).await {
            Ok(s) if s.lines.len() >= lines => Ok(s),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// The statement agrees with the ledger: its balance is the sum of its lines, and each
/// invoice's total is its lines (each the statement's line of the same entry, as the holder
/// sees it: `sign` -1 for a worker, whom MCF owes what the ledger credits) plus what it
/// carried in (the list leaves lines out: each invoice is read whole, as `billing` can).
async fn agrees(billing: &BillingClient, statement: &Statement, invoices: &[Invoice], sign: i64) {
    let sum = statement
        .lines
        .iter()
        .try_fold(Money::zero(), |sum, l| sum.checked_add(l.amount))
        .unwrap();
    assert_eq!(sum, statement.balance, "{statement:?}");
    for listed in invoices {
        let invoice = billing.invoice(&listed.id).await.unwrap();
        assert!(!invoice.lines.is_empty(), "{invoice:?}");
        let mut total = invoice.carried_in;
        for line in &invoice.lines {
            let booked = statement
                .lines
                .iter()
                .find(|l| l.entry_id == line.entry_id)
                .unwrap_or_else(|| panic!("{line:?} not in {statement:?}"));
            assert_eq!(
                line.amount.minor(),
                sign * booked.amount.minor(),
                "{line:?}"
            );
            total = total.checked_add(line.amount).unwrap();
        }
        assert_eq!(total, invoice.total, "{invoice:?}");
    }
}

pub async fn a_week_is_collected_and_a_month_paid_out_once_at_the_bank(mode: Mode) {
    // Given orders that cost 6 010, a client with a card at the bank, a worker (the only
    // one to match) with an account there, a manager
    let mut c = Cluster::start_with(
        mode,
        vec![
            ("MCF_CLOCK__ADJUSTABLE".into(), "true".into()),
            ("MCF_MATCHING__PRICE".into(), PRICE.to_string()),
        ],
        None,
    )
    .await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    let kim_id: AccountId = account_id(&kim).parse().unwrap();
    let (tom, tom_id) = worker(&mut c, "tom", 90).await;
    let max = c.token_for("max", "manager").await;
    let worker_id: WorkerId = tom_id.parse().unwrap();
    let card = c.bank.sandbox.register_payment_method("Kim", false).token;
    let number = c.bank.sandbox.open_account("Tom").number;
    let kims = BillingClient(c.client("billing", &kim));
    let toms = BillingClient(c.client("billing", &tom));
    kims.set_my_bank(&BankDetailsView {
        payment_method: Some(card.clone()),
        payout_account: None,
    })
    .await
    .unwrap();
    toms.set_my_bank(&BankDetailsView {
        payment_method: None,
        payout_account: Some(number.clone()),
    })
    .await
    .unwrap();

    // When, this week and month, Tom completes two of Kim's orders, Kim cancels a third
    // once it is active, Tom does not come to a fourth whose kit was issued for him, and
    // Max awards Tom 500
    let price = Money::from_minor(PRICE);
    for _ in 0..2 {
        let (_, activated_at) = completed_order(&mut c, &kim, &tom, service_type).await;
        assert_eq!(activated_at, price);
    }
    let now = business_now(&mut c).await;
    let canceled = order(&mut c, &kim, service_type, now + chrono::Duration::hours(3)).await;
    wait_status(&mut c, canceled, "active").await;
    let plans_changed = CancelRequest {
        reason: Some("plans changed".into()),
    };
    ordering(&mut c, &kim)
        .cancel(canceled, &plans_changed)
        .await
        .unwrap();
    let no_show = order(&mut c, &kim, service_type, now + chrono::Duration::hours(1)).await;
    wait_status(&mut c, no_show, "active").await;
    c.issue_kit(&no_show.to_string()).await;
    advance(&mut c, chrono::Duration::minutes(91)).await;
    let failed = wait_status(&mut c, no_show, "failed").await;
    assert_eq!(failed["reason"], "no_show");
    let maxs = BillingClient(c.client("billing", &max));
    let award = NewAward {
        worker_id,
        amount: Money::from_minor(500),
        reason: "spotless kitchen".into(),
    };
    maxs.award(&award, "award-tom-1").await.unwrap();

    // Then Kim is charged each order in full (nothing paid yet: no discount), canceled
    // and failed ones too; Tom earns 60 % of the two completed, nothing for the canceled
    // one, a 40 penalty for the no-show, and the award
    let admin = billing_admin(&mut c).await;
    let kim_account = LedgerAccount::Client(kim_id);
    let tom_account = LedgerAccount::Worker(worker_id);
    let kim_week = statement_with(&admin, kim_account, 4).await;
    let charges: Vec<i64> = kim_week.lines.iter().map(|l| l.amount.minor()).collect();
    assert_eq!(charges, [PRICE; 4], "{kim_week:?}");
    for (kind, order) in [
        (EntryKind::ClientCharge, canceled),
        (EntryKind::ClientCharge, no_show),
    ] {
        let entry = EntryId::of(kind, order);
        assert!(
            kim_week.lines.iter().any(|l| l.entry_id == entry),
            "{entry}: {kim_week:?}"
        );
    }
    let tom_month = statement_with(&admin, tom_account, 4).await;
    let mut moved: Vec<(EntryKind, i64)> = tom_month
        .lines
        .iter()
        .map(|l| (l.kind, l.amount.minor()))
        .collect();
    moved.sort();
    let share = price.percent(60).unwrap();
    assert_eq!(share.minor(), 3606);
    assert_eq!(
        moved,
        [
            (EntryKind::WorkerEarning, -3606),
            (EntryKind::WorkerEarning, -3606),
            (EntryKind::WorkerPenalty, 40),
            (EntryKind::Award, -500),
        ],
        "{tom_month:?}"
    );
    let penalty = EntryId::of(EntryKind::WorkerPenalty, no_show);
    assert!(
        tom_month.lines.iter().any(|l| l.entry_id == penalty),
        "{tom_month:?}"
    );

    // When the bank's answers to the first two payout attempts are lost (the connection
    // closes after the bank paid), and the month ends, then the week after it
    c.bank.sandbox.set_faults(Faults {
        reset: true,
        only: Some(OperationKind::Payout),
        times: Some(2),
        ..Faults::default()
    });
    past_the_end_of_the(&mut c, PeriodKind::Month).await;
    past_the_end_of_the(&mut c, PeriodKind::Week).await;

    // Then Tom's month (2 x 3 606 - 40 + 500 = 7 672) was paid out once, though answers
    // were lost, and he owes and is owed nothing
    let tom_invoices = paid_invoices(&toms, 1).await;
    assert_eq!(tom_invoices.len(), 1, "{tom_invoices:?}");
    let owed = Money::from_minor(7672);
    assert_eq!(tom_invoices[0].total, owed);
    let payouts = c.bank.sandbox.statement(&StatementQuery {
        kind: Some(OperationKind::Payout),
        ..StatementQuery::default()
    });
    assert_eq!(payouts.len(), 1, "{payouts:?}");
    assert_eq!(payouts[0].key, tom_invoices[0].entry_id().to_string());
    assert_eq!(
        c.bank.sandbox.account(&number).unwrap().balance,
        owed.minor()
    );
    assert_eq!(
        admin.statement(tom_account).await.unwrap().balance,
        Money::zero()
    );
    // And Kim's week (4 x 6 010 = 24 040) shows paid: collected once from her card
    let kim_invoices = paid_invoices(&kims, 1).await;
    assert_eq!(kim_invoices.len(), 1, "{kim_invoices:?}");
    assert_eq!(kim_invoices[0].total, Money::from_minor(4 * PRICE));

    // When Kim, having paid 24 040 (over 20 000: 6 % off), orders again and it is activated
    let now = business_now(&mut c).await;
    let later = order(&mut c, &kim, service_type, now + chrono::Duration::hours(2)).await;
    wait_status(&mut c, later, "active").await;

    // Then it is charged 6 010 less 6 % (360.6, rounded to 361): 5 649, which she sees she
    // will owe at the end of this week
    let charged = statement_with(&admin, kim_account, 6).await;
    let last = charged.lines.last().unwrap();
    assert_eq!(
        (last.kind, last.amount.minor()),
        (EntryKind::ClientCharge, 5649),
        "{charged:?}"
    );
    let upcoming = kims.upcoming().await.unwrap();
    assert_eq!(upcoming.week_total.minor(), 5649, "{upcoming:?}");
    assert_eq!(upcoming.outstanding.minor(), 5649, "{upcoming:?}");

    // And when that week ends, its invoice is collected too and shows paid
    past_the_end_of_the(&mut c, PeriodKind::Week).await;
    let kim_invoices = paid_invoices(&kims, 2).await;
    let mut totals: Vec<i64> = kim_invoices.iter().map(|i| i.total.minor()).collect();
    totals.sort();
    assert_eq!(totals, [5649, 4 * PRICE], "{kim_invoices:?}");
    let mut collections: Vec<(String, i64, Option<String>)> = c
        .bank
        .sandbox
        .statement(&StatementQuery {
            kind: Some(OperationKind::Collection),
            ..StatementQuery::default()
        })
        .into_iter()
        .map(|op| (op.key, op.amount, op.payment_method))
        .collect();
    let mut invoiced: Vec<(String, i64, Option<String>)> = kim_invoices
        .iter()
        .map(|i| {
            (
                i.entry_id().to_string(),
                i.total.minor(),
                Some(card.clone()),
            )
        })
        .collect();
    collections.sort();
    invoiced.sort();
    assert_eq!(collections, invoiced, "each invoice collected once");

    // And every statement agrees with the ledger and the invoices, as each holder reads it
    // and as an admin does; both owe and are owed nothing
    for (billing, account, invoices, sign) in [
        (&kims, kim_account, &kim_invoices, 1),
        (&toms, tom_account, &tom_invoices, -1),
    ] {
        let own = billing.my_statements().await.unwrap();
        assert_eq!(own.len(), 1, "{own:?}");
        assert_eq!(own[0], admin.statement(account).await.unwrap());
        agrees(billing, &own[0], invoices, sign).await;
        assert_eq!(own[0].balance, Money::zero(), "{account}");
    }
    // And the ledger's bank entries are the bank's statement, the trial balance is zero
    ledger_equals_the_bank(&mut c).await;
    // And Kim was mailed her two invoices, Tom his payment notice, once each
    poll_until(
        Duration::from_secs(30),
        "the invoices and the notice mailed",
        || async {
            let kim_mail = mailed(&c, "kim@cats.test", "invoice_issued");
            let tom_mail = mailed(&c, "tom@cats.test", "payment_notice");
            if (kim_mail, tom_mail) == (2, 1) {
                Ok(())
            } else {
                Err(format!("kim: {kim_mail}, tom: {tom_mail}"))
            }
        },
    )
    .await;
    // And the mails link the holder's money page in the portal, not Billing's API
    for needle in ["Your MCF invoice", "Your MCF payment notice"] {
        let link = crate::hiring::mailed_link(&c, needle, "/money").await;
        assert!(!link.contains("/api/"), "{needle}: {link}");
    }
    // And nobody else reads their invoices
    let e = toms.invoice(&kim_invoices[0].id).await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
}

pub async fn missed_weeks_run_once_after_billing_was_down(mode: Mode) {
    // Given a client with a card, charged for an active order this week
    let mut c = crate::lifecycle::start(mode).await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    worker(&mut c, "tom", 90).await;
    let card = c.bank.sandbox.register_payment_method("Kim", false).token;
    let kims = BillingClient(c.client("billing", &kim));
    kims.set_my_bank(&BankDetailsView {
        payment_method: Some(card),
        payout_account: None,
    })
    .await
    .unwrap();
    let at = chrono::Utc::now() + chrono::Duration::minutes(20);
    let id = order(&mut c, &kim, service_type, at).await;
    wait_status(&mut c, id, "active").await;
    poll_until(Duration::from_secs(30), "Kim's charge booked", || async {
        match kims.my_statements().await {
            Ok(s) if s.iter().any(|s| !s.lines.is_empty()) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // When Billing is down (killed and started again) and three week boundaries pass
    // before its cycles look again (one step of the clock)
    let role = match mode {
        Mode::Embedded => "embedded",
        Mode::Distributed => "billing",
    };
    c.restart_role(role, "");
    past_the_end_and(&mut c, PeriodKind::Week, chrono::Duration::weeks(2)).await;

    // Then the missed weeks ran once each: Kim's one invoice collected once
    let invoices = paid_invoices(&kims, 1).await;
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(
        c.bank.sandbox.statement(&StatementQuery::default()).len(),
        1
    );
    ledger_equals_the_bank(&mut c).await;
}
