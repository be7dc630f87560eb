//! What must hold after any run, however it was disturbed.

use std::time::Duration;

use serde_json::Value;

use crate::harness::Cluster;

fn count(stats: &Value, map: &str, key: &str) -> i64 {
    stats[map][key].as_i64().unwrap_or(0)
}

/// Every order exists once and is active with a worker and a price; every event was
/// published once and applied once per consumer; outboxes are drained; nothing is
/// dead-lettered. `acknowledged` orders (201 received) must be among them.
pub async fn assert_flow_complete(c: &mut Cluster, acknowledged: &[String]) {
    let token = c.admin_token().await;
    c.eventually(
        Duration::from_secs(90),
        "every order active, outboxes drained",
        |c| {
            let c: &mut Cluster = c;
            let ordering = c.api("ordering");
            let matching = c.api("matching");
            let http = c.http.clone();
            let token = token.clone();
            async move {
                let get = |url: String| {
                    let http = http.clone();
                    let token = token.clone();
                    async move {
                        http.get(url)
                            .bearer_auth(token)
                            .send()
                            .await
                            .map_err(|e| e.to_string())?
                            .json::<Value>()
                            .await
                            .map_err(|e| e.to_string())
                    }
                };
                let counts = get(format!("{ordering}/ops/orders")).await?;
                let o = get(format!("{ordering}/ops/messaging")).await?;
                let m = get(format!("{matching}/ops/messaging")).await?;
                let requested = counts["requested"].as_i64().unwrap_or(0);
                if requested > 0 || o["outbox_pending"] != 0 || m["outbox_pending"] != 0 {
                    return Err(format!("orders {counts}, ordering {o}, matching {m}"));
                }
                Ok(())
            }
        },
    )
    .await;

    let (_, counts) = c.get("ordering", "/ops/orders").await;
    let total = counts["active"].as_i64().unwrap();
    assert_eq!(
        counts.as_object().unwrap().len(),
        1,
        "only active orders: {counts}"
    );
    assert!(total >= acknowledged.len() as i64);

    let (_, o) = c.get("ordering", "/ops/messaging").await;
    let (_, m) = c.get("matching", "/ops/messaging").await;
    assert_eq!(
        count(&o, "outbox_by_type", "ordering.order.requested"),
        total,
        "{o}"
    );
    assert_eq!(
        count(&o, "outbox_by_type", "ordering.order.activated"),
        total,
        "{o}"
    );
    assert_eq!(
        count(&m, "outbox_by_type", "matching.worker.assigned"),
        total,
        "{m}"
    );
    assert_eq!(
        count(
            &m,
            "inbox_by_consumer",
            "matching.on-order-requested/ordering.order.requested"
        ),
        total,
        "{m}"
    );
    assert_eq!(
        count(
            &o,
            "inbox_by_consumer",
            "ordering.on-assignment/matching.worker.assigned"
        ),
        total,
        "{o}"
    );
    assert_eq!(o["dead_letters_pending"], 0, "{o}");
    assert_eq!(m["dead_letters_pending"], 0, "{m}");

    for id in acknowledged {
        let (status, order) = c.get("ordering", &format!("/orders/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(order["status"], "active", "{order}");
        assert_eq!(order["price"], 100, "{order}");
        assert!(order["worker_id"].is_string(), "{order}");
        assert_eq!(order["version"], 2, "{order}");
    }
}
