//! Fortune cookies against the sandbox contractor, a real HTTP server on a free port: the
//! cookie job orders, the contractor calls back (signed) into Inventory served on a real
//! port too, or the job asks. The fault matrix: whatever the contractor does wrong, each
//! kit gets exactly one cookie baked and ends ready or visibly failed.

use std::time::Duration;

use auth::Role;
use contracts::{KitId, ServiceTypeId};
use sandbox_cookies::{Faults, Sandbox, Settings};
use service::testing::TestService;

use super::{activation, as_role, deliver, inventory, on_activated, refusal, supply};
use crate::app::KitView;
use crate::contractor::BreakerState;
use crate::domain::{CookieStatus, KitState};

const SECRET: &str = "a-test-secret-of-the-contractor";

/// The contractor (delivering after `delay`, with `faults`) and Inventory with its tasks,
/// served on a port the contractor calls back to.
struct World {
    ts: TestService,
    sandbox: Sandbox,
    _contractor: tokio::task::JoinHandle<()>,
    _inventory: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self._contractor.abort();
        self._inventory.abort();
    }
}

async fn world(delay_ms: u64, faults: Faults, section: serde_json::Value) -> World {
    let sandbox = Sandbox::new(Settings {
        delay: Duration::from_millis(delay_ms),
        secret: SECRET.into(),
        faults,
    });
    let (contractor_addr, contractor) = sandbox.clone().start("127.0.0.1:0").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inventory_addr = listener.local_addr().unwrap();
    let mut config = serde_json::json!({
        "contractor_url": format!("http://{contractor_addr}"),
        "contractor_secret": SECRET,
        "callback_url": format!("http://{inventory_addr}/api/inventory/cookies/callback"),
        // Per attempt; generous: a loaded CI machine (the slow fault answers far later).
        "contractor_timeout_ms": 2000,
        "contractor_attempts": 4,
        "contractor_backoff_ms": 20,
        "cookie_check_after_ms": 60_000,
        "cookie_check_every_ms": 200,
        "cookie_job_every_ms": 50,
    });
    for (k, v) in section.as_object().unwrap() {
        config[k] = v.clone();
    }
    let ts = TestService::builder(&crate::SPEC)
        .section(config)
        .with_tasks()
        .start()
        .await;
    let router = ts.router();
    let inventory = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    World {
        ts,
        sandbox,
        _contractor: contractor,
        _inventory: inventory,
    }
}

/// A new kit (an order of a service type without a bill): its id.
async fn new_kit(ts: &TestService) -> KitId {
    let event = activation(ts, ServiceTypeId::new());
    deliver(&on_activated(ts), &event).await;
    let order = event.aggregate_id.clone();
    supply(ts)
        .kits(None)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kit.order_id.to_string() == order)
        .unwrap()
        .kit
        .id
}

/// The contractor calls back that kit `id`'s cookie was delivered (signed with the
/// default secret), as it does about 10 minutes after the order.
pub(super) async fn cookie_arrives(ts: &TestService, id: KitId) {
    let body = serde_json::json!({"cookie_id": format!("cookie-of-{id}"), "key": id.to_string(),
        "state": "delivered"});
    let body = serde_json::to_vec(&body).unwrap();
    let signature = sandbox_cookies::sign("sandbox-cookie-secret", &body);
    crate::client::InventoryClient(ts.client())
        .cookie_callback(&body, Some(&signature))
        .await
        .unwrap();
}

