//! The first flow: order -> match -> activate.

use contracts::{Money, OrderId, ServiceTypeId};
use ordering::client::{OrderListQuery, OrderingClient};
use ordering::domain::order::OrderRequest;
use ordering::domain::service_type::NewServiceType;
use serde_json::{Value, json};

use crate::harness::{Cluster, Mode, future};
use crate::invariants::assert_flow_complete;

fn refusal(e: &client::ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

pub async fn orders_become_active(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    let best = c.register_worker("Tom", 90).await;
    c.register_worker("Felix", 40).await;
    c.register_worker("Luna", 60).await;

    let client = c.token_for("client-a", "client").await;
    let ids = c.request_orders(20, &st, "client-a").await;
    assert_eq!(ids.len(), 20, "every request is accepted");
    assert_flow_complete(&mut c, &ids).await;

    // The first order went to the most skilled worker, and the explanation says why.
    let (_, first) = c
        .get("matching", &format!("/reference-samples/{}", ids[0]))
        .await;
    assert_eq!(first["status"], "assigned");
    let steps: Vec<&str> = first["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "availability",
            "exclude_failed",
            "skill_fit",
            "past_results",
            "load_balance"
        ]
    );
    let admin = OrderingClient(c.admin_client("ordering").await);
    let mut workers = std::collections::HashSet::new();
    for id in &ids {
        let o = admin.order(id.parse().unwrap()).await.unwrap();
        workers.insert(o.order.worker_id.unwrap().to_string());
    }
    assert!(workers.contains(&best));

    // A client reads its orders back.
    let active = OrderListQuery {
        status: Some("active".into()),
        ..Default::default()
    };
    let list = OrderingClient(c.client("ordering", &client))
        .orders(&active)
        .await
        .unwrap();
    assert_eq!(list.len(), 20);
}

pub async fn orders_wait_for_a_worker(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    c.token_for("client-b", "client").await;
    let ids = c.request_orders(3, &st, "client-b").await;
    assert_eq!(ids.len(), 3);

    // Matching has seen the orders and keeps them waiting: nobody to assign yet.
    let first = ids[0].clone();
    c.wait_until(
        "matching",
        &format!("/reference-samples/{first}"),
        "matching keeps the order waiting",
        |v| v["status"] == "pending",
    )
    .await;
    let admin = OrderingClient(c.admin_client("ordering").await);
    let first: OrderId = first.parse().unwrap();
    let order = admin.order(first).await.unwrap();
    assert_eq!(order.order.status.as_str(), "requested");

    let worker = c.register_worker("Late Tom", 70).await;
    assert_flow_complete(&mut c, &ids).await;
    let order = admin.order(first).await.unwrap();
    assert_eq!(order.order.worker_id.map(|w| w.to_string()), Some(worker));
}

pub async fn bad_input_is_refused(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    let client = c.token_for("client-c", "client").await;

    let cases = [
        (
            json!({"service_type_id": st, "description": "x",
                "scheduled_at": "2001-01-01T00:00:00Z"}),
            "scheduled_at",
        ),
        (
            json!({"service_type_id": st, "scheduled_at": future(1)}),
            "description",
        ),
        (
            json!({"service_type_id": uuid::Uuid::now_v7(), "description": "x",
                "scheduled_at": future(1)}),
            "service_type_id",
        ),
        (
            json!({"service_type_id": "not-a-uuid", "description": "x",
                "scheduled_at": future(1)}),
            "service_type_id",
        ),
        (
            json!({"service_type_id": st, "description": "x",
                "scheduled_at": "tomorrow"}),
            "scheduled_at",
        ),
    ];
    // Bodies a typed client cannot write: sent as JSON through the same client.
    let as_client = c.client("ordering", &client);
    for (body, field) in cases {
        let e = as_client
            .post::<_, Value>("/orders", &body)
            .await
            .unwrap_err();
        assert_eq!((refusal(&e).0, refusal(&e).2), (422, Some(field)), "{e}");
        assert!(e.code().is_some(), "{e}");
        assert!(e.problem().unwrap().detail.contains(field), "{e}");
    }
    let admin = OrderingClient(c.admin_client("ordering").await);
    let nameless = NewServiceType {
        name: String::new(),
        description: String::new(),
        skill: None,
        price: Money::from_minor(1),
        duration_minutes: 5,
    };
    let e = admin.add_service_type(&nameless, None).await.unwrap_err();
    assert_eq!((refusal(&e).0, refusal(&e).2), (422, Some("name")), "{e}");
    let twin = NewServiceType {
        name: "Cleaning".into(),
        price: Money::from_minor(5),
        ..nameless
    };
    let e = admin.add_service_type(&twin, None).await.unwrap_err();
    assert_eq!(
        (refusal(&e).0, refusal(&e).1),
        (409, Some("duplicate_service_type"))
    );
    let (status, problem) = c
        .post(
            "matching",
            "/normal-samples",
            json!({"name": "Tom", "skills": {"cleaning": 101}}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("skills.cleaning"))
    );
    let e = admin.order(OrderId::new()).await.unwrap_err();
    assert_eq!(refusal(&e).0, 404);

    // Nothing was written by the refusals.
    assert!(admin.counts().await.unwrap().is_empty());
    let (_, samples) = c.get("matching", "/normal-samples").await;
    assert_eq!(samples, json!([]));
    assert_eq!(admin.service_types(false).await.unwrap().len(), 1);
}

pub async fn dead_letter_routes(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    for service in ["ordering", "matching"] {
        let (status, list) = c.get(service, "/ops/dead-letters").await;
        assert_eq!(status, 200);
        assert_eq!(list, json!([]));
        let (status, problem) = c
            .post(service, "/ops/dead-letters/nope/replay", json!({}))
            .await;
        assert_eq!(status, 404, "{problem}");
        assert_eq!(problem["code"], "not_found");
    }
}

pub async fn idempotent_order_requests(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st: ServiceTypeId = c.service_type().await.parse().unwrap();
    let client = c.token_for("client-d", "client").await;
    let ordering = OrderingClient(c.client("ordering", &client));
    let req = OrderRequest {
        service_type_id: st,
        description: "dishes".into(),
        scheduled_at: future(3).parse().unwrap(),
    };
    let first = ordering
        .request_reply(&req, Some("order-42"))
        .await
        .unwrap();
    let again = ordering
        .request_reply(&req, Some("order-42"))
        .await
        .unwrap();
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 200));
    let id = |r: &client::Reply| r.json::<ordering::domain::order::Order>().unwrap().id;
    assert_eq!(id(&first), id(&again));
    assert_eq!(first.location(), again.location());
    let other = OrderRequest {
        description: "something else".into(),
        ..req
    };
    let e = ordering
        .request(&other, Some("order-42"))
        .await
        .unwrap_err();
    assert_eq!(
        (refusal(&e).0, refusal(&e).1),
        (422, Some("idempotency_key_reused"))
    );
    let admin = c.admin_client("ordering").await;
    let counts = OrderingClient(admin.clone()).counts().await.unwrap();
    assert_eq!(counts.values().sum::<i64>(), 1);
    let stats = service::client::OpsClient::new(admin)
        .messaging()
        .await
        .unwrap();
    let stats = serde_json::to_value(stats).unwrap();
    assert_eq!(stats["outbox_by_type"]["ordering.order.requested"], 1);
}
