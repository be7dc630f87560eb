//! Ordering's routes in-process (`service::testing`): validation and refusals, the
//! idempotent request, the no-show deadline, written given / when / then. Every answer is
//! also checked against Ordering's OpenAPI document by the kit.

use auth::Role;
use chrono::{DateTime, Duration, Utc};
use client::ClientError;
use contracts::{AccountId, Money, OrderId, ServiceTypeId};
use serde_json::{Value, json};
use service::Clock;
use service::testing::{ADMIN_ID, TestService};

use crate::client::{CancelRequest, CheckInRequest, OrderListQuery, OrderingClient, RebookRequest};
use crate::domain::order::{Order, OrderRequest};
use crate::domain::service_type::{NewServiceType, ServiceType, ServiceTypeEdit};

/// Ordering with a business clock an admin may move.
async fn ordering() -> TestService {
    TestService::builder(&crate::SPEC)
        .clock(Clock::adjustable())
        .start()
        .await
}

fn as_(ts: &TestService, who: AccountId, role: Role) -> OrderingClient {
    OrderingClient(ts.client_as(who, &[role]))
}

fn admin(ts: &TestService) -> OrderingClient {
    OrderingClient(ts.client_as(ADMIN_ID, &[Role::Admin]))
}

async fn cleaning(ts: &TestService) -> ServiceType {
    let new = NewServiceType {
        name: "Cleaning".into(),
        description: String::new(),
        skill: None,
        price: Money::from_minor(100),
        duration_minutes: 60,
    };
    admin(ts).add_service_type(&new, None).await.unwrap()
}

fn request(service_type: ServiceTypeId, at: DateTime<Utc>) -> OrderRequest {
    OrderRequest {
        service_type_id: service_type,
        description: "dishes".into(),
        scheduled_at: at,
    }
}

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

#[tokio::test]
async fn bad_order_requests_are_refused_naming_the_field_and_change_nothing() {
    // Given a catalog of one type and a client
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let raw = ts.client_as(AccountId::new(), &[Role::Client]);
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    let cases = [
        (
            json!({"service_type_id": st, "description": "x",
                "scheduled_at": "2001-01-01T00:00:00Z"}),
            "scheduled_at",
        ),
        (
            json!({"service_type_id": st, "scheduled_at": future}),
            "description",
        ),
        (
            json!({"service_type_id": ServiceTypeId::new(), "description": "x",
                "scheduled_at": future}),
            "service_type_id",
        ),
        (
            json!({"service_type_id": "not-a-uuid", "description": "x",
                "scheduled_at": future}),
            "service_type_id",
        ),
        (
            json!({"service_type_id": st, "description": "x", "scheduled_at": "tomorrow"}),
            "scheduled_at",
        ),
    ];
    for (body, field) in cases {
        // When it is requested
        let e = raw.post::<_, Value>("/orders", &body).await.unwrap_err();
        // Then it is a 422 naming the field, in its detail too
        assert_eq!(refusal(&e).0, 422, "{e}");
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.problem().unwrap().detail.contains(field), "{e}");
    }
    // And nothing was written
    assert!(admin(&ts).counts().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_retried_order_request_gets_the_first_order_and_a_reused_key_is_refused() {
    // Given a client
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let client = as_(&ts, AccountId::new(), Role::Client);
    let req = request(st, Utc::now() + Duration::days(3));
    // When it sends the same keyed request twice
    let first = client.request_reply(&req, Some("order-42")).await.unwrap();
    let again = client.request_reply(&req, Some("order-42")).await.unwrap();
    // Then the first is created (201) and the retry answers it again (200), both located
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 200));
    let (first_order, again_order) = (
        first.json::<Order>().unwrap(),
        again.json::<Order>().unwrap(),
    );
    assert_eq!(first_order.id, again_order.id);
    let location = format!("orders/{}", first_order.id);
    assert_eq!(first.location(), Some(location.as_str()));
    assert_eq!(again.location(), Some(location.as_str()));
    // When the key comes with another request
    let other = OrderRequest {
        description: "something else".into(),
        ..req.clone()
    };
    let e = client.request(&other, Some("order-42")).await.unwrap_err();
    // Then it is refused, and one order exists, announced once
    assert_eq!(
        refusal(&e),
        (422, Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    let counts = admin(&ts).counts().await.unwrap();
    assert_eq!(counts.values().sum::<i64>(), 1);
    let stats = ts.ops().messaging().await.unwrap();
    assert_eq!(
        serde_json::to_value(&stats).unwrap()["outbox_by_type"]["ordering.order.requested"],
        1
    );
    // And another client's same key is its own
    let someone = as_(&ts, AccountId::new(), Role::Client);
    let theirs = someone.request_reply(&req, Some("order-42")).await.unwrap();
    assert_eq!(theirs.status.as_u16(), 201);
}

#[tokio::test]
async fn the_catalog_refuses_bad_and_duplicate_types_and_keeps_old_orders_as_they_were() {
    // Given a type and an order of it
    let ts = ordering().await;
    let st = cleaning(&ts).await;
    let staff = admin(&ts);
    let client = as_(&ts, AccountId::new(), Role::Client);
    let order = client
        .request(&request(st.id, Utc::now() + Duration::days(1)), None)
        .await
        .unwrap();
    // When a nameless type is added, or one of a taken name
    let nameless = NewServiceType {
        name: String::new(),
        description: String::new(),
        skill: None,
        price: Money::from_minor(1),
        duration_minutes: 5,
    };
    let e = staff.add_service_type(&nameless, None).await.unwrap_err();
    assert_eq!(refusal(&e), (422, Some("validation_failed"), Some("name")));
    let twin = NewServiceType {
        name: "Cleaning".into(),
        price: Money::from_minor(5),
        ..nameless
    };
    let e = staff.add_service_type(&twin, None).await.unwrap_err();
    assert_eq!(refusal(&e).1, Some("duplicate_service_type"));
    assert_eq!(refusal(&e).0, 409);
    // When the type is edited badly, then well, then retired
    let bad = ServiceTypeEdit {
        duration_minutes: Some(0),
        ..Default::default()
    };
    let e = staff.edit_service_type(st.id, &bad).await.unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("duration_minutes"))
    );
    let dearer = ServiceTypeEdit {
        price: Some(Money::from_minor(150)),
        ..Default::default()
    };
    assert_eq!(
        staff.edit_service_type(st.id, &dearer).await.unwrap().price,
        Money::from_minor(150)
    );
    assert!(staff.retire_service_type(st.id).await.unwrap().retired);
    // Then it cannot be ordered, clients no longer see it, and the old order is unchanged
    let e = client
        .request(&request(st.id, Utc::now() + Duration::days(1)), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).2, Some("service_type_id"));
    assert!(client.service_types(true).await.unwrap().is_empty());
    assert_eq!(staff.service_types(true).await.unwrap().len(), 1);
    let old = client.order(order.id).await.unwrap();
    assert_eq!(old.order.approximate_price, Money::from_minor(100));
    // And an unknown or malformed type id is not found
    let e = staff
        .retire_service_type(ServiceTypeId::new())
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 404);
    let e = staff
        .0
        .post::<_, Value>("/service-types/nope/retire", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 404);
}

