//! Opening, listing and closing bets: the refusals, the settlement through Billing.

use super::*;
use crate::client::BetQuery;
use crate::domain::BetState;

#[tokio::test]
async fn a_bet_opens_only_on_an_active_order_once_and_a_retry_gets_the_same_bet() {
    let w = World::new().await;
    let manager = w.manager(AccountId::new());
    // Given an order still requested / When a bet opens on it / Then 409 order_not_active
    let (requested, _) = w.requested_order().await;
    let new = |order| NewBet {
        order_id: order,
        stakes_close_at: None,
    };
    let e = manager.open(&new(requested), None).await.unwrap_err();
    assert_eq!(refusal(&e), (409, Some("order_not_active"), None));
    // Given no such order / Then 404
    let e = manager.open(&new(OrderId::new()), None).await.unwrap_err();
    assert_eq!(refusal(&e), (404, Some("not_found"), None));
    // Given an active order / When opened with a key, twice / Then one bet
    let (order, _, _) = w.active_order().await;
    let first = manager.open(&new(order), Some("bet-1")).await.unwrap();
    let again = manager.open(&new(order), Some("bet-1")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.bet.state, BetState::Open);
    assert_eq!(first.pool, Money::zero());
    // When another manager opens one on the same order / Then 409 bet_exists
    let e = w
        .manager(AccountId::new())
        .open(&new(order), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("bet_exists"), None));
    // And a cut-off in the past is refused, naming it
    let (other, _, _) = w.active_order().await;
    let past = NewBet {
        order_id: other,
        stakes_close_at: Some(w.bets.ctx().clock.now()),
    };
    let e = manager.open(&past, None).await.unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("stakes_close_at"))
    );
    assert_eq!(w.count("bets").await, 1);
    assert_eq!(w.bets.published("bets.bet.opened").await.len(), 1);
}

#[tokio::test]
async fn unknown_bets_are_not_found() {
    let w = World::new().await;
    let manager = w.manager(AccountId::new());
    let unknown = BetId::new();
    assert_eq!(refusal(&manager.bet(unknown).await.unwrap_err()).0, 404);
    assert_eq!(refusal(&manager.close(unknown).await.unwrap_err()).0, 404);
    assert_eq!(
        refusal(&manager.stakes_of(unknown).await.unwrap_err()).0,
        404
    );
    let e = manager
        .stake(unknown, &stake(Outcome::Failed, 5), "k")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (404, Some("not_found"), None));
    // A malformed id names nothing either
    let e = manager.0.get::<Value>("/bets/not-an-id").await.unwrap_err();
    assert_eq!(refusal(&e).0, 404);
}

#[tokio::test]
async fn three_managers_stake_the_order_completes_and_the_winners_share_the_pool_exactly() {
    // Given a bet with 300 and 101 on completed, 200 on failed
    let w = World::new().await;
    let (bet, order, _, worker) = w.open_bet().await;
    let (ann, bob, cat) = (AccountId::new(), AccountId::new(), AccountId::new());
    place(&w, ann, bet, &stake(Outcome::Completed, 300)).await;
    place(&w, bob, bet, &stake(Outcome::Failed, 200)).await;
    place(&w, cat, bet, &stake(Outcome::Completed, 101)).await;
    let open = w
        .admin()
        .bets(&BetQuery {
            state: Some(BetState::Open),
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].pools[&Outcome::Completed], Money::from_minor(401));
    assert_eq!(open[0].pools[&Outcome::Failed], Money::from_minor(200));
    assert_eq!(open[0].pools[&Outcome::Canceled], Money::zero());
    // When a manager closes it before the order ended / Then 409 order_not_final
    let closer = w.manager(AccountId::new());
    let e = closer.close(bet).await.unwrap_err();
    assert_eq!(refusal(&e), (409, Some("order_not_final"), None));
    // When the order completes and a manager closes the bet
    w.complete(order, worker).await;
    let closed = closer.close(bet).await.unwrap();
    // Then it is settled: 601 shared 300:101 -> 449.75 / 151.25 -> floors 449 / 151, the
    // unit left to the larger remainder (ann's .75)
    assert_eq!(
        (closed.bet.state, closed.bet.outcome),
        (BetState::Settled, Some(Outcome::Completed))
    );
    assert_eq!(closed.pool, Money::from_minor(601));
    let (winnings, unwon) = w.billing.paid();
    assert_eq!(winnings[&ann.to_string()], 450);
    assert_eq!(winnings[&cat.to_string()], 151);
    assert!(!winnings.contains_key(&bob.to_string()));
    assert_eq!((winnings.values().sum::<i64>(), unwon), (601, 0));
    assert!(closed.payouts.iter().all(|p| p.paid_at.is_some()));
    let settled = w.bets.published("bets.bet.settled").await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["data"]["pool"], 601);
    // When closed again / Then the same bet, nothing booked again
    let calls = w.billing.calls.load(Atomic::SeqCst);
    assert_eq!(closer.close(bet).await.unwrap(), closed);
    assert_eq!(w.billing.calls.load(Atomic::SeqCst), calls);
    let listed = w
        .admin()
        .bets(&BetQuery {
            state: Some(BetState::Settled),
        })
        .await
        .unwrap();
    assert_eq!(listed[0].payouts.len(), 2);
}

#[tokio::test]
async fn a_bet_nobody_won_sends_the_pool_to_the_developers_fund() {
    // Given stakes on completed and failed
    let w = World::new().await;
    let (bet, order, client, _) = w.open_bet().await;
    place(&w, AccountId::new(), bet, &stake(Outcome::Completed, 70)).await;
    place(&w, AccountId::new(), bet, &stake(Outcome::Failed, 30)).await;
    // When the client cancels the order and the bet is closed
    w.cancel(&client, order).await;
    let closed = w.manager(AccountId::new()).close(bet).await.unwrap();
    // Then the whole pool went to the developers' fund, nobody won
    assert_eq!(closed.bet.outcome, Some(Outcome::Canceled));
    assert_eq!(w.billing.paid(), (BTreeMap::new(), 100));
    assert_eq!(closed.payouts.len(), 1);
    assert_eq!(closed.payouts[0].manager_id, None);
}
