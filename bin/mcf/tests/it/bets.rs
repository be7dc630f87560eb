//! Bets across services (issue 16): managers stake on an active order's outcome through
//! Bets, which asks Ordering about the order and books every stake and payout in Billing;
//! the winners' Billing statements show their winnings, the losers' their stakes, and the
//! pool is conserved to the unit; a bet nobody won goes to the developers' fund. With
//! Billing stopped while placing and closing, nothing is lost or booked twice.

use std::time::Duration;

use bets::client::{BetsClient, NewBet};
use bets::domain::{BetState, NewStake, Outcome, StakeStatus};
use billing::client::BillingClient;
use billing::domain::{CompanyAccount, LedgerAccount};
use contracts::{AccountId, BetId, Money, OrderId, ServiceTypeId};
use ordering::client::{CancelRequest, CompleteRequest, OrderingClient};

use crate::harness::{Cluster, Mode, account_id, poll_until};
use crate::hiring::PHOTO;
use crate::lifecycle::{order, photo, wait_status, worker};

/// A manager `name`, signed in, once Billing opened the manager's payment account (IAM
/// announces accounts; a stake before that is refused: `no_account`).
async fn manager(c: &mut Cluster, name: &str) -> (AccountId, BetsClient) {
    let token = c.token_for(name, "manager").await;
    let id: AccountId = account_id(&token).parse().unwrap();
    let billing = BillingClient(c.admin_client("billing").await);
    poll_until(
        Duration::from_secs(30),
        "Billing to open the account",
        || {
            let billing = billing.clone();
            async move {
                billing
                    .statement(LedgerAccount::Manager(id))
                    .await
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    (id, BetsClient(c.client("bets", &token)))
}

/// An active order of client `kim` for worker `wes` (the only one), of `service_type`, in
/// `minutes` (within 30, check-in is open): its id and the client's Ordering.
async fn active_order(
    c: &mut Cluster,
    kim: &str,
    service_type: ServiceTypeId,
    minutes: i64,
) -> (OrderId, OrderingClient) {
    let at = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    let id = order(c, kim, service_type, at).await;
    wait_status(c, id, "active").await;
    (id, OrderingClient(c.client("ordering", kim)))
}

fn stake(outcome: Outcome, amount: i64) -> NewStake {
    NewStake {
        outcome,
        amount: Money::from_minor(amount),
    }
}

/// `(kind, amount)` of the bet lines of `who`'s statement (the manager's own view).
async fn bet_lines(c: &mut Cluster, who: &BetsClient) -> Vec<(String, i64)> {
    let token = who.0.token().unwrap().to_owned();
    let billing = BillingClient(c.client("billing", &token));
    let statements = billing.my_statements().await.unwrap();
    statements
        .iter()
        .flat_map(|s| &s.lines)
        .filter(|l| l.kind.as_str().starts_with("bet_"))
        .map(|l| (l.kind.as_str().to_owned(), l.amount.minor()))
        .collect()
}

/// What company account `account` holds from bets: the sum of its bet lines.
async fn company_bet_balance(c: &mut Cluster, account: CompanyAccount) -> i64 {
    let billing = BillingClient(c.admin_client("billing").await);
    let statement = billing
        .statement(LedgerAccount::Company(account))
        .await
        .unwrap();
    statement
        .lines
        .iter()
        .filter(|l| l.kind.as_str().starts_with("bet_"))
        .map(|l| l.amount.minor())
        .sum()
}

/// The worker of `order` checks in with its kit issued and completes it.
async fn complete(c: &mut Cluster, wes: &str, order: OrderId) {
    c.issue_kit(&order.to_string()).await;
    let worker = OrderingClient(c.client("ordering", wes));
    worker.check_in(order, &photo()).await.unwrap();
    let report = CompleteRequest {
        report_photo: PHOTO.into(),
    };
    worker.complete(order, &report).await.unwrap();
}

async fn open(manager: &BetsClient, order: OrderId) -> BetId {
    let new = NewBet {
        order_id: order,
        stakes_close_at: None,
    };
    manager
        .open(&new, Some(&format!("open-{order}")))
        .await
        .unwrap()
        .bet
        .id
}

pub async fn three_managers_bet_and_billing_pays_the_winners(mode: Mode) {
    // Given worker Wes, client Kim, managers Ann, Bob and Cat, and Kim's active order
    let mut c = Cluster::start(mode).await;
    let (wes, _) = worker(&mut c, "wes", 90).await;
    let kim = c.token_for("kim", "client").await;
    let (ann_id, ann) = manager(&mut c, "ann").await;
    let (_, bob) = manager(&mut c, "bob").await;
    let (cat_id, cat) = manager(&mut c, "cat").await;
    let cleaning = c.service_type().await.parse().unwrap();
    let (first, _) = active_order(&mut c, &kim, cleaning, 20).await;

    // When Ann opens a bet, Ann stakes 300 and Cat 101 on completed, Bob 200 on failed
    let bet = open(&ann, first).await;
    ann.stake(bet, &stake(Outcome::Completed, 300), "ann-1")
        .await
        .unwrap();
    bob.stake(bet, &stake(Outcome::Failed, 200), "bob-1")
        .await
        .unwrap();
    let cats = cat
        .stake(bet, &stake(Outcome::Completed, 101), "cat-1")
        .await
        .unwrap();
    assert_eq!(cats.status, StakeStatus::Confirmed);
    // Then the open bet shows its pools per outcome
    let open_bet = bob.bet(bet).await.unwrap();
    assert_eq!(open_bet.pools[&Outcome::Completed], Money::from_minor(401));
    assert_eq!(open_bet.pools[&Outcome::Failed], Money::from_minor(200));
    assert_eq!(open_bet.pool, Money::from_minor(601));

    // When the order completes and Bob closes the bet
    complete(&mut c, &wes, first).await;
    let closed = bob.close(bet).await.unwrap();

    // Then it is settled on completed: 601 shared 300:101 is 449.75 / 151.25, the floors
    // 449 / 151 and the unit left to the larger remainder (Ann's)
    assert_eq!(closed.bet.state, BetState::Settled);
    assert_eq!(closed.bet.outcome, Some(Outcome::Completed));
    let paid: Vec<(Option<AccountId>, i64)> = closed
        .payouts
        .iter()
        .map(|p| (p.manager_id, p.amount.minor()))
        .collect();
    assert_eq!(paid, vec![(Some(ann_id), 450), (Some(cat_id), 151)]);
    // And the winners' statements show their stakes and winnings, the loser's the stake
    let mut ann_lines = bet_lines(&mut c, &ann).await;
    ann_lines.sort();
    assert_eq!(
        ann_lines,
        vec![("bet_stake".into(), 300), ("bet_winning".into(), -450)]
    );
    let mut cat_lines = bet_lines(&mut c, &cat).await;
    cat_lines.sort();
    assert_eq!(
        cat_lines,
        vec![("bet_stake".into(), 101), ("bet_winning".into(), -151)]
    );
    assert_eq!(
        bet_lines(&mut c, &bob).await,
        vec![("bet_stake".into(), 200)]
    );
    // And the pool is conserved to the unit: Billing's bet pool holds nothing of it
    assert_eq!(
        company_bet_balance(&mut c, CompanyAccount::BetPool).await,
        0
    );

    // Given a second order with stakes only on completed and failed
    let (second, kims) = active_order(&mut c, &kim, cleaning, 180).await;
    let bet = open(&cat, second).await;
    ann.stake(bet, &stake(Outcome::Completed, 70), "ann-2")
        .await
        .unwrap();
    bob.stake(bet, &stake(Outcome::Failed, 50), "bob-2")
        .await
        .unwrap();
    // When Kim cancels it and Cat closes the bet
    kims.cancel(second, &CancelRequest::default())
        .await
        .unwrap();
    let closed = cat.close(bet).await.unwrap();
    // Then nobody won: the 120 went to the developers' fund, the pool is empty again
    assert_eq!(closed.bet.outcome, Some(Outcome::Canceled));
    assert_eq!(closed.payouts.len(), 1);
    assert_eq!(
        (
            closed.payouts[0].manager_id,
            closed.payouts[0].amount.minor()
        ),
        (None, 120)
    );
    assert_eq!(
        company_bet_balance(&mut c, CompanyAccount::DevelopersFund).await,
        -120
    );
    assert_eq!(
        company_bet_balance(&mut c, CompanyAccount::BetPool).await,
        0
    );
}

/// Stops every process serving Billing (distributed: its replicas).
fn stop_billing(c: &mut Cluster) {
    for p in c.procs.iter_mut().filter(|p| p.role == "billing") {
        p.kill9();
    }
}

/// Distributed only: there Billing runs in processes of its own that can be stopped.
pub async fn with_billing_stopped_nothing_is_lost_or_booked_twice() {
    // Given an active order with a bet
    let mut c = Cluster::start(Mode::Distributed).await;
    let (wes, _) = worker(&mut c, "wes", 90).await;
    let kim = c.token_for("kim", "client").await;
    let (ann_id, ann) = manager(&mut c, "ann").await;
    let (_, bob) = manager(&mut c, "bob").await;
    let cleaning = c.service_type().await.parse().unwrap();
    let (order, _) = active_order(&mut c, &kim, cleaning, 20).await;
    let bet = open(&ann, order).await;
    bob.stake(bet, &stake(Outcome::Failed, 40), "bob-1")
        .await
        .unwrap();

    // When Billing is stopped and Ann stakes / Then 503 naming Billing, the stake pending
    stop_billing(&mut c);
    let e = ann
        .stake(bet, &stake(Outcome::Completed, 60), "ann-1")
        .await
        .unwrap_err();
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.code()),
        (Some(503), Some("peer_unavailable"))
    );
    assert_eq!(
        ann.my_stakes().await.unwrap()[0].status,
        StakeStatus::Pending
    );
    assert_eq!(ann.bet(bet).await.unwrap().pool, Money::from_minor(40));
    // When Billing is back and Ann retries with the same key / Then it is charged once
    c.revive("billing");
    let placed = poll_until(Duration::from_secs(60), "Billing back", || async {
        ann.stake(bet, &stake(Outcome::Completed, 60), "ann-1")
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(placed.status, StakeStatus::Confirmed);

    // When the order completes and Billing stops again before a close
    complete(&mut c, &wes, order).await;
    stop_billing(&mut c);
    let e = bob.close(bet).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    // Then the bet is settling (decided, not paid) and stakes are closed
    assert_eq!(bob.bet(bet).await.unwrap().bet.state, BetState::Settling);
    // When Billing is back / Then closing again (or the sweep) settles it, paid once
    c.revive("billing");
    let settled = poll_until(Duration::from_secs(60), "the bet settled", || async {
        match bob.close(bet).await {
            Ok(b) if b.bet.state == BetState::Settled => Ok(b),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(settled.payouts.len(), 1);
    assert_eq!(settled.payouts[0].manager_id, Some(ann_id));
    assert_eq!(settled.payouts[0].amount, Money::from_minor(100));
    let mut lines = bet_lines(&mut c, &ann).await;
    lines.sort();
    assert_eq!(
        lines,
        vec![("bet_stake".into(), 60), ("bet_winning".into(), -100)]
    );
    assert_eq!(
        bet_lines(&mut c, &bob).await,
        vec![("bet_stake".into(), 40)]
    );
    assert_eq!(
        company_bet_balance(&mut c, CompanyAccount::BetPool).await,
        0
    );
}