#[tokio::test]
async fn orders_are_seen_by_their_parties_only() {
    // Given an order of one client
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let ann = AccountId::new();
    let client = as_(&ts, ann, Role::Client);
    let order = client
        .request(&request(st, Utc::now() + Duration::days(1)), None)
        .await
        .unwrap();
    // Then another client neither reads it nor lists someone else's orders
    let other = as_(&ts, AccountId::new(), Role::Client);
    assert_eq!(refusal(&other.order(order.id).await.unwrap_err()).0, 404);
    let theirs = OrderListQuery {
        client_id: Some(ann.to_string()),
        ..Default::default()
    };
    let e = other.orders(&theirs).await.unwrap_err();
    assert_eq!(refusal(&e), (403, Some("forbidden"), None));
    // And staff do; a bad status or limit is named; a malformed or unknown id is not found
    assert_eq!(admin(&ts).orders(&theirs).await.unwrap().len(), 1);
    let lost = OrderListQuery {
        status: Some("lost".into()),
        ..Default::default()
    };
    assert_eq!(
        refusal(&client.orders(&lost).await.unwrap_err()).2,
        Some("status")
    );
    let huge = OrderListQuery {
        limit: Some(5000),
        ..Default::default()
    };
    assert_eq!(
        refusal(&client.orders(&huge).await.unwrap_err()).2,
        Some("limit")
    );
    let e = client
        .0
        .get::<Value>("/orders/not-an-id")
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, 404);
    assert_eq!(
        refusal(&admin(&ts).order(OrderId::new()).await.unwrap_err()).0,
        404
    );
}

#[tokio::test]
async fn an_order_is_canceled_once_and_a_worker_cannot_check_in_to_it() {
    // Given a requested order
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let client = as_(&ts, AccountId::new(), Role::Client);
    let order = client
        .request(&request(st, Utc::now() + Duration::days(2)), None)
        .await
        .unwrap();
    // When a worker who is not its worker checks in, with a photo that is none
    let worker = as_(&ts, AccountId::new(), Role::Worker);
    let not_a_photo = CheckInRequest {
        photo: "bm90IGFuIGltYWdl".into(),
    };
    let e = worker.check_in(order.id, &not_a_photo).await.unwrap_err();
    // Then the photo is named first
    assert_eq!(refusal(&e), (422, Some("validation_failed"), Some("photo")));
    // When the client cancels it (a body without a reason is fine, so is none)
    let canceled = client
        .cancel(order.id, &CancelRequest::default())
        .await
        .unwrap();
    assert_eq!(canceled.status.as_str(), "canceled");
    // Then a second cancel is refused
    let e = client
        .0
        .request(
            client::Method::POST,
            &format!("/orders/{}/cancel", order.id),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (409, Some("not_cancelable"), None));
}

