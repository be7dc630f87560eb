//! Only managers bet, open and close; admins may read; nobody else sees anything.

use super::*;

#[tokio::test]
async fn only_managers_bet_and_admins_only_read() {
    // Given an open bet
    let w = World::new().await;
    let (bet, order, _, _) = w.open_bet().await;
    let new = NewBet {
        order_id: order,
        stakes_close_at: None,
    };
    // When other roles open, stake, close or read / Then 403, and nothing changed
    for role in [Role::Client, Role::Worker, Role::Supply, Role::Service] {
        let who = w.as_role(role);
        let e = who.open(&new, None).await.unwrap_err();
        assert_eq!(refusal(&e), (403, Some("forbidden"), None), "{role:?}");
        let e = who
            .stake(bet, &stake(Outcome::Completed, 100), "k")
            .await
            .unwrap_err();
        assert_eq!(refusal(&e).0, 403, "{role:?}");
        assert_eq!(refusal(&who.close(bet).await.unwrap_err()).0, 403);
        assert_eq!(refusal(&who.bet(bet).await.unwrap_err()).0, 403);
        assert_eq!(refusal(&who.my_stakes().await.unwrap_err()).0, 403);
    }
    // Admins read, and may not bet
    let admin = w.admin();
    assert_eq!(admin.bet(bet).await.unwrap().bet.id, bet);
    assert_eq!(admin.bets(&Default::default()).await.unwrap().len(), 1);
    assert!(admin.stakes_of(bet).await.unwrap().is_empty());
    let e = admin
        .stake(bet, &stake(Outcome::Completed, 100), "k")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 403);
    assert_eq!(refusal(&admin.close(bet).await.unwrap_err()).0, 403);
    // Without a token: 401
    let nobody = BetsClient(w.bets.client());
    assert_eq!(
        refusal(&nobody.bets(&Default::default()).await.unwrap_err()).0,
        401
    );
    assert_eq!(
        (
            w.count("stakes").await,
            w.billing.calls.load(Atomic::SeqCst)
        ),
        (0, 0)
    );
}
