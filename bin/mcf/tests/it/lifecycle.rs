//! An order's whole life over HTTP: requested -> active -> in progress (check-in with a
//! photo, inside its window, once the supply kit was issued) -> completed (the signed
//! report's photo); and the other roads: nobody checks in, the order fails once, the client
//! is mailed the offer, rebooks, and a different worker gets the copy; the kit is not
//! issued by the scheduled time, and the order fails without blaming the worker. Business time is moved with the admin's clock
//! route (`clock.adjustable` is on for these systems only).

use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::{OrderId, ServiceTypeId};
use ordering::client::{
    CancelRequest, CheckInRequest, CompleteRequest, JobsQuery, OrderListQuery, OrderingClient,
    PhotoKind, RebookRequest,
};
use ordering::domain::order::OrderRequest;
use ordering::domain::service_type::ServiceTypeEdit;
use serde_json::{Value, json};

use crate::harness::{Cluster, Mode, account_id};
use crate::hiring::{PHOTO, mailed_link};

/// A system whose business clock an admin may move.
pub(crate) async fn start(mode: Mode) -> Cluster {
    Cluster::start_with(
        mode,
        vec![("MCF_CLOCK__ADJUSTABLE".into(), "true".into())],
        None,
    )
    .await
}

/// Ordering as the holder of `token`.
pub(crate) fn ordering(c: &mut Cluster, token: &str) -> OrderingClient {
    OrderingClient(c.client("ordering", token))
}

/// Ordering as the first admin.
async fn ordering_admin(c: &mut Cluster) -> OrderingClient {
    OrderingClient(c.admin_client("ordering").await)
}

/// Business time now (every ordering replica agrees: they are moved together).
pub async fn business_now(c: &mut Cluster) -> DateTime<Utc> {
    ordering_admin(c).await.clock().await.unwrap().now
}

/// Moves business time forward on every ordering replica.
pub async fn advance(c: &mut Cluster, by: chrono::Duration) {
    let token = c.admin_token().await;
    for api in c.apis("ordering") {
        let replica = OrderingClient(client::Client::new(api).with_token(&token));
        replica.advance_clock(by.num_seconds()).await.unwrap();
    }
}