#[tokio::test]
async fn past_its_deadline_an_open_order_fails_once_and_the_clock_never_goes_back() {
    // Given an order in an hour
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let ops = admin(&ts);
    let now = ops.clock().await.unwrap().now;
    let client = as_(&ts, AccountId::new(), Role::Client);
    let order = client
        .request(&request(st, now + Duration::hours(1)), None)
        .await
        .unwrap();
    // When business time passes the scheduled time and the grace
    let clock = ops.advance_clock(91 * 60).await.unwrap();
    assert!(clock.adjustable && clock.offset_seconds >= 91 * 60);
    // Then the order, never matched, failed once
    let failed = client.order(order.id).await.unwrap();
    assert_eq!(failed.order.reason.as_deref(), Some("not_matched"));
    let steps: Vec<&str> = failed.history.iter().map(|h| h.status.as_str()).collect();
    assert_eq!(steps, ["requested", "failed"]);
    ops.advance_clock(60).await.unwrap();
    assert_eq!(ops.counts().await.unwrap()["failed"], 1);
    // When its client rebooks it, twice
    let rebook = RebookRequest {
        scheduled_at: now + Duration::days(2),
    };
    let first = client.rebook_reply(order.id, &rebook).await.unwrap();
    let again = client.rebook_reply(order.id, &rebook).await.unwrap();
    // Then one copy is made (201) and the second answer is that copy (200)
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 200));
    let copy: Order = first.json().unwrap();
    assert_eq!(copy.rebook_of, Some(order.id));
    assert_eq!(again.json::<Order>().unwrap().id, copy.id);
    // And the clock cannot go back
    let e = ops.advance_clock(-5).await.unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("seconds"))
    );
}

#[tokio::test]
async fn a_fixed_clock_refuses_to_move() {
    // Given the system clock
    let ts = TestService::start(&crate::SPEC, json!({})).await;
    // When an admin moves it
    let e = admin(&ts).advance_clock(60).await.unwrap_err();
    // Then it is refused
    assert_eq!(refusal(&e), (409, Some("clock_fixed"), None));
}

#[tokio::test]
async fn a_retried_service_type_is_added_once() {
    // Given a manager and a new type
    let ts = ordering().await;
    let manager = as_(&ts, AccountId::new(), Role::Manager);
    let mut new = NewServiceType {
        name: "Windows".into(),
        description: String::new(),
        skill: None,
        price: Money::from_minor(80),
        duration_minutes: 30,
    };
    // When it is added twice with one key
    let first = manager.add_service_type(&new, Some("st-1")).await.unwrap();
    let again = manager.add_service_type(&new, Some("st-1")).await.unwrap();
    // Then the retry answers the first, and the key on another type is refused
    assert_eq!(first, again);
    new.price = Money::from_minor(90);
    let e = manager
        .add_service_type(&new, Some("st-1"))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    assert_eq!(manager.service_types(true).await.unwrap().len(), 1);
}

/// A one-pixel PNG, base64: what a check-in photo must be.
const PHOTO: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";

/// Hands `event` to a consumer made as `build` makes it, as the bus would.
async fn deliver(
    ts: &TestService,
    name: &str,
    handler: std::sync::Arc<dyn messaging::Handler>,
    event: &contracts::Envelope,
) {
    let consumer = ts.ctx().consumer(name, handler);
    service::testing::deliver(&consumer, event).await;
}

/// Matching's assignment of `worker` to `order`: the order becomes active.
async fn assign(ts: &TestService, order: OrderId, worker: contracts::WorkerId) {
    let assigned = contracts::matching::WorkerAssigned {
        order_id: order,
        worker_id: worker,
        price: Money::from_minor(100),
        fallback: false,
        candidates: 1,
        explanation: vec![],
    };
    let handler = std::sync::Arc::new(crate::events::OnWorkerAssigned {
        clock: ts.ctx().clock.clone(),
    });
    let event = contracts::Envelope::new(&assigned, 1, None);
    deliver(ts, crate::events::ON_ASSIGNMENT, handler, &event).await;
}

