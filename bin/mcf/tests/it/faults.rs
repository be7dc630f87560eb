//! Crashes at the worst moments: nothing is lost, nothing applied twice.

use std::time::{Duration, Instant};

use crate::harness::{Cluster, Mode};
use crate::invariants::assert_flow_complete;

/// Sets up a catalog and workers, arms `point` (crash on its `nth` hit) in the processes of
/// `role`, drives orders until they crash, restarts them unarmed and checks the invariants.
async fn crash_at(mode: Mode, role: &'static str, point: &str, nth: u32) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    for (i, level) in [80, 60, 70].into_iter().enumerate() {
        c.register_worker(&format!("worker {i}"), level).await;
    }
    c.token_for("client", "client").await;
    c.admin_token().await;
    // The armed process must come up first: nothing left for it to replay at its start.
    c.settle().await;
    let role = if mode == Mode::Embedded {
        "embedded"
    } else {
        role
    };
    c.restart_role(role, &format!("{point}:{nth}"));

    // Keep ordering until an armed process has crashed.
    let mut acknowledged = Vec::new();
    let start = Instant::now();
    loop {
        let crashed = c.procs.iter_mut().any(|p| p.role == role && p.exited());
        if crashed {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{point} was never reached"
        );
        if c.procs
            .iter()
            .any(|p| p.role == "ordering" || p.role == "embedded")
        {
            acknowledged.extend(c.request_orders(5, &st, "client").await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Restart all of the role, unarmed (a second armed replica would crash later).
    for p in c.procs.iter_mut().filter(|p| p.role == role) {
        p.kill9();
    }
    c.revive(role);
    acknowledged.extend(c.request_orders(5, &st, "client").await);
    assert_flow_complete(&mut c, &acknowledged).await;
}

pub async fn crash_before_publish(mode: Mode) {
    crash_at(mode, "ordering", "relay.before_publish", 3).await;
}

pub async fn crash_after_publish(mode: Mode) {
    crash_at(mode, "ordering", "relay.after_publish", 3).await;
}

pub async fn crash_after_effect(mode: Mode) {
    crash_at(mode, "matching", "consumer.after_effect", 3).await;
}

/// A consumer applied some events of a batch under their savepoints and dies before the
/// batch's commit: none of them is kept, all are delivered again and applied once.
pub async fn crash_in_batch(mode: Mode) {
    crash_at(mode, "matching", "consumer.in_batch", 3).await;
}

/// kill -9 of a process in the middle of the flow, then a restart on the same data.
pub async fn kill_mid_flow(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let st = c.service_type().await;
    c.register_worker("Tom", 80).await;
    c.register_worker("Felix", 50).await;
    let token = c.token_for("client", "client").await;
    c.admin_token().await;
    let apis = c.apis("ordering");
    let http = c.http.clone();
    // Orders flow in while the process dies.
    let driver = {
        let st = st.clone();
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..60 {
                let url = format!("{}/orders", apis[i % apis.len()]);
                let body = serde_json::json!({
                    "service_type_id": st,
                    "description": format!("job {i}"), "scheduled_at": crate::harness::future(i),
                });
                if let Ok(r) = http.post(url).bearer_auth(&token).json(&body).send().await
                    && r.status().as_u16() == 201
                    && let Ok(v) = r.json::<serde_json::Value>().await
                {
                    ok.push(v["id"].as_str().unwrap().to_owned());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ok
        })
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    let victim = if mode == Mode::Embedded {
        "embedded"
    } else {
        "matching"
    };
    for p in c.procs.iter_mut().filter(|p| p.role == victim) {
        p.kill9();
    }
    let mut acknowledged = driver.await.unwrap();
    c.revive(victim);
    acknowledged.extend(c.request_orders(5, &st, "client").await);
    assert_flow_complete(&mut c, &acknowledged).await;
}

/// NATS dies mid-flow and comes back on the same store: relays and consumers recover.
pub async fn nats_killed_and_restarted() {
    let mut c = Cluster::start(Mode::Distributed).await;
    let st = c.service_type().await;
    c.register_worker("Tom", 80).await;
    c.token_for("client", "client").await;
    c.admin_token().await;
    let mut acknowledged = c.request_orders(10, &st, "client").await;
    c.nats.as_mut().unwrap().kill();
    // Orders are still accepted: the outbox holds their events until NATS is back.
    acknowledged.extend(c.request_orders(10, &st, "client").await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.nats.as_mut().unwrap().restart().unwrap();
    acknowledged.extend(c.request_orders(10, &st, "client").await);
    assert_eq!(acknowledged.len(), 30);
    assert_flow_complete(&mut c, &acknowledged).await;
}