/// A worker who can sign in (IAM) and be matched (Matching), with the same id.
pub(crate) async fn worker(c: &mut Cluster, name: &str, level: i64) -> (String, String) {
    let token = c.token_for(name, "worker").await;
    let id = account_id(&token);
    let (status, body) = c
        .post(
            "matching",
            "/normal-samples",
            json!({"id": id, "name": name, "skills": {"cleaning": level}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (token, id)
}

/// The catalog's service type, as the harness made it.
async fn service_type(c: &mut Cluster) -> ServiceTypeId {
    c.service_type().await.parse().unwrap()
}

fn cleaning(service_type: ServiceTypeId, description: &str, at: DateTime<Utc>) -> OrderRequest {
    OrderRequest {
        service_type_id: service_type,
        description: description.into(),
        scheduled_at: at,
    }
}

pub(crate) async fn order(
    c: &mut Cluster,
    client: &str,
    service_type: ServiceTypeId,
    at: DateTime<Utc>,
) -> OrderId {
    let req = cleaning(service_type, "Clean the flat", at);
    ordering(c, client).request(&req, None).await.unwrap().id
}

pub(crate) async fn wait_status(c: &mut Cluster, id: OrderId, status: &str) -> Value {
    c.wait_until("ordering", &format!("/orders/{id}"), status, |o| {
        o["status"] == status
    })
    .await
}

fn history(order: &Value) -> Vec<&str> {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect()
}

fn problem(e: &client::ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

pub(crate) fn photo() -> CheckInRequest {
    CheckInRequest {
        photo: PHOTO.into(),
    }
}

/// An order of `client` 20 minutes ahead that becomes active with `worker` (the only one
/// who can be matched), its kit issued, checked in and completed by `worker`: its id and
/// the price it was activated at.
pub(crate) async fn completed_order(
    c: &mut Cluster,
    client: &str,
    worker: &str,
    service_type: ServiceTypeId,
) -> (OrderId, contracts::Money) {
    let at = Utc::now() + chrono::Duration::minutes(20);
    let id = order(c, client, service_type, at).await;
    let active = wait_status(c, id, "active").await;
    let price = contracts::Money::from_minor(active["price"].as_i64().expect("a price"));
    c.issue_kit(&id.to_string()).await;
    let workers = ordering(c, worker);
    workers.check_in(id, &photo()).await.unwrap();
    let report = CompleteRequest {
        report_photo: PHOTO.into(),
    };
    workers.complete(id, &report).await.unwrap();
    (id, price)
}

pub async fn complete_flow_and_no_show_rebook(mode: Mode) {
    let mut c = start(mode).await;
    let service_type = service_type(&mut c).await;
    let client = c.token_for("ann", "client").await;
    let workers = [
        worker(&mut c, "tom", 90).await,
        worker(&mut c, "kit", 60).await,
    ];
    let token_of = |id: &str| {
        workers
            .iter()
            .find(|(_, w)| w == id)
            .map(|(t, _)| t.clone())
            .expect("one of our workers")
    };
    let ann = ordering(&mut c, &client);

    // --- The happy road.
    let now = business_now(&mut c).await;
    let a = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::hours(2),
    )
    .await;
    let active = wait_status(&mut c, a, "active").await;
    let worker_a = active["worker_id"].as_str().unwrap().to_owned();
    let tom = ordering(&mut c, &token_of(&worker_a));
    let other_a = workers
        .iter()
        .find(|(_, w)| *w != worker_a)
        .unwrap()
        .0
        .clone();
    let other = ordering(&mut c, &other_a);

    let e = tom.check_in(a, &photo()).await.unwrap_err();
    assert_eq!(problem(&e).1, Some("check_in_too_early"), "{e}");
    assert_eq!(problem(&e).0, 409, "{e}");
    let not_an_image = CheckInRequest {
        photo: "bm90IGFuIGltYWdl".into(),
    };
    let e = tom.check_in(a, &not_an_image).await.unwrap_err();
    assert_eq!((problem(&e).0, problem(&e).2), (422, Some("photo")), "{e}");
    let e = other.check_in(a, &photo()).await.unwrap_err();
    assert_eq!(problem(&e).0, 404, "another worker's job is not theirs");

    advance(&mut c, chrono::Duration::minutes(115)).await;
    // On time, but his supply kit was not handed out yet: refused, naming the kit.
    let e = tom.check_in(a, &photo()).await.unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).1),
        (409, Some("kit_not_issued")),
        "{e}"
    );
    c.issue_kit(&a.to_string()).await;
    let started = tom.check_in(a, &photo()).await.unwrap();
    assert_eq!(started.status.as_str(), "in_progress");
    let e = tom.check_in(a, &photo()).await.unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).1),
        (409, Some("not_active")),
        "{e}"
    );
    let report = CompleteRequest {
        report_photo: PHOTO.into(),
    };
    let done = tom.complete(a, &report).await.unwrap();
    assert_eq!(done.status.as_str(), "completed");

    let done = ann.order(a).await.unwrap();
    let steps: Vec<&str> = done.history.iter().map(|h| h.status.as_str()).collect();
    assert_eq!(steps, ["requested", "active", "in_progress", "completed"]);
    for kind in [PhotoKind::CheckIn, PhotoKind::Report] {
        let r = ann.photo(a, kind).await.unwrap();
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.header("content-type"), Some("image/png"));
    }
    let completed = JobsQuery {
        status: Some("completed".into()),
        ..Default::default()
    };
    let jobs = tom.jobs(&completed).await.unwrap();
    assert!(jobs.iter().any(|j| j.id == a));

    // --- The other road: nobody comes.
    let now = business_now(&mut c).await;
    let b = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::hours(1),
    )
    .await;
    let active = wait_status(&mut c, b, "active").await;
    let worker_b = active["worker_id"].as_str().unwrap().to_owned();
    // His kit was ready for him: not coming is his fault.
    c.issue_kit(&b.to_string()).await;
    // Past the scheduled time plus the 30 minutes' grace: the sweep fails it (every
    // replica sweeps; it fails once).
    advance(&mut c, chrono::Duration::minutes(91)).await;
    let failed = wait_status(&mut c, b, "failed").await;
    assert_eq!(failed["reason"], "no_show");
    assert_eq!(history(&failed), ["requested", "active", "failed"]);
    let e = ordering(&mut c, &token_of(&worker_b))
        .check_in(b, &photo())
        .await
        .unwrap_err();
    assert_eq!(problem(&e).0, 409, "too late once failed: {e}");

    // The client is mailed the offer, with the link to rebook.
    let link = mailed_link(&c, "did not come", &format!("/orders/{b}/rebook")).await;
    // The link opens the order's page in the portal, which offers the new date.
    assert!(
        link.ends_with(&format!("/orders/{b}/rebook")) && !link.contains("/api/"),
        "{link}"
    );
    let new_date = business_now(&mut c).await + chrono::Duration::days(1);
    let rebook = RebookRequest {
        scheduled_at: new_date,
    };
    let first = ann.rebook_reply(b, &rebook).await.unwrap();
    assert_eq!(first.status.as_u16(), 201, "{}", first.text());
    let copy: ordering::domain::order::Order = first.json().unwrap();
    assert_eq!(copy.rebook_of, Some(b));
    let again = ann.rebook_reply(b, &rebook).await.unwrap();
    assert_eq!(
        (
            again.status.as_u16(),
            again.json::<ordering::domain::order::Order>().unwrap().id
        ),
        (200, copy.id),
        "once"
    );
    let copy_id = copy.id;
    let copy = wait_status(&mut c, copy_id, "active").await;
    assert_ne!(copy["worker_id"], worker_b.as_str(), "a different worker");

    // Matching's profiles keep the results (once each), and the copy's explanation shows
    // the exclusion of the worker who did not come.
    let profile_path = format!("/normal-samples/{worker_b}");
    c.wait_until("matching", &profile_path, "the no-show in history", |p| {
        p["history"]["failed"] == 1
    })
    .await;
    let profile_path = format!("/normal-samples/{worker_a}");
    c.wait_until(
        "matching",
        &profile_path,
        "the completion in history",
        |p| p["history"]["completed"] == 1,
    )
    .await;
    let (status, why) = c
        .get("matching", &format!("/reference-samples/{copy_id}"))
        .await;
    assert_eq!(status, 200, "{why}");
    assert!(
        why["explanation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["step"] == "exclude_failed" && s["passed"] == true),
        "{why}"
    );

    // --- The supplies were not ready: the kit of an active order is not issued by its
    // scheduled time. The order fails then, for the kit, not as the worker's no-show: the
    // client is told so, and the worker's record in Matching does not count it.
    let now = business_now(&mut c).await;
    let d = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::hours(1),
    )
    .await;
    let active = wait_status(&mut c, d, "active").await;
    let worker_d = active["worker_id"].as_str().unwrap().to_owned();
    let profile_path = format!("/normal-samples/{worker_d}");
    let (_, before) = c.get("matching", &profile_path).await;
    advance(&mut c, chrono::Duration::minutes(61)).await;
    let failed = wait_status(&mut c, d, "failed").await;
    assert_eq!(failed["reason"], "kit_not_ready");
    assert_eq!(history(&failed), ["requested", "active", "failed"]);
    let e = ordering(&mut c, &token_of(&worker_d))
        .check_in(d, &photo())
        .await
        .unwrap_err();
    assert_eq!(problem(&e).0, 409, "failed orders take no check-in: {e}");
    mailed_link(
        &c,
        "could not get the supplies",
        &format!("/orders/{d}/rebook"),
    )
    .await;
    // Matching closed the job without a failure on the worker's record.
    c.wait_until(
        "matching",
        &format!("/reference-samples/{d}"),
        "Matching to close the job",
        |r| r["status"] == "failed",
    )
    .await;
    let (_, after) = c.get("matching", &profile_path).await;
    assert_eq!(
        after["history"]["failed"], before["history"]["failed"],
        "{before} -> {after}"
    );

    // --- Cancel: the client, from requested or active; never twice.
    let c_order = order(
        &mut c,
        &client,
        service_type,
        new_date + chrono::Duration::days(2),
    )
    .await;
    let plans_changed = CancelRequest {
        reason: Some("plans changed".into()),
    };
    let canceled = ann.cancel(c_order, &plans_changed).await.unwrap();
    assert_eq!(canceled.status.as_str(), "canceled");
    let e = ann
        .cancel(c_order, &CancelRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).1),
        (409, Some("not_cancelable")),
        "{e}"
    );

    // Nothing failed twice: two failed orders (the no-show, the kit not ready), one
    // "did not come" mail.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = ordering_admin(&mut c).await.counts().await.unwrap();
    assert_eq!(counts["failed"], 2, "{counts:?}");
    let offers = std::fs::read_dir(c.mail_dir())
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|eml| eml.contains("did not come"))
        .count();
    assert_eq!(offers, 1);
}

