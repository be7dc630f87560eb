use auth::Role;
use serde_json::{Value, json};

use super::{as_, mail, payout};
use crate::client::{SearchQuery, Status, Submission};

#[tokio::test]
async fn given_a_sent_key_when_sent_again_then_the_same_message_and_another_message_is_refused() {
    let ts = mail().await;
    let service = as_(&ts, &[Role::Service]);
    // Given
    let first = service.submit(&payout("p1")).await.unwrap();
    assert_eq!(first.status, Status::Queued);
    // When the same request comes again
    let again = service.submit(&payout("p1")).await.unwrap();
    // Then it is the same message
    assert_eq!(again.id, first.id, "same key, same message");
    // When another message comes under the same key
    let mut other = payout("p1");
    other.to = "felix@cats.test".into();
    let e = service.submit(&other).await.unwrap_err();
    // Then it is refused naming the key
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.field()),
        (Some(422), Some("idempotency_key"))
    );
    // Another sender's key is its own.
    let elsewhere = as_(&ts, &[Role::Service]).submit(&other).await.unwrap();
    assert_ne!(elsewhere.id, first.id);
}

#[tokio::test]
async fn given_bad_requests_when_submitted_then_each_is_refused_naming_the_field_and_nothing_is_stored()
 {
    let ts = mail().await;
    let admin = as_(&ts, &[Role::Admin]);
    let body = |v: Value| -> Submission { serde_json::from_value(v).unwrap() };
    let cases = [
        (
            json!({"to": "tom@cats.test", "template": "nope", "idempotency_key": "k1"}),
            "template",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent", "variables": {"name": "Tom"},
            "idempotency_key": "k2"}),
            "variables.amount",
        ),
        (
            json!({"to": "tom@cats.test\r\nBcc: evil@x.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "May"}, "idempotency_key": "k3"}),
            "to",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "x".repeat(8193)}, "idempotency_key": "k4"}),
            "variables.period",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": (0..51).map(|i| (format!("v{i}"), json!(i))).collect::<serde_json::Map<_, _>>(),
            "idempotency_key": "k5"}),
            "variables",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": (0..9).map(|i| (format!("v{i}"), json!("x".repeat(8000)))).collect::<serde_json::Map<_, _>>(),
            "idempotency_key": "k6"}),
            "variables",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "May"}, "idempotency_key": "a\u{0}b"}),
            "idempotency_key",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "May"}, "idempotency_key": " "}),
            "idempotency_key",
        ),
    ];
    for (request, field) in cases {
        // When
        let e = admin.submit(&body(request)).await.unwrap_err();
        // Then
        assert_eq!(
            (e.status().map(|s| s.as_u16()), e.field()),
            (Some(422), Some(field)),
            "{e:?}"
        );
    }
    let stored = admin.search(&SearchQuery::default()).await.unwrap();
    assert_eq!(stored, vec![], "refusals change nothing");
}

#[tokio::test]
async fn given_a_queued_message_when_retried_then_only_dead_ones_and_known_ids_are() {
    let ts = mail().await;
    let admin = as_(&ts, &[Role::Admin]);
    let queued = admin.submit(&payout("p1")).await.unwrap();
    let e = admin.retry(&queued.id.to_string()).await.unwrap_err();
    assert_eq!(
        (e.status().map(|s| s.as_u16()), e.code()),
        (Some(409), Some("not_dead")),
        "only dead messages are retried"
    );
    for unknown in [contracts::MessageId::new().to_string(), "not-an-id".into()] {
        let e = admin.retry(&unknown).await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{unknown}");
        let e = admin.message(&unknown).await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{unknown}");
    }
}

#[tokio::test]
async fn given_roles_when_calling_then_clients_may_not_send_and_senders_see_only_their_own() {
    let ts = mail().await;
    let (service, admin) = (as_(&ts, &[Role::Service]), as_(&ts, &[Role::Admin]));
    // Clients may not send mail.
    let e = as_(&ts, &[Role::Client])
        .submit(&payout("c1"))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));
    // A sender follows its own message; to another sender it does not exist.
    let id = service.submit(&payout("s1")).await.unwrap().id.to_string();
    let m = service.message(&id).await.unwrap();
    assert_eq!(
        (
            m.recipient.as_str(),
            m.status,
            m.attempts,
            m.subject.as_str()
        ),
        (
            "tom@cats.test",
            Status::Queued,
            0,
            "Your MCF payout for May"
        )
    );
    let e = as_(&ts, &[Role::Service]).message(&id).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(admin.message(&id).await.unwrap(), m);
    // Only admins search.
    let e = service.search(&SearchQuery::default()).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));
}

#[tokio::test]
async fn given_messages_when_an_admin_searches_then_filters_apply_and_bad_filters_are_refused() {
    let ts = mail().await;
    let admin = as_(&ts, &[Role::Admin]);
    admin.submit(&payout("p1")).await.unwrap();
    let mut felix = payout("p2");
    felix.to = "felix@cats.test".into();
    admin.submit(&felix).await.unwrap();
    let search = |status, to: Option<&str>| SearchQuery {
        status,
        to: to.map(str::to_owned),
        limit: None,
    };
    let found = admin
        .search(&search(None, Some("TOM@cats.test")))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].recipient, "tom@cats.test");
    let queued = admin
        .search(&search(Some(Status::Queued), None))
        .await
        .unwrap();
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].recipient, "felix@cats.test", "newest first");
    assert_eq!(
        admin
            .search(&search(Some(Status::Dead), None))
            .await
            .unwrap(),
        vec![]
    );
    for (query, field) in [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
    ] {
        let e = admin
            .0
            .get::<Value>(&format!("/messages?{query}"))
            .await
            .unwrap_err();
        assert_eq!(
            (e.status().map(|s| s.as_u16()), e.field()),
            (Some(422), Some(field)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn given_the_templates_when_listed_then_each_names_its_variables() {
    let ts = mail().await;
    let templates = as_(&ts, &[Role::Service]).templates().await.unwrap();
    let invite = templates
        .iter()
        .find(|t| t.name == "set_password_invite")
        .unwrap();
    assert_eq!(invite.variables, ["link", "name"]);
    assert_eq!(templates.len(), crate::templates::TEMPLATES.len());
}
