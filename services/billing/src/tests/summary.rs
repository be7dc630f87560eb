//! The period summary managers and admins read: revenue, worker earnings, penalties,
//! awards and margin of a week or a month.

use auth::Role;
use contracts::{AccountId, Envelope, Money, WorkerId};

use super::orders::{activated, completed, failed};
use super::{as_role, billing, deliver, on_order};
use crate::domain::PeriodKind;
use crate::routes::SummaryQuery;

fn m(minor: i64) -> Money {
    Money::from_minor(minor)
}

#[tokio::test]
async fn given_a_months_money_then_the_summary_adds_it_up_and_other_months_are_empty() {
    // Given two orders of 100: one completed (60 to its worker), one a no-show (40 penalty)
    let ts = billing().await;
    let consumer = on_order(&ts);
    let (client, worker) = (AccountId::new(), WorkerId::new());
    let done = activated(client, worker, 100);
    let no_show = activated(client, worker, 100);
    deliver(&consumer, &Envelope::new(&done, 2, None)).await;
    deliver(&consumer, &Envelope::new(&completed(&done), 4, None)).await;
    deliver(&consumer, &Envelope::new(&no_show, 2, None)).await;
    deliver(
        &consumer,
        &Envelope::new(&failed(&no_show, "no_show", true), 3, None),
    )
    .await;
    // And an award of 25
    let award = crate::client::NewAward {
        worker_id: worker,
        amount: m(25),
        reason: "kind words from the client".into(),
    };
    as_role(&ts, Role::Manager)
        .award(&award, "a1")
        .await
        .unwrap();

    // When a manager asks for this month's and this week's summary
    let manager = as_role(&ts, Role::Manager);
    for period in [PeriodKind::Month, PeriodKind::Week] {
        let query = SummaryQuery {
            period: Some(period),
            at: None,
        };
        let summary = manager.summary(&query).await.unwrap();
        // Then revenue 200, earnings 60, penalties 40, awards 25: margin 200 - 60 - 25 + 40
        assert_eq!(
            (
                summary.revenue,
                summary.worker_earnings,
                summary.penalties,
                summary.awards
            ),
            (m(200), m(60), m(40), m(25)),
            "{period:?}"
        );
        assert_eq!(summary.margin, m(155));
        assert!(summary.period.contains(ts.ctx().clock.now()));
    }
    // A month without money sums to nothing
    let last_year = SummaryQuery {
        period: Some(PeriodKind::Month),
        at: Some(ts.ctx().clock.now() - chrono::Duration::days(400)),
    };
    let empty = manager.summary(&last_year).await.unwrap();
    assert_eq!(
        (empty.revenue, empty.margin),
        (Money::zero(), Money::zero())
    );
    // Only managers and admins read it
    for role in [Role::Client, Role::Worker, Role::Supply, Role::Service] {
        let e = as_role(&ts, role).summary(&last_year).await.unwrap_err();
        assert_eq!(e.code(), Some("forbidden"), "{role:?}");
    }
}
