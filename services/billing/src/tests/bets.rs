//! Bets' calls: stakes charged into a bet's pool, winnings and unwon pools paid from it,
//! each once per key and per Bets' id, never more than the pool holds.

use auth::Role;
use contracts::iam::AccountCreated;
use contracts::{AccountId, BetId, Envelope, Money};

use super::{as_role, billing, deliver, on_account};
use crate::client::{BillingClient, StakeCharge, Unwon, Winning};
use crate::domain::{CompanyAccount, EntryKind, LedgerAccount};

fn m(minor: i64) -> Money {
    Money::from_minor(minor)
}

/// A manager IAM announced.
async fn manager(ts: &service::testing::TestService) -> AccountId {
    let id = AccountId::new();
    let created = AccountCreated {
        account_id: id,
        email: "max@cats.test".into(),
        name: "Max".into(),
        roles: vec!["manager".into()],
        language: None,
    };
    deliver(&on_account(ts), &Envelope::new(&created, 1, None)).await;
    id
}

fn stake(bet: BetId, manager: AccountId, amount: i64) -> StakeCharge {
    StakeCharge {
        bet_id: bet,
        stake_id: uuid::Uuid::now_v7(),
        manager_id: manager,
        amount: m(amount),
    }
}

#[tokio::test]
async fn given_stakes_then_winnings_and_the_unwon_rest_are_paid_from_the_pool_once() {
    // Given two managers staking 300 and 200 on a bet, through Bets' service token
    let ts = billing().await;
    let bets = as_role(&ts, Role::Service);
    let (ann, bob) = (manager(&ts).await, manager(&ts).await);
    let bet = BetId::new();
    let (s1, s2) = (stake(bet, ann, 300), stake(bet, bob, 200));
    let booked = bets
        .charge_stake(&s1, &s1.stake_id.to_string())
        .await
        .unwrap();
    assert_eq!((booked.kind, booked.amount), (EntryKind::BetStake, m(300)));
    bets.charge_stake(&s2, &s2.stake_id.to_string())
        .await
        .unwrap();
    // A retry of the first stake, and the same stake under another key: nothing more
    assert_eq!(
        bets.charge_stake(&s1, &s1.stake_id.to_string())
            .await
            .unwrap(),
        booked
    );
    assert_eq!(
        bets.charge_stake(&s1, "another-key")
            .await
            .unwrap()
            .entry_id,
        booked.entry_id
    );
    // When Ann wins 400 and the remaining 100 goes to the developers' fund
    let win = Winning {
        bet_id: bet,
        payout_id: uuid::Uuid::now_v7(),
        manager_id: ann,
        amount: m(400),
    };
    bets.pay_winning(&win, &win.payout_id.to_string())
        .await
        .unwrap();
    bets.pay_winning(&win, &win.payout_id.to_string())
        .await
        .unwrap();
    // More than the pool holds is refused
    let greedy = Unwon {
        bet_id: bet,
        payout_id: uuid::Uuid::now_v7(),
        amount: m(101),
    };
    let e = bets.move_unwon(&greedy, "greedy").await.unwrap_err();
    assert_eq!(e.code(), Some("pool_exceeded"));
    let rest = Unwon {
        amount: m(100),
        ..greedy
    };
    bets.move_unwon(&rest, &rest.payout_id.to_string())
        .await
        .unwrap();
    // Then Ann staked 300 and won 400, Bob lost 200, the fund got 100, the pool is empty
    let admin = as_role(&ts, Role::Admin);
    let balance = |account| {
        let admin = admin.clone();
        async move { admin.statement(account).await.unwrap().balance }
    };
    assert_eq!(balance(LedgerAccount::Manager(ann)).await, m(-100));
    assert_eq!(balance(LedgerAccount::Manager(bob)).await, m(200));
    assert_eq!(
        balance(LedgerAccount::Company(CompanyAccount::DevelopersFund)).await,
        m(-100)
    );
    assert_eq!(
        balance(LedgerAccount::Company(CompanyAccount::BetPool)).await,
        m(0)
    );
    assert_eq!(admin.trial_balance().await.unwrap().total, Money::zero());
    // Ann sees her stake and winning on her own statement
    let anns = BillingClient(ts.client_as(ann, &[Role::Manager]));
    let kinds: Vec<EntryKind> = anns.my_statements().await.unwrap()[0]
        .lines
        .iter()
        .map(|l| l.kind)
        .collect();
    assert_eq!(kinds, vec![EntryKind::BetStake, EntryKind::BetWinning]);
}

#[tokio::test]
async fn given_bad_bet_bookings_then_each_is_refused_and_nothing_moves() {
    let ts = billing().await;
    let bets = as_role(&ts, Role::Service);
    let ann = manager(&ts).await;
    let bet = BetId::new();
    // No amount, or more than one posting may move
    for (amount, key) in [(0, "k0"), (1_000_000_000_001, "k1")] {
        let e = bets
            .charge_stake(&stake(bet, ann, amount), key)
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            (Some("validation_failed"), Some("amount")),
            "{amount}"
        );
    }
    // A manager Billing has no account for
    let e = bets
        .charge_stake(&stake(bet, AccountId::new(), 10), "k2")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("no_account"));
    // No key
    let e = bets
        .0
        .post_keyed::<_, serde_json::Value>("/bets/stakes", &stake(bet, ann, 10), None)
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("Idempotency-Key"));
    // A winning from a bet nobody staked on
    let win = Winning {
        bet_id: bet,
        payout_id: uuid::Uuid::now_v7(),
        manager_id: ann,
        amount: m(1),
    };
    assert_eq!(
        bets.pay_winning(&win, "k3").await.unwrap_err().code(),
        Some("pool_exceeded")
    );
    // The same stake id booked again with another amount
    let s = stake(bet, ann, 10);
    bets.charge_stake(&s, "k4").await.unwrap();
    let changed = StakeCharge {
        amount: m(11),
        ..s.clone()
    };
    assert_eq!(
        bets.charge_stake(&changed, "k5").await.unwrap_err().code(),
        Some("entry_exists")
    );
    // Only the service may call
    for role in [Role::Manager, Role::Admin, Role::Client, Role::Worker] {
        let e = as_role(&ts, role)
            .charge_stake(&stake(bet, ann, 5), "k6")
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("forbidden"), "{role:?}");
    }
    let admin = as_role(&ts, Role::Admin);
    assert_eq!(
        admin
            .statement(LedgerAccount::Manager(ann))
            .await
            .unwrap()
            .balance,
        m(10)
    );
}