pub async fn catalog_and_refusals(mode: Mode) {
    let mut c = start(mode).await;
    let service_type = service_type(&mut c).await;
    let client = c.token_for("bea", "client").await;
    let bea = ordering(&mut c, &client);
    let admin = ordering_admin(&mut c).await;
    let dearer = ServiceTypeEdit {
        price: Some(contracts::Money::from_minor(150)),
        ..Default::default()
    };
    admin
        .edit_service_type(service_type, &dearer)
        .await
        .unwrap();
    let bad = ServiceTypeEdit {
        duration_minutes: Some(0),
        ..Default::default()
    };
    let e = admin
        .edit_service_type(service_type, &bad)
        .await
        .unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).2),
        (422, Some("duration_minutes"))
    );

    let now = business_now(&mut c).await;
    let first = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::days(1),
    )
    .await;
    let retired = admin.retire_service_type(service_type).await.unwrap();
    assert!(retired.retired);
    let e = bea
        .request(
            &cleaning(service_type, "x", now + chrono::Duration::days(1)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).2),
        (422, Some("service_type_id")),
        "{e}"
    );
    let listed = bea.service_types(false).await.unwrap();
    assert_eq!(listed.len(), 0, "clients see what they can order");
    let old = bea.order(first).await.unwrap();
    assert_eq!(
        old.order.approximate_price.minor(),
        150,
        "old orders keep what they had"
    );

    // Lists by status; a bad status names the field.
    let lost = OrderListQuery {
        status: Some("lost".into()),
        ..Default::default()
    };
    let e = bea.orders(&lost).await.unwrap_err();
    assert_eq!((problem(&e).0, problem(&e).2), (422, Some("status")), "{e}");
    let requested = OrderListQuery {
        status: Some("requested".into()),
        ..Default::default()
    };
    let listed = bea.orders(&requested).await.unwrap();
    assert!(listed.iter().all(|o| o.status.as_str() == "requested"));
    // A manager adjusts a worker's characteristic; the change is audited with who and why.
    let (_, worker_id) = worker(&mut c, "zoe", 40).await;
    let manager = c.token_for("mia", "manager").await;
    let path = format!("/normal-samples/{worker_id}/adjustments");
    let (status, body) = c
        .post_as(
            &manager,
            "matching",
            &path,
            json!({"skill": "cleaning", "delta": 15}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("reason")),
        "{body}"
    );
    let (status, body) = c
        .post_as(
            &manager,
            "matching",
            &path,
            json!({"skill": "cleaning", "delta": 15, "reason": "great review"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A retry with the same key applies nothing again; the key on another body is refused.
    let url = format!("{}{path}", c.api("matching"));
    for (body, want) in [
        (
            json!({"skill": "cleaning", "level": 70, "reason": "retrained"}),
            201,
        ),
        (
            json!({"skill": "cleaning", "level": 70, "reason": "retrained"}),
            200,
        ),
        (
            json!({"skill": "cleaning", "level": 90, "reason": "retrained"}),
            422,
        ),
    ] {
        let r = c
            .http
            .post(&url)
            .bearer_auth(&manager)
            .header("idempotency-key", "adj-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{body}");
    }
    let (status, body) = c
        .post_as(
            &manager,
            "matching",
            &path,
            json!({"skill": "cleaning", "level": 55, "reason": "back to normal"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, audit) = c.get_as(&manager, "matching", &path).await;
    assert_eq!(status, 200, "{audit}");
    // Newest first: the delta, the keyed level (once), the way back.
    let audit = audit.as_array().unwrap();
    let steps: Vec<_> = audit
        .iter()
        .map(|a| (a["from"].as_i64(), a["to"].as_i64()))
        .collect();
    assert_eq!(
        steps,
        [
            (Some(70), Some(55)),
            (Some(55), Some(70)),
            (Some(40), Some(55))
        ]
    );
    let last = &audit[0];
    assert_eq!(last["actor"], account_id(&manager).as_str());
    let (_, profile) = c
        .get("matching", &format!("/normal-samples/{worker_id}"))
        .await;
    assert_eq!(profile["skills"]["cleaning"], 55);
    let (status, _) = c.get_as(&client, "matching", &path).await;
    assert_eq!(status, 403, "clients do not read the audit");

    // The clock cannot go back.
    let e = admin.advance_clock(-5).await.unwrap_err();
    assert_eq!(
        (problem(&e).0, problem(&e).2),
        (422, Some("seconds")),
        "{e}"
    );
}

/// The no-show deadline passes while every Ordering process is down: on restart the
/// sweep catches up and the order fails once (two replicas in distributed mode race for it).
/// Real time here (no grace, no early check-in), so no clock is moved.
pub async fn no_show_after_downtime(mode: Mode) {
    let mut c = Cluster::start_with(
        mode,
        vec![
            ("MCF_ORDERING__NO_SHOW_GRACE_MINUTES".into(), "0".into()),
            ("MCF_ORDERING__NO_SHOW_SWEEP_MS".into(), "200".into()),
        ],
        None,
    )
    .await;
    let service_type = service_type(&mut c).await;
    let client = c.token_for("cy", "client").await;
    let (_, worker_id) = worker(&mut c, "max", 80).await;
    let at = Utc::now() + chrono::Duration::seconds(15);
    let id = order(&mut c, &client, service_type, at).await;
    let active = wait_status(&mut c, id, "active").await;
    assert_eq!(active["worker_id"], worker_id.as_str());
    // Its kit is issued: failing is the worker's no-show, not the kit's lateness.
    c.issue_kit(&id.to_string()).await;

    let role = match mode {
        Mode::Embedded => "embedded",
        Mode::Distributed => "ordering",
    };
    for p in c.procs.iter_mut().filter(|p| p.role == role) {
        p.kill9();
    }
    let wait = (at - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    c.revive(role);

    let failed = wait_status(&mut c, id, "failed").await;
    assert_eq!(failed["reason"], "no_show");
    assert_eq!(history(&failed), ["requested", "active", "failed"]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let counts = ordering_admin(&mut c).await.counts().await.unwrap();
    assert_eq!(counts["failed"], 1, "{counts:?}");
}

/// Photos in an S3-compatible bucket (moto standing in for S3), distributed mode: the
/// check-in photo taken through one replica is served by every replica, from the bucket.
pub async fn photos_in_an_s3_bucket() {
    let s3 = testing::S3::start("photos").expect("an S3-compatible server for tests");
    let objects_url = format!(
        "s3://photos?endpoint={}&region=us-east-1&allow_http=true",
        s3.endpoint()
    );
    let mut c = Cluster::start_with(
        Mode::Distributed,
        vec![
            ("MCF_CLOCK__ADJUSTABLE".into(), "true".into()),
            ("MCF_ORDERING__OBJECTS_URL".into(), objects_url),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ],
        None,
    )
    .await;
    let service_type = service_type(&mut c).await;
    let client = c.token_for("eve", "client").await;
    let (worker_token, _) = worker(&mut c, "rex", 70).await;
    let now = business_now(&mut c).await;
    let id = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::hours(1),
    )
    .await;
    wait_status(&mut c, id, "active").await;
    c.issue_kit(&id.to_string()).await;
    advance(&mut c, chrono::Duration::minutes(50)).await;
    let started = ordering(&mut c, &worker_token)
        .check_in(id, &photo())
        .await
        .unwrap();
    let key = started.check_in_photo.unwrap();
    for api in c.apis("ordering") {
        let replica = OrderingClient(client::Client::new(api).with_token(&client));
        let r = replica.photo(id, PhotoKind::CheckIn).await.unwrap();
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.header("content-type"), Some("image/png"));
    }
    let listing = c
        .http
        .get(format!("{}/photos", s3.endpoint()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains(&key), "{key} not in the bucket: {listing}");
}