/// Inventory's announcement that the kit of `order` was issued.
async fn kit_issued(ts: &TestService, order: OrderId) {
    let issued = contracts::inventory::KitIssued {
        kit_id: contracts::KitId::new(),
        order_id: order,
        issued_by: AccountId::new(),
        issued_at: ts.ctx().clock.now(),
        items: vec![],
    };
    let event = contracts::Envelope::new(&issued, 2, None);
    let handler = std::sync::Arc::new(crate::events::OnKitIssued);
    deliver(ts, crate::events::ON_KIT_ISSUED, handler.clone(), &event).await;
    // Heard twice, it is remembered once
    let mut again = event.clone();
    again.id = uuid::Uuid::now_v7();
    deliver(ts, crate::events::ON_KIT_ISSUED, handler, &again).await;
}

/// The `data` of the events of `event_type` in Ordering's outbox, oldest first.
async fn published(ts: &TestService, event_type: &str) -> Vec<Value> {
    let events = ts.published(event_type).await;
    events.into_iter().map(|e| e["data"].clone()).collect()
}

#[tokio::test]
async fn a_worker_checks_in_only_once_his_kit_was_issued() {
    // Given an active order in 20 minutes (check-in is open), assigned to Tom
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let now = admin(&ts).clock().await.unwrap().now;
    let client = as_(&ts, AccountId::new(), Role::Client);
    let order = client
        .request(&request(st, now + Duration::minutes(20)), None)
        .await
        .unwrap();
    let tom = contracts::WorkerId::new();
    assign(&ts, order.id, tom).await;
    let tom_client = as_(&ts, tom.into(), Role::Worker);
    let photo = CheckInRequest {
        photo: PHOTO.into(),
    };

    // When Tom checks in before Inventory issued the kit
    let e = tom_client.check_in(order.id, &photo).await.unwrap_err();

    // Then he is refused, naming the kit, and the order stays active
    assert_eq!(refusal(&e), (409, Some("kit_not_issued"), None));
    assert_eq!(
        client.order(order.id).await.unwrap().order.status.as_str(),
        "active"
    );

    assert!(!client.order(order.id).await.unwrap().kit_issued);
    // When the kit is issued, then the order says so and he checks in
    kit_issued(&ts, order.id).await;
    assert!(tom_client.order(order.id).await.unwrap().kit_issued);
    let started = tom_client.check_in(order.id, &photo).await.unwrap();
    assert_eq!(started.status.as_str(), "in_progress");
}

#[tokio::test]
async fn an_order_whose_kit_was_not_issued_by_its_start_fails_without_blaming_the_worker() {
    // Given two active orders in an hour, one whose kit was issued and one whose was not
    let ts = ordering().await;
    let st = cleaning(&ts).await.id;
    let ops = admin(&ts);
    let now = ops.clock().await.unwrap().now;
    let client = as_(&ts, AccountId::new(), Role::Client);
    let without = client
        .request(&request(st, now + Duration::hours(1)), None)
        .await
        .unwrap();
    let with = client
        .request(&request(st, now + Duration::hours(1)), None)
        .await
        .unwrap();
    let tom = contracts::WorkerId::new();
    assign(&ts, without.id, tom).await;
    assign(&ts, with.id, contracts::WorkerId::new()).await;
    kit_issued(&ts, with.id).await;

    // When business time is a minute short of the scheduled time, nothing fails yet
    ops.advance_clock(59 * 60).await.unwrap();
    assert_eq!(
        client
            .order(without.id)
            .await
            .unwrap()
            .order
            .status
            .as_str(),
        "active"
    );

    // When it passes it
    ops.advance_clock(2 * 60).await.unwrap();

    // Then the order without its kit failed, for the kit, with the worker not at fault,
    // and the one with its kit still waits for its worker
    let failed = client.order(without.id).await.unwrap().order;
    assert_eq!(
        (failed.status.as_str(), failed.reason.as_deref()),
        ("failed", Some("kit_not_ready"))
    );
    assert_eq!(
        client.order(with.id).await.unwrap().order.status.as_str(),
        "active"
    );
    let events = published(&ts, "ordering.order.failed").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["order_id"], without.id.to_string());
    assert_eq!(events[0]["reason"], "kit_not_ready");
    assert_eq!(events[0]["worker_at_fault"], false);
    // And the rebooked copy may go to Tom again: he did nothing wrong
    let copy = client
        .rebook(
            without.id,
            &RebookRequest {
                scheduled_at: now + Duration::days(2),
            },
        )
        .await
        .unwrap();
    assert!(
        copy.excluded_workers.is_empty(),
        "{:?}",
        copy.excluded_workers
    );

    // When the grace passes too, the order with its kit fails as a no-show: his fault
    ops.advance_clock(31 * 60).await.unwrap();
    let events = published(&ts, "ordering.order.failed").await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (&events[1]["reason"], &events[1]["worker_at_fault"]),
        (&json!("no_show"), &json!(true))
    );
}
