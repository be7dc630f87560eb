//! The admin API's refusals, idempotent creation, and who may read an account.

use auth::Role;
use axum::http::StatusCode;
use contracts::AccountId;

use super::{admin, as_account, iam, person};
use crate::client::{AccountChange, NewAccount, NewServiceAccount, Status};

#[tokio::test]
async fn given_an_account_when_another_takes_its_email_or_an_unknown_role_then_both_are_refused() {
    // Given Tom
    let ts = iam().await;
    let api = admin(&ts);
    let tom = api
        .create_account(
            &NewAccount {
                email: "Tom@Cats.test".into(),
                ..person("tom", &["client"])
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(tom.email, "tom@cats.test");
    // When his e-mail is taken again, then it is refused
    let taken = api
        .create_account(
            &NewAccount {
                email: "tom@cats.test".into(),
                password: None,
                ..person("tom2", &["client"])
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (taken.status(), taken.code()),
        (Some(StatusCode::CONFLICT), Some("email_taken"))
    );
    // When a role does not exist (or is the service role), then the roles are refused
    for roles in [&["wizard"], &["service"]] {
        let refused = api
            .create_account(&person("x", roles), None)
            .await
            .unwrap_err();
        assert_eq!(
            (refused.status(), refused.field()),
            (Some(StatusCode::UNPROCESSABLE_ENTITY), Some("roles"))
        );
    }
    // And bad e-mails, names and passwords name their field
    for (bad, field) in [
        (
            NewAccount {
                email: "not-an-address".into(),
                ..person("y", &["client"])
            },
            "email",
        ),
        (
            NewAccount {
                name: "two\nlines".into(),
                ..person("y", &["client"])
            },
            "name",
        ),
        (
            NewAccount {
                password: Some("short".into()),
                ..person("y", &["client"])
            },
            "password",
        ),
    ] {
        let refused = api.create_account(&bad, None).await.unwrap_err();
        assert_eq!(refused.field(), Some(field), "{refused}");
    }
}

#[tokio::test]
async fn given_an_idempotency_key_when_the_request_is_retried_then_the_first_account_answers() {
    // Given Luna created with a key
    let ts = iam().await;
    let api = admin(&ts);
    let luna = person("luna", &["worker"]);
    let first = api.create_account(&luna, Some("k-1")).await.unwrap();
    // When the same request comes again with it, then the same account answers, once
    let again = api.create_account(&luna, Some("k-1")).await.unwrap();
    assert_eq!(again, first);
    let lunas = api.accounts().await.unwrap();
    assert_eq!(
        lunas.iter().filter(|a| a.email == "luna@cats.test").count(),
        1
    );
    // When the key comes with another request, then it is refused
    let reused = api
        .create_account(&person("zoe", &["worker"]), Some("k-1"))
        .await
        .unwrap_err();
    assert_eq!(
        (reused.status(), reused.code()),
        (
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            Some("idempotency_key_reused")
        )
    );
}

#[tokio::test]
async fn given_accounts_when_people_read_them_then_each_sees_only_their_own() {
    // Given Tom, a client
    let ts = iam().await;
    let tom = admin(&ts)
        .create_account(&person("tom", &["client"]), None)
        .await
        .unwrap();
    let as_tom = as_account(&ts, tom.id, &[Role::Client]);
    // When he reads his account, then he sees it
    assert_eq!(as_tom.account(&tom.id.to_string()).await.unwrap(), tom);
    // When he reads another's, or the list, then he may not
    let other = as_tom
        .account(&AccountId::new().to_string())
        .await
        .unwrap_err();
    assert_eq!(other.code(), Some("forbidden"));
    let list = as_tom.accounts().await.unwrap_err();
    assert_eq!(
        (list.status(), list.code()),
        (Some(StatusCode::FORBIDDEN), Some("forbidden"))
    );
    // When an admin asks for an id that is not one, then there is no such account
    let missing = admin(&ts).account("not-an-id").await.unwrap_err();
    assert_eq!(missing.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn given_an_admin_when_they_would_lock_themselves_out_then_it_is_refused() {
    // Given an admin's own account
    let ts = iam().await;
    let me = admin(&ts)
        .create_account(&person("ada", &["admin"]), None)
        .await
        .unwrap();
    let as_me = as_account(&ts, me.id, &[Role::Admin]);
    // When they disable themselves or drop their admin role, then it is refused
    for change in [
        AccountChange {
            status: Some(Status::Disabled),
            ..AccountChange::default()
        },
        AccountChange {
            roles: Some(vec!["client".into()]),
            ..AccountChange::default()
        },
    ] {
        let refused = as_me
            .change_account(&me.id.to_string(), &change)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Some("self_lockout"));
    }
    // When they rename themselves, then that is fine
    let renamed = as_me
        .change_account(
            &me.id.to_string(),
            &AccountChange {
                name: Some("Ada L.".into()),
                ..AccountChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Ada L.");
}

#[tokio::test]
async fn given_a_service_account_request_when_its_name_or_audience_is_wrong_then_it_names_the_field()
 {
    let ts = iam().await;
    let api = admin(&ts);
    for (new, field) in [
        (
            NewServiceAccount {
                name: "no spaces".into(),
                audiences: None,
            },
            "name",
        ),
        (
            NewServiceAccount {
                name: "billing".into(),
                audiences: Some(vec!["nowhere".into()]),
            },
            "audiences",
        ),
    ] {
        let refused = api.create_service_account(&new).await.unwrap_err();
        assert_eq!(refused.field(), Some(field), "{refused}");
    }
    let made = api
        .create_service_account(&NewServiceAccount {
            name: "billing".into(),
            audiences: None,
        })
        .await
        .unwrap();
    assert_eq!(made.client_id, "svc-billing");
}
