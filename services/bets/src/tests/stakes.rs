//! Placing stakes: validation, the Idempotency-Key, when stakes close, Billing's refusal.

use super::*;
use crate::domain::StakeStatus;

#[tokio::test]
async fn bad_stakes_are_refused_naming_the_field_and_change_nothing() {
    let w = World::new().await;
    let (bet, _, _, _) = w.open_bet().await;
    let manager = w.manager(AccountId::new());
    // An amount out of range
    for amount in [0, -1, 100_000_001] {
        let e = manager
            .stake(bet, &stake(Outcome::Completed, amount), "k1")
            .await
            .unwrap_err();
        assert_eq!(
            refusal(&e),
            (422, Some("validation_failed"), Some("amount")),
            "{amount}"
        );
    }
    // No Idempotency-Key: money moves only under one
    let e = manager
        .stake_reply(bet, &stake(Outcome::Completed, 5), None)
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("Idempotency-Key"))
    );
    // An outcome that is none
    let e = manager
        .0
        .request(client::Method::POST, &format!("/bets/{bet}/stakes"))
        .json(&json!({"outcome": "late", "amount": 5}))
        .idempotency_key("k2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 422);
    assert_eq!(
        (
            w.count("stakes").await,
            w.billing.calls.load(Atomic::SeqCst)
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn a_retried_stake_is_charged_once_and_a_reused_key_is_refused() {
    // Given a manager's stake placed with a key
    let w = World::new().await;
    let (bet, _, _, _) = w.open_bet().await;
    let (id, manager) = {
        let id = AccountId::new();
        (id, w.manager(id))
    };
    let first = manager
        .stake_reply(bet, &stake(Outcome::Failed, 40), Some("s-1"))
        .await
        .unwrap();
    assert_eq!(first.status.as_u16(), 201);
    let first: Stake = first.json().unwrap();
    assert_eq!(
        (first.status, first.manager_id),
        (StakeStatus::Confirmed, id)
    );
    // When the same request comes again / Then 200 with the same stake, charged once
    let again = manager
        .stake_reply(bet, &stake(Outcome::Failed, 40), Some("s-1"))
        .await
        .unwrap();
    assert_eq!(again.status.as_u16(), 200);
    assert_eq!(again.json::<Stake>().unwrap(), first);
    assert_eq!(w.billing.booked("/bets/stakes").len(), 1);
    // When the key comes with another amount / Then 422, nothing charged
    let e = manager
        .stake(bet, &stake(Outcome::Failed, 41), "s-1")
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    // And the manager's own stakes list it; another manager's does not
    assert_eq!(manager.my_stakes().await.unwrap(), vec![first.clone()]);
    assert!(
        w.manager(AccountId::new())
            .my_stakes()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.admin().stakes_of(bet).await.unwrap(), vec![first]);
    assert_eq!(w.bets.published("bets.stake.placed").await.len(), 1);
}

#[tokio::test]
async fn stakes_close_when_the_order_leaves_active_and_at_the_cut_off() {
    // Given a bet whose order the client cancels
    let w = World::new().await;
    let (bet, order, client, _) = w.open_bet().await;
    let manager = w.manager(AccountId::new());
    w.cancel(&client, order).await;
    // When a stake comes / Then 409 stakes_closed, nothing charged
    let e = manager
        .stake(bet, &stake(Outcome::Canceled, 10), "late-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stakes_closed"), None));
    // And it is remembered: with Ordering down, still stakes_closed (not 503)
    w.ordering_down.store(true, Atomic::SeqCst);
    let e = manager
        .stake(bet, &stake(Outcome::Canceled, 10), "late-2")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stakes_closed"), None));
    w.ordering_down.store(false, Atomic::SeqCst);

    // Given a bet with a cut-off in one hour
    let (order, _, _) = w.active_order().await;
    let cut_off = w.bets.ctx().clock.now() + Duration::hours(1);
    let new = NewBet {
        order_id: order,
        stakes_close_at: Some(cut_off),
    };
    let bet = manager.open(&new, None).await.unwrap().bet.id;
    place(&w, AccountId::new(), bet, &stake(Outcome::Completed, 10)).await;
    // When business time passes it / Then stakes are refused
    w.bets.ctx().clock.advance(Duration::hours(1)).unwrap();
    let e = manager
        .stake(bet, &stake(Outcome::Completed, 10), "after-cut-off")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stakes_closed"), None));
    assert_eq!(w.count("stakes").await, 1);
    assert_eq!(w.billing.booked("/bets/stakes").len(), 1);
}

#[tokio::test]
async fn a_stake_billing_refuses_is_never_in_the_pool() {
    // Given a manager Billing has no account for
    let w = World::new().await;
    let (bet, _, _, _) = w.open_bet().await;
    let broke = AccountId::new();
    w.billing.refused.lock().unwrap().insert(broke.to_string());
    // When the manager stakes / Then 409 stake_refused with Billing's reason
    let e = w
        .manager(broke)
        .stake(bet, &stake(Outcome::Completed, 500), "r-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stake_refused"), None));
    assert!(e.problem().unwrap().detail.contains("no_account"));
    // And the same request again gets the same answer without asking Billing again
    let calls = w.billing.calls.load(Atomic::SeqCst);
    let e = w
        .manager(broke)
        .stake(bet, &stake(Outcome::Completed, 500), "r-1")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("stake_refused"), None));
    assert_eq!(w.billing.calls.load(Atomic::SeqCst), calls);
    // And the pool is empty, the stake listed as refused
    assert_eq!(w.admin().bet(bet).await.unwrap().pool, Money::zero());
    let mine = w.manager(broke).my_stakes().await.unwrap();
    assert_eq!(mine[0].status, StakeStatus::Refused);
}
