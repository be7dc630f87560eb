//! Ordering or Billing down while placing and closing: a clear 503, nothing lost, nothing
//! booked twice; a retry or the sweep finishes what was started.

use super::*;
use crate::domain::{BetState, StakeStatus};

#[tokio::test]
async fn with_ordering_down_nothing_opens_or_closes_and_the_answer_is_503() {
    let w = World::new().await;
    let (bet, _, _, _) = w.open_bet().await;
    let (order, _, _) = w.active_order().await;
    w.ordering_down.store(true, Atomic::SeqCst);
    let manager = w.manager(AccountId::new());
    let new = NewBet {
        order_id: order,
        stakes_close_at: None,
    };
    let e = manager.open(&new, None).await.unwrap_err();
    assert_eq!(refusal(&e), (503, Some("peer_unavailable"), None));
    assert!(
        e.problem()
            .unwrap()
            .detail
            .starts_with("ordering is unavailable")
    );
    let e = manager
        .stake(bet, &stake(Outcome::Completed, 5), "o-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 503);
    assert_eq!(refusal(&manager.close(bet).await.unwrap_err()).0, 503);
    assert_eq!((w.count("bets").await, w.count("stakes").await), (1, 0));
    assert_eq!(w.billing.calls.load(Atomic::SeqCst), 0);
}

#[tokio::test]
async fn a_stake_placed_while_billing_is_down_is_pending_and_charged_once_later() {
    // Given Billing down
    let w = World::new().await;
    let (bet, _, _, _) = w.open_bet().await;
    let id = AccountId::new();
    let manager = w.manager(id);
    w.billing.down.store(true, Atomic::SeqCst);
    // When a manager stakes / Then 503 naming Billing, the stake pending, not in the pool
    let e = manager
        .stake(bet, &stake(Outcome::Completed, 250), "d-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (503, Some("peer_unavailable"), None));
    assert!(
        e.problem()
            .unwrap()
            .detail
            .starts_with("billing is unavailable")
    );
    let pending = manager.my_stakes().await.unwrap();
    assert_eq!(pending[0].status, StakeStatus::Pending);
    assert_eq!(w.admin().bet(bet).await.unwrap().pool, Money::zero());
    // Given Billing back, but its answers lost (it books, the answer never arrives)
    w.billing.down.store(false, Atomic::SeqCst);
    w.billing.lose_answers.store(true, Atomic::SeqCst);
    let e = manager
        .stake(bet, &stake(Outcome::Completed, 250), "d-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 503);
    // When the answers come again and the manager retries / Then confirmed, booked once
    w.billing.lose_answers.store(false, Atomic::SeqCst);
    let placed = manager
        .stake(bet, &stake(Outcome::Completed, 250), "d-1")
        .await
        .unwrap();
    assert_eq!(
        (placed.id, placed.status),
        (pending[0].id, StakeStatus::Confirmed)
    );
    assert_eq!(w.billing.booked("/bets/stakes").len(), 1);
    assert_eq!(
        w.admin().bet(bet).await.unwrap().pool,
        Money::from_minor(250)
    );
    assert_eq!(w.bets.published("bets.stake.placed").await.len(), 1);
}

#[tokio::test]
async fn the_sweep_resolves_a_pending_stake_and_a_close_resolves_the_rest_first() {
    // Given two stakes left pending while Billing was down
    let w = World::new().await;
    let (bet, order, client, _) = w.open_bet().await;
    w.billing.down.store(true, Atomic::SeqCst);
    let (ann, bob) = (AccountId::new(), AccountId::new());
    for (who, key) in [(ann, "p-1"), (bob, "p-2")] {
        let e = w
            .manager(who)
            .stake(bet, &stake(Outcome::Canceled, 60), key)
            .await
            .unwrap_err();
        assert_eq!(refusal(&e).0, 503);
    }
    w.billing.down.store(false, Atomic::SeqCst);
    // When the sweep runs past the pending age / Then both are charged and in the pool
    w.bets.ctx().clock.advance(Duration::minutes(1)).unwrap();
    let app = w.app();
    assert_eq!(crate::app::sweep(&app).await.unwrap(), 2);
    assert_eq!(
        w.admin().bet(bet).await.unwrap().pool,
        Money::from_minor(120)
    );
    // Given a third left pending, and the order canceled
    w.billing.down.store(true, Atomic::SeqCst);
    let cat = AccountId::new();
    let e = w
        .manager(cat)
        .stake(bet, &stake(Outcome::Failed, 30), "p-3")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 503);
    w.cancel(&client, order).await;
    // When a manager closes with Billing still down / Then 503, the bet still open
    let closer = w.manager(AccountId::new());
    assert_eq!(refusal(&closer.close(bet).await.unwrap_err()).0, 503);
    assert_eq!(w.admin().bet(bet).await.unwrap().bet.state, BetState::Open);
    // When Billing is back and the close is retried / Then the pending stake is charged
    // first (in the pool, a loser), and the 150 go 75 / 75
    w.billing.down.store(false, Atomic::SeqCst);
    let closed = closer.close(bet).await.unwrap();
    assert_eq!(
        (closed.bet.state, closed.pool),
        (BetState::Settled, Money::from_minor(150))
    );
    let (winnings, unwon) = w.billing.paid();
    assert_eq!(
        (
            winnings[&ann.to_string()],
            winnings[&bob.to_string()],
            unwon
        ),
        (75, 75, 0)
    );
}

#[tokio::test]
async fn a_close_interrupted_midway_finishes_exactly_once_by_retry_or_sweep() {
    // Given three winners, and the order completed
    let w = World::new().await;
    let (bet, order, _, worker) = w.open_bet().await;
    for amount in [10, 20, 30] {
        place(
            &w,
            AccountId::new(),
            bet,
            &stake(Outcome::Completed, amount),
        )
        .await;
    }
    w.complete(order, worker).await;
    // When Billing books the payouts but its answers are lost
    w.billing.lose_answers.store(true, Atomic::SeqCst);
    let closer = w.manager(AccountId::new());
    let e = closer.close(bet).await.unwrap_err();
    assert_eq!(refusal(&e), (503, Some("peer_unavailable"), None));
    // Then the bet is settling with its payouts decided, none recorded paid
    let settling = w.admin().bet(bet).await.unwrap();
    assert_eq!(settling.bet.state, BetState::Settling);
    assert_eq!(settling.payouts.len(), 3);
    assert!(settling.payouts.iter().all(|p| p.paid_at.is_none()));
    // And stakes are closed
    let e = w
        .manager(AccountId::new())
        .stake(bet, &stake(Outcome::Completed, 5), "too-late")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stakes_closed"), None));
    // When the answers come again and the sweep runs / Then it is settled, each payout
    // booked once, the pool conserved
    w.billing.lose_answers.store(false, Atomic::SeqCst);
    assert_eq!(crate::app::sweep(&w.app()).await.unwrap(), 1);
    let settled = w.admin().bet(bet).await.unwrap();
    assert_eq!(settled.bet.state, BetState::Settled);
    assert_eq!(settled.payouts, {
        let mut p = settling.payouts.clone();
        for (p, s) in p.iter_mut().zip(&settled.payouts) {
            p.paid_at = s.paid_at;
        }
        p
    });
    let (winnings, unwon) = w.billing.paid();
    assert_eq!((winnings.values().sum::<i64>(), unwon), (60, 0));
    assert_eq!(w.billing.booked("/bets/payouts").len(), 3);
    // And closing again changes nothing
    assert_eq!(closer.close(bet).await.unwrap(), settled);
    assert_eq!(w.bets.published("bets.bet.settled").await.len(), 1);
}
