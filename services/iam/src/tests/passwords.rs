//! Passwords: set-password links (single use, never hashed when they do not work, their
//! source throttled) and a person changing their own.

use std::net::{IpAddr, Ipv4Addr};

use auth::Role;
use axum::http::StatusCode;

use super::{admin, anonymous, app, as_account, iam, person};
use crate::app::set_password::{Outcome, set_password};
use crate::client::{NewAccount, PasswordChange, SetPasswordForm};
use crate::domain::account::{Account, Status};
use crate::domain::throttle::ADDRESS;
use crate::{app as use_case, store};

#[tokio::test]
async fn given_a_link_when_used_with_a_short_password_twice_or_never_then_pages_say_so() {
    // Given Luna without a password, and a link for her
    let ts = iam().await;
    let luna = admin(&ts)
        .create_account(
            &NewAccount {
                password: None,
                ..person("luna", &["worker"])
            },
            None,
        )
        .await
        .unwrap();
    let link = admin(&ts)
        .password_link(&luna.id.to_string())
        .await
        .unwrap();
    let token = link.link.split("token=").nth(1).unwrap().to_owned();
    let api = anonymous(&ts);
    assert_eq!(
        api.password_page(&token).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        api.password_page("made-up").await.unwrap().status,
        StatusCode::GONE
    );
    let set = |password: &str| SetPasswordForm {
        token: Some(token.clone()),
        password: Some(password.into()),
    };
    // When the password is too short, then the page says so
    assert_eq!(
        api.set_password(&set("short")).await.unwrap().status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // When set, then once only
    assert_eq!(
        api.set_password(&set("luna-chooses-this"))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.set_password(&set("and-again-later"))
            .await
            .unwrap()
            .status,
        StatusCode::GONE
    );
}

/// Links that do not work cost a lookup, never a hash, and a source presenting them is
/// throttled; a real link from elsewhere still works, once. (Called on the use case: the
/// kit's requests all come from one address.)
#[tokio::test]
async fn bad_links_are_never_hashed_and_their_source_is_throttled() {
    let (app, _test) = app().await;
    let account = Account {
        id: contracts::AccountId::new(),
        email: "luna@cats.test".into(),
        name: "Luna".into(),
        roles: vec![Role::Worker],
        status: Status::Active,
    };
    let mut work = app.ctx.begin().await.unwrap();
    use_case::add_account(&app, &mut work, &account, None)
        .await
        .unwrap();
    let link = use_case::password_link::new_link(&app, &mut work, account.id)
        .await
        .unwrap();
    work.commit().await.unwrap();
    let token = link.url.split("token=").nth(1).unwrap().to_owned();
    let post = |from: [u8; 4], token: String| {
        let app = app.clone();
        async move {
            let peer = IpAddr::from(Ipv4Addr::from(from));
            match set_password(&app, peer, &token, "a-long-enough-password")
                .await
                .unwrap()
            {
                Outcome::Set => StatusCode::OK,
                Outcome::Gone => StatusCode::GONE,
                Outcome::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                Outcome::Refused(m) => panic!("refused: {m}"),
            }
        }
    };

    let attacker = [10, 0, 0, 66];
    for i in 0..=ADDRESS.limit {
        assert_eq!(
            post(attacker, format!("made-up-{i}")).await,
            StatusCode::GONE
        );
    }
    assert_eq!(
        post(attacker, "made-up-again".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.passwords.computed(), 0, "no link, no hash");

    let person = [10, 0, 0, 7];
    assert_eq!(post(person, token.clone()).await, StatusCode::OK);
    assert_eq!(app.passwords.computed(), 1);
    assert_eq!(post(person, token).await, StatusCode::GONE);
    assert_eq!(
        app.passwords.computed(),
        1,
        "a spent link is not hashed either"
    );
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    assert!(
        store::account(&mut conn, account.id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn given_a_person_when_they_change_their_password_wrongly_then_the_field_is_named() {
    // Given Nina, signed in
    let ts = iam().await;
    let nina = admin(&ts)
        .create_account(&person("nina", &["client"]), None)
        .await
        .unwrap();
    let as_nina = as_account(&ts, nina.id, &[Role::Client]);
    let change = |current: &str, new: &str| PasswordChange {
        current_password: current.into(),
        new_password: new.into(),
    };
    // When the current password is wrong, or the new one too short or the same
    for (attempt, field) in [
        (
            change("not-my-password", "nina-new-password"),
            "current_password",
        ),
        (change("password-of-nina", "short"), "new_password"),
        (
            change("password-of-nina", "password-of-nina"),
            "new_password",
        ),
    ] {
        let refused = as_nina.change_password(&attempt).await.unwrap_err();
        assert_eq!(
            (refused.status(), refused.field()),
            (Some(StatusCode::UNPROCESSABLE_ENTITY), Some(field))
        );
    }
    // When it is right, then it changes
    let changed = as_nina
        .change_password(&change("password-of-nina", "nina-new-password"))
        .await
        .unwrap();
    assert!(changed.password_changed);
}