/// The kit once `done` says so (within 20 s).
async fn kit_when(ts: &TestService, id: KitId, done: impl Fn(&KitView) -> bool) -> KitView {
    let start = std::time::Instant::now();
    loop {
        let kit = supply(ts).kit(id).await.unwrap();
        if done(&kit) {
            return kit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "kit never got there: {kit:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn status(kit: &KitView) -> CookieStatus {
    kit.kit.cookie.status
}

/// How many cookies the contractor baked for `kit`.
fn baked_for(sandbox: &Sandbox, kit: KitId) -> usize {
    sandbox
        .baked()
        .iter()
        .filter(|c| c.key == kit.to_string())
        .count()
}

#[tokio::test]
async fn the_cookie_arrives_after_its_delay_and_then_the_kit_is_ready_and_issued() {
    // Given a contractor delivering after 3 s (generous: the wait is observed on a loaded
    // CI machine)
    let w = world(3000, Faults::default(), serde_json::json!({})).await;
    // When an order becomes active
    let kit = new_kit(&w.ts).await;
    // Then its kit waits for its cookie, which is ordered with the client's details
    let ordered = kit_when(&w.ts, kit, |k| status(k) != CookieStatus::ToOrder).await;
    assert_eq!(
        ordered.kit.state,
        KitState::WaitingForCookie,
        "{ordered:#?}"
    );
    let refused = supply(&w.ts).issue(kit).await.unwrap_err();
    assert_eq!(refusal(&refused), (409, Some("cookie_not_arrived"), None));
    let baked = w.sandbox.baked();
    assert_eq!(baked.len(), 1);
    assert_eq!(baked[0].client_name, "Kim Client");
    assert_eq!(baked[0].order_id, ordered.kit.order_id.to_string());
    // And once the contractor calls back, the kit is ready and can be issued
    let ready = kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Arrived).await;
    assert_eq!(ready.kit.state, KitState::Ready);
    assert_eq!(
        ready.kit.cookie.contractor_id.as_deref(),
        Some(baked[0].cookie_id.as_str())
    );
    assert_eq!(
        supply(&w.ts)
            .kits(Some(KitState::Ready))
            .await
            .unwrap()
            .len(),
        1
    );
    let issued = supply(&w.ts).issue(kit).await.unwrap();
    assert_eq!(issued.kit.state, KitState::Issued);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}

/// The fault matrix: one case per fault; each ends with exactly one cookie baked for the
/// kit (none for a refusal) and the kit ready, or failed with its reason shown.
async fn fault_case(faults: Faults, section: serde_json::Value) -> (World, KitId, KitView) {
    let w = world(300, faults, section).await;
    let kit = new_kit(&w.ts).await;
    let end = kit_when(&w.ts, kit, |k| {
        matches!(status(k), CookieStatus::Arrived | CookieStatus::Failed)
    })
    .await;
    (w, kit, end)
}

/// A fault the contractor recovers from: the kit ends ready with exactly one cookie baked.
async fn fault_ends_ready_baked_once(faults: Faults, section: serde_json::Value) {
    let (w, kit, end) = fault_case(faults, section).await;
    assert_eq!(end.kit.state, KitState::Ready, "{end:#?}");
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}

/// Waits (within `within`) until the contractor has had `count` callbacks about its first
/// cookie acknowledged; `what` names the callback that never came.
async fn callbacks_acknowledged(sandbox: &Sandbox, count: u32, within: Duration, what: &str) {
    let start = std::time::Instant::now();
    while sandbox.baked()[0].callbacks_acknowledged < count {
        assert!(start.elapsed() < within, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fault_slow_answers_time_out_and_the_retry_gets_the_same_cookie() {
    // The first answer comes after 5 s; each attempt may take 2 s
    let faults = Faults {
        slow_ms: 5000,
        times: Some(1),
        ..Faults::default()
    };
    fault_ends_ready_baked_once(faults, serde_json::json!({})).await;
}

#[tokio::test]
async fn fault_500_after_the_work_is_retried_with_the_same_key_and_bakes_once() {
    let faults = Faults {
        error_after_work: true,
        times: Some(2),
        ..Faults::default()
    };
    fault_ends_ready_baked_once(faults, serde_json::json!({})).await;
}

#[tokio::test]
async fn fault_connection_reset_is_retried_and_bakes_once() {
    let faults = Faults {
        reset: true,
        times: Some(2),
        ..Faults::default()
    };
    fault_ends_ready_baked_once(faults, serde_json::json!({})).await;
}

#[tokio::test]
async fn fault_500_on_every_attempt_fails_the_order_visibly_and_the_cookie_still_counts() {
    // Given a contractor that bakes but answers 500 every time
    let faults = Faults {
        error_after_work: true,
        ..Faults::default()
    };
    // Delivered 5 s after baking: the failure stays visible meanwhile (a loaded CI machine)
    let w = world(5000, faults, serde_json::json!({"contractor_attempts": 3})).await;
    let kit = new_kit(&w.ts).await;
    // Then the order fails, saying why, after 3 attempts with one cookie baked
    let failed = kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Failed).await;
    let why = failed.kit.cookie.failure.clone().unwrap();
    assert!(
        why.contains("after 3 attempts") && why.contains("500"),
        "{why}"
    );
    assert_eq!(failed.kit.state, KitState::WaitingForCookie);
    let refused = supply(&w.ts).issue(kit).await.unwrap_err();
    assert_eq!(refusal(&refused), (409, Some("cookie_not_arrived"), None));
    assert!(
        refused.problem().unwrap().detail.contains("order failed"),
        "{refused:?}"
    );
    // And when the baked cookie is delivered and called back, the kit is ready anyway
    let ready = kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Arrived).await;
    assert_eq!(ready.kit.state, KitState::Ready);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}

#[tokio::test]
async fn fault_refusal_fails_the_kit_and_staff_order_it_again() {
    // Given a contractor refusing
    let faults = Faults {
        refuse: true,
        ..Faults::default()
    };
    let (w, kit, end) = fault_case(faults, serde_json::json!({})).await;
    // Then the kit's cookie failed with the contractor's words, nothing baked
    assert_eq!(status(&end), CookieStatus::Failed);
    let why = end.kit.cookie.failure.clone().unwrap();
    assert!(why.contains("cannot bake for this client"), "{why}");
    assert_eq!(baked_for(&w.sandbox, kit), 0);
    // When the contractor bakes again and staff re-order
    w.sandbox.set_faults(Faults::default());
    let again = supply(&w.ts).reorder_cookie(kit).await.unwrap();
    assert_eq!(
        (status(&again), again.kit.cookie.orders),
        (CookieStatus::ToOrder, 2)
    );
    // Then it arrives, one cookie baked
    let ready = kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Arrived).await;
    assert_eq!(ready.kit.state, KitState::Ready);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
    // And re-ordering an arrived cookie is refused
    let refused = supply(&w.ts).reorder_cookie(kit).await.unwrap_err();
    assert_eq!(refusal(&refused), (409, Some("cookie_not_failed"), None));
}

#[tokio::test]
async fn fault_duplicate_callbacks_arrive_once() {
    let faults = Faults {
        duplicate_callbacks: true,
        ..Faults::default()
    };
    let (w, kit, end) = fault_case(faults, serde_json::json!({})).await;
    assert_eq!(end.kit.state, KitState::Ready, "{end:#?}");
    // Both callbacks were answered; the second changed nothing
    callbacks_acknowledged(&w.sandbox, 2, Duration::from_secs(10), "no second callback").await;
    let after = supply(&w.ts).kit(kit).await.unwrap();
    assert_eq!(after.kit.cookie.arrived_at, end.kit.cookie.arrived_at);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}

#[tokio::test]
async fn fault_late_callback_the_cookie_is_found_by_asking_and_the_callback_changes_nothing() {
    // Given callbacks 3 s late, and Inventory asking 500 ms after ordering
    let faults = Faults {
        late_callback_ms: 3000,
        ..Faults::default()
    };
    let (w, kit, end) = fault_case(faults, serde_json::json!({"cookie_check_after_ms": 500})).await;
    // Then the cookie arrived before its callback came
    assert_eq!(end.kit.state, KitState::Ready, "{end:#?}");
    assert_eq!(w.sandbox.baked()[0].callbacks_acknowledged, 0);
    // And when the late callback comes, it changes nothing
    callbacks_acknowledged(&w.sandbox, 1, Duration::from_secs(15), "no late callback").await;
    let after = supply(&w.ts).kit(kit).await.unwrap();
    assert_eq!(after.kit.cookie, end.kit.cookie);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}

#[tokio::test]
async fn fault_lost_callbacks_the_cookie_is_found_by_asking() {
    let faults = Faults {
        lost_callbacks: true,
        ..Faults::default()
    };
    fault_ends_ready_baked_once(faults, serde_json::json!({"cookie_check_after_ms": 200})).await;
}

#[tokio::test]
async fn a_contractor_that_is_down_opens_the_breaker_and_kits_wait_to_be_ordered() {
    // Given a contractor address nobody listens on (the discard port), a breaker opening
    // after 2 failures
    let nowhere = "http://127.0.0.1:9";
    let w = world(
        100,
        Faults::default(),
        serde_json::json!({
            "contractor_url": nowhere,
            "contractor_attempts": 2,
            "contractor_breaker_failures": 2,
            "contractor_breaker_cool_down_ms": 600_000,
        }),
    )
    .await;
    // When two kits are assembled
    let first = new_kit(&w.ts).await;
    let failed = kit_when(&w.ts, first, |k| status(k) == CookieStatus::Failed).await;
    let second = new_kit(&w.ts).await;
    // Then the first failed, saying the contractor cannot be reached
    let why = failed.kit.cookie.failure.clone().unwrap();
    assert!(why.contains("cannot connect"), "{why}");
    // And the breaker is open, so the second waits, not failed, to be ordered later
    let admin = as_role(&w.ts, Role::Admin);
    let line = admin.contractor().await.unwrap();
    assert_eq!(line.breaker.state, BreakerState::Open, "{line:?}");
    assert!(line.breaker.retry_in_ms.unwrap() > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = supply(&w.ts).kit(second).await.unwrap();
    assert_eq!(status(&waiting), CookieStatus::ToOrder);
    // And only admins see the line
    let e = supply(&w.ts).contractor().await.unwrap_err();
    assert_eq!(refusal(&e).0, 403);
}

#[tokio::test]
async fn a_callback_without_the_contractors_signature_is_refused_and_changes_nothing() {
    // Given a kit waiting for its cookie (no contractor running: nothing is ordered)
    let ts = inventory().await;
    let kit = new_kit(&ts).await;
    let body =
        serde_json::json!({"cookie_id": "c-1", "key": kit.to_string(), "state": "delivered"});
    let body = serde_json::to_vec(&body).unwrap();
    let anyone = crate::client::InventoryClient(ts.client());
    // When it is posted unsigned, or signed with another secret
    let unsigned = anyone.cookie_callback(&body, None).await.unwrap_err();
    let forged = sandbox_cookies::sign("not-the-secret-at-all", &body);
    let forged = anyone
        .cookie_callback(&body, Some(&forged))
        .await
        .unwrap_err();
    // Then both are refused 401 and the cookie has not arrived
    assert_eq!(refusal(&unsigned), (401, Some("invalid_signature"), None));
    assert_eq!(refusal(&forged), (401, Some("invalid_signature"), None));
    let kit_now = supply(&ts).kit(kit).await.unwrap();
    assert_eq!(status(&kit_now), CookieStatus::ToOrder);
    // When it is signed with the shared secret (the default), then the cookie arrived
    let signed = sandbox_cookies::sign("sandbox-cookie-secret", &body);
    anyone.cookie_callback(&body, Some(&signed)).await.unwrap();
    let kit_now = supply(&ts).kit(kit).await.unwrap();
    assert_eq!(
        (status(&kit_now), kit_now.kit.state),
        (CookieStatus::Arrived, KitState::Ready)
    );
    // And a body missing a field is refused naming it, signed or not
    let e = anyone.cookie_callback(b"{}", None).await.unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("cookie_id"))
    );
    // And a signed callback naming no kit is refused naming the field
    let bad = br#"{"cookie_id": "c-1", "key": "nope", "state": "delivered"}"#;
    let e = anyone
        .cookie_callback(
            bad,
            Some(&sandbox_cookies::sign("sandbox-cookie-secret", bad)),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (422, Some("validation_failed"), Some("key")));
}

