//! Who may use Quality: managers and admins; everyone else 403, unknown ids 404.

use super::*;
use crate::routes::QueueQuery;

#[tokio::test]
async fn only_managers_and_admins_may_use_quality() {
    // Given a failed order
    let ts = quality().await;
    let story = failed_order(&ts).await;
    // When each other role reads the queue or the order / Then 403
    for role in [Role::Client, Role::Worker, Role::Supply, Role::Service] {
        let q = as_role(&ts, role);
        let e = q.queue(&QueueQuery::default()).await.unwrap_err();
        assert_eq!(refusal(&e).0, 403, "{role:?}");
        let e = q.order(story.order).await.unwrap_err();
        assert_eq!(refusal(&e).0, 403, "{role:?}");
    }
    // And nobody without a token gets 401
    let e = QualityClient(ts.client())
        .queue(&QueueQuery::default())
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 401);
    // And an admin may
    assert_eq!(
        as_role(&ts, Role::Admin)
            .queue(&QueueQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    // Given the service and a manager
    let ts = quality().await;
    let m = manager(&ts);
    // When unknown or malformed ids are asked for / Then 404 each
    let orders = m.order(OrderId::new()).await.unwrap_err();
    let review = m.review(uuid::Uuid::now_v7()).await.unwrap_err();
    let sample = m.sample(uuid::Uuid::now_v7()).await.unwrap_err();
    let hypothesis = m.hypothesis(uuid::Uuid::now_v7()).await.unwrap_err();
    let junk =
        m.0.get::<serde_json::Value>("/orders/not-an-id")
            .await
            .unwrap_err();
    for e in [orders, review, sample, hypothesis, junk] {
        assert_eq!(refusal(&e), (404, Some("not_found"), None));
    }
}
