//! Billing's cycles across the system (issue 15, parts 4, 6 and 9), with business time
//! moved by the admin's clock route (`clock.adjustable` on for these systems) and the
//! test's sandbox bank: a client's week is collected once and shows paid, a worker's month
//! (earning + award) is paid out once although the bank's answers were lost, both are
//! mailed, the ledger equals the bank's statement and the trial balance is zero. In
//! distributed mode two Billing replicas race for every period and invoice. Then Billing
//! is down across week boundaries: after its restart every missed week runs once.

use std::time::Duration;

use billing::client::{BankDetailsView, BillingClient, Invoice, NewAward};
use billing::domain::{CompanyAccount, InvoiceStatus, LedgerAccount, PeriodKind, Zone, period_of};
use contracts::{AccountId, Money, WorkerId};
use sandbox_bank::{Faults, OperationKind, StatementQuery};

use crate::harness::{Cluster, Mode, account_id, poll_until};
use crate::lifecycle::{completed_order, order, wait_status, worker};

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

/// Whether Mail wrote a message of `template` to `to`.
fn mailed(c: &Cluster, to: &str, template: &str) -> bool {
    let needle = format!("_{to}_{template}_");
    std::fs::read_dir(c.mail_dir())
        .map(|dir| {
            dir.filter_map(Result::ok)
                .any(|f| f.file_name().to_string_lossy().contains(&needle))
        })
        .unwrap_or(false)
}

pub async fn a_week_is_collected_and_a_month_paid_out_once_at_the_bank(mode: Mode) {
    // Given a client with a card at the bank, a worker with an account there, a manager
    let mut c = crate::lifecycle::start(mode).await;
    let service_type = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
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

    // When Kim's order is activated and Tom completes it, and Max awards Tom 500
    let (_, price) = completed_order(&mut c, &kim, &tom, service_type).await;
    let maxs = BillingClient(c.client("billing", &max));
    let award = NewAward {
        worker_id,
        amount: Money::from_minor(500),
        reason: "spotless kitchen".into(),
    };
    maxs.award(&award, "award-tom-1").await.unwrap();
    let share = price.percent(60).unwrap();
    poll_until(Duration::from_secs(30), "Tom's earning booked", || async {
        match toms.statement(LedgerAccount::Worker(worker_id)).await {
            Ok(s) if s.lines.len() >= 2 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // And the bank's answers to the first two payout attempts are lost (the connection
    // closes after the bank paid)
    c.bank.sandbox.set_faults(Faults {
        reset: true,
        only: Some(OperationKind::Payout),
        times: Some(2),
        ..Faults::default()
    });
    // And the month ends, then the week after it
    past_the_end_of_the(&mut c, PeriodKind::Month).await;
    past_the_end_of_the(&mut c, PeriodKind::Week).await;

    // Then Kim's week shows paid: collected once from her card, keyed by its entry
    let kim_invoices = paid_invoices(&kims, 1).await;
    assert_eq!(kim_invoices.len(), 1, "{kim_invoices:?}");
    assert_eq!(kim_invoices[0].total, price);
    let collections = c.bank.sandbox.statement(&StatementQuery {
        kind: Some(OperationKind::Collection),
        ..StatementQuery::default()
    });
    assert_eq!(collections.len(), 1, "{collections:?}");
    assert_eq!(collections[0].key, kim_invoices[0].entry_id().to_string());
    assert_eq!(
        collections[0].payment_method.as_deref(),
        Some(card.as_str())
    );
    // And Tom's month (earning + award) was paid out once, though answers were lost
    let tom_invoices = paid_invoices(&toms, 1).await;
    let owed = share.checked_add(Money::from_minor(500)).unwrap();
    assert_eq!(tom_invoices[0].total, owed);
    let payouts = c.bank.sandbox.statement(&StatementQuery {
        kind: Some(OperationKind::Payout),
        ..StatementQuery::default()
    });
    assert_eq!(payouts.len(), 1, "{payouts:?}");
    assert_eq!(
        c.bank.sandbox.account(&number).unwrap().balance,
        owed.minor()
    );
    // And both owe and are owed nothing, the ledger equals the bank's statement
    let kim_id: AccountId = account_id(&kim).parse().unwrap();
    let admin = billing_admin(&mut c).await;
    for account in [
        LedgerAccount::Client(kim_id),
        LedgerAccount::Worker(worker_id),
    ] {
        let balance = admin.statement(account).await.unwrap().balance;
        assert_eq!(balance, Money::zero(), "{account}");
    }
    ledger_equals_the_bank(&mut c).await;
    // And Kim was mailed her invoice, Tom his payment notice
    poll_until(
        Duration::from_secs(30),
        "the invoice and the notice mailed",
        || async {
            let kim_mail = mailed(&c, "kim@cats.test", "invoice_issued");
            let tom_mail = mailed(&c, "tom@cats.test", "payment_notice");
            if kim_mail && tom_mail {
                Ok(())
            } else {
                Err(format!("kim: {kim_mail}, tom: {tom_mail}"))
            }
        },
    )
    .await;
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
