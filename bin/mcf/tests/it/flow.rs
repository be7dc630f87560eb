//! The first flow: order -> match -> activate.

use serde_json::json;

use crate::harness::{Cluster, Mode, future};
use crate::invariants::assert_flow_complete;

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
    let workers: std::collections::HashSet<String> = {
        let mut w = std::collections::HashSet::new();
        for id in &ids {
            let (_, o) = c.get("ordering", &format!("/orders/{id}")).await;
            w.insert(o["worker_id"].as_str().unwrap().to_owned());
        }
        w
    };
    assert!(workers.contains(&best));

    // A client reads its orders back.
    let (status, list) = c.get_as(&client, "ordering", "/orders?status=active").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 20);
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
    let (_, order) = c.get("ordering", &format!("/orders/{first}")).await;
    assert_eq!(order["status"], "requested");

    let worker = c.register_worker("Late Tom", 70).await;
    assert_flow_complete(&mut c, &ids).await;
    let (_, order) = c.get("ordering", &format!("/orders/{first}")).await;
    assert_eq!(order["worker_id"], worker);
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
    for (body, field) in cases {
        let (status, problem) = c.post_as(&client, "ordering", "/orders", body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
        assert!(problem["code"].is_string(), "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    let (status, problem) = c
        .post(
            "ordering",
            "/service-types",
            json!({"name": "", "price": 1, "duration_minutes": 5}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("name")),
        "{problem}"
    );
    let (status, problem) = c
        .post(
            "ordering",
            "/service-types",
            json!({"name": "Cleaning", "price": 5, "duration_minutes": 5}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
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
    let (status, _) = c
        .get("ordering", &format!("/orders/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(status, 404);

    // Nothing was written by the refusals.
    let (_, counts) = c.get("ordering", "/ops/orders").await;
    assert_eq!(counts, json!({}));
    let (_, samples) = c.get("matching", "/normal-samples").await;
    assert_eq!(samples, json!([]));
    let (_, types) = c.get("ordering", "/service-types").await;
    assert_eq!(types.as_array().unwrap().len(), 1);
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
    let st = c.service_type().await;
    let client = c.token_for("client-d", "client").await;
    let url = format!("{}/orders", c.api("ordering"));
    let body = json!({"service_type_id": st, "description": "dishes",
        "scheduled_at": future(3)});
    let send = |body: serde_json::Value| {
        let http = c.http.clone();
        let url = url.clone();
        let client = client.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(client)
                .header("Idempotency-Key", "order-42")
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (first_status, first) = send(body.clone()).await;
    let (again_status, again) = send(body.clone()).await;
    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first["id"], again["id"]);
    let mut other = body.clone();
    other["description"] = json!("something else");
    let (status, problem) = send(other).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (_, counts) = c.get("ordering", "/ops/orders").await;
    assert_eq!(
        counts
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum::<i64>(),
        1
    );
    let (_, o) = c.get("ordering", "/ops/messaging").await;
    assert_eq!(o["outbox_by_type"]["ordering.order.requested"], 1);
}
