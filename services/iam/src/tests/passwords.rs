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
        api.password_page(&token, None).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        api.password_page("made-up", None).await.unwrap().status,
        StatusCode::GONE
    );
    let set = |password: &str| SetPasswordForm {
        token: Some(token.clone()),
        password: Some(password.into()),
        lang: None,
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
        language: None,
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
    // Blocks grow (1 s, 2 s, ...) until one catches the next attempt, on a loaded CI
    // machine too
    let mut more = Vec::new();
    for i in 0..10 {
        more.push(post(attacker, format!("made-up-again-{i}")).await);
    }
    assert!(more.contains(&StatusCode::TOO_MANY_REQUESTS), "{more:?}");
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

/// "Forgot your password?" answers the same for every address, mails a link only to an
/// active person's account (at most one such mail per quarter hour), and refuses a source
/// that asks too often, before looking anything up.
#[tokio::test]
async fn a_forgotten_password_mails_a_link_and_answers_the_same_for_unknown_addresses() {
    use crate::app::forgot_password::{Outcome as Forgot, forgot_password};
    use crate::client::ForgotForm;

    // Given Luna's account
    let test = iam().await;
    let api = anonymous(&test);
    admin(&test)
        .create_account(&person("luna", &["worker"]), None)
        .await
        .unwrap();
    let ask = |email: &str| ForgotForm {
        email: Some(email.into()),
        lang: None,
    };
    // When her address and unknown ones are given
    let hers = api.forgot_password(&ask("Luna@cats.test")).await.unwrap();
    let unknown = api.forgot_password(&ask("nobody@cats.test")).await.unwrap();
    let junk = api.forgot_password(&ask("not an address")).await.unwrap();
    // Then every answer is the same page
    assert_eq!(hers.status, StatusCode::OK);
    assert_eq!((unknown.status, unknown.text()), (hers.status, hers.text()));
    assert_eq!((junk.status, junk.text()), (hers.status, hers.text()));
    // And one mail with a working link is requested, for her only
    let mails = test.published("iam.mail.requested").await;
    let resets: Vec<_> = mails
        .iter()
        .filter(|m| m["data"]["request"]["template"] == "password_reset")
        .collect();
    assert_eq!(resets.len(), 1, "{mails:?}");
    assert_eq!(resets[0]["data"]["request"]["to"], "luna@cats.test");
    let link = resets[0]["data"]["request"]["variables"]["link"]
        .as_str()
        .unwrap();
    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(
        api.password_page(token, None).await.unwrap().status,
        StatusCode::OK
    );
    // And asking again within the quarter hour mails under the same key (Mail sends once)
    api.forgot_password(&ask("luna@cats.test")).await.unwrap();
    let keys: Vec<_> = test
        .published("iam.mail.requested")
        .await
        .iter()
        .filter(|m| m["data"]["request"]["template"] == "password_reset")
        .map(|m| m["data"]["request"]["idempotency_key"].clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);

    // When one source keeps asking (the use case: the kit's requests share one address)
    let (app, _context) = app().await;
    let source = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    let mut outcomes = Vec::new();
    // A few more than the limit: blocks grow until one catches the next request, however
    // slow the machine
    for _ in 0..ADDRESS.limit + 11 {
        outcomes.push(
            forgot_password(&app, source, "luna@cats.test")
                .await
                .unwrap(),
        );
    }
    // Then it is refused once past the sign-in policy's limit, and another source is not
    let answered = ADDRESS.limit as usize + 1;
    assert!(
        outcomes[..answered].iter().all(|o| *o == Forgot::Answered),
        "{outcomes:?}"
    );
    assert!(
        outcomes[answered..]
            .iter()
            .any(|o| matches!(o, Forgot::Throttled(w) if *w > 0)),
        "{outcomes:?}"
    );
    let elsewhere = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
    assert_eq!(
        forgot_password(&app, elsewhere, "luna@cats.test")
            .await
            .unwrap(),
        Forgot::Answered
    );
}