#[tokio::test]
async fn a_canceled_kits_cookie_is_called_off_at_the_contractor_and_never_comes() {
    // Given a kit whose cookie the contractor took (delivery in 5 s: generous, so the call
    // off comes first on a loaded CI machine)
    let w = world(5000, Faults::default(), serde_json::json!({})).await;
    let kit = new_kit(&w.ts).await;
    kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Ordered).await;
    // When the kit's cancel calls its cookie off (in the cancel's unit of work)
    let mut work = w.ts.ctx().begin().await.unwrap();
    let loaded = crate::store::kit(&mut work, kit).await.unwrap().unwrap();
    crate::app::cookies::call_off_cookie(&mut work, &loaded)
        .await
        .unwrap();
    work.commit().await.unwrap();
    // Then the job calls it off: canceled here and at the contractor, never delivered
    kit_when(&w.ts, kit, |k| status(k) == CookieStatus::Canceled).await;
    assert_eq!(
        w.sandbox.baked()[0].state,
        sandbox_cookies::CookieState::Canceled
    );
    // Past the time it would have been delivered
    tokio::time::sleep(Duration::from_millis(5500)).await;
    assert_eq!(
        status(&supply(&w.ts).kit(kit).await.unwrap()),
        CookieStatus::Canceled
    );
    assert_eq!(w.sandbox.baked()[0].callbacks_acknowledged, 0);
    assert_eq!(baked_for(&w.sandbox, kit), 1);
}
