//! An order's whole life over HTTP: requested -> active -> in progress (check-in with a
//! photo, inside its window) -> completed (the signed report's photo); and the other
//! road: nobody checks in, the order fails once, the client is mailed the offer, rebooks,
//! and a different worker gets the copy. Business time is moved with the admin's clock
//! route (`clock.adjustable` is on for these systems only).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::harness::{Cluster, Mode, account_id};
use crate::hiring::{PHOTO, mailed_link};

/// A system whose business clock an admin may move.
async fn start(mode: Mode) -> Cluster {
    Cluster::start_with(
        mode,
        vec![("MCF_CLOCK__ADJUSTABLE".into(), "true".into())],
        None,
    )
    .await
}

/// Business time now (every ordering replica agrees: they are moved together).
pub async fn business_now(c: &mut Cluster) -> DateTime<Utc> {
    let (status, clock) = c.get("ordering", "/ops/clock").await;
    assert_eq!(status, 200, "{clock}");
    clock["now"].as_str().unwrap().parse().unwrap()
}

/// Moves business time forward on every ordering replica.
pub async fn advance(c: &mut Cluster, by: chrono::Duration) {
    let token = c.admin_token().await;
    for api in c.apis("ordering") {
        let r = c
            .http
            .post(format!("{api}/ops/clock"))
            .bearer_auth(&token)
            .json(&json!({"seconds": by.num_seconds()}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }
}

/// A worker who can sign in (IAM) and be matched (Matching), with the same id.
async fn worker(c: &mut Cluster, name: &str, level: i64) -> (String, String) {
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

async fn order(c: &mut Cluster, client: &str, service_type: &str, at: DateTime<Utc>) -> String {
    let (status, body) = c
        .post_as(
            client,
            "ordering",
            "/orders",
            json!({"service_type_id": service_type, "description": "Clean the flat",
                   "scheduled_at": at.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn wait_status(c: &mut Cluster, id: &str, status: &str) -> Value {
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

pub async fn complete_flow_and_no_show_rebook(mode: Mode) {
    let mut c = start(mode).await;
    let service_type = c.service_type().await;
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

    // --- The happy road.
    let now = business_now(&mut c).await;
    let a = order(
        &mut c,
        &client,
        &service_type,
        now + chrono::Duration::hours(2),
    )
    .await;
    let active = wait_status(&mut c, &a, "active").await;
    let worker_a = active["worker_id"].as_str().unwrap().to_owned();
    let token_a = token_of(&worker_a);
    let other_a = workers
        .iter()
        .find(|(_, w)| *w != worker_a)
        .unwrap()
        .0
        .clone();

    let path = format!("/orders/{a}/check-in");
    let (status, body) = c
        .post_as(&token_a, "ordering", &path, json!({"photo": PHOTO}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("check_in_too_early")),
        "{body}"
    );
    let (status, body) = c
        .post_as(
            &token_a,
            "ordering",
            &path,
            json!({"photo": "bm90IGFuIGltYWdl"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("photo")),
        "{body}"
    );
    let (status, _) = c
        .post_as(&other_a, "ordering", &path, json!({"photo": PHOTO}))
        .await;
    assert_eq!(status, 404, "another worker's job is not theirs");

    advance(&mut c, chrono::Duration::minutes(115)).await;
    let (status, body) = c
        .post_as(&token_a, "ordering", &path, json!({"photo": PHOTO}))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("in_progress")),
        "{body}"
    );
    let (status, body) = c
        .post_as(&token_a, "ordering", &path, json!({"photo": PHOTO}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_active")),
        "{body}"
    );
    let (status, body) = c
        .post_as(
            &token_a,
            "ordering",
            &format!("/orders/{a}/complete"),
            json!({"report_photo": PHOTO}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("completed")),
        "{body}"
    );

    let (status, done) = c.get_as(&client, "ordering", &format!("/orders/{a}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        history(&done),
        ["requested", "active", "in_progress", "completed"]
    );
    for kind in ["check-in", "report"] {
        let url = format!("{}/orders/{a}/photos/{kind}", c.api("ordering"));
        let r = c.http.get(url).bearer_auth(&client).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
    }
    let (status, jobs) = c
        .get_as(&token_a, "ordering", "/jobs?status=completed")
        .await;
    assert_eq!(status, 200, "{jobs}");
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == a.as_str())
    );

    // --- The other road: nobody comes.
    let now = business_now(&mut c).await;
    let b = order(
        &mut c,
        &client,
        &service_type,
        now + chrono::Duration::hours(1),
    )
    .await;
    let active = wait_status(&mut c, &b, "active").await;
    let worker_b = active["worker_id"].as_str().unwrap().to_owned();
    // Past the scheduled time plus the 30 minutes' grace: the sweep fails it (every
    // replica sweeps; it fails once).
    advance(&mut c, chrono::Duration::minutes(91)).await;
    let failed = wait_status(&mut c, &b, "failed").await;
    assert_eq!(failed["reason"], "no_show");
    assert_eq!(history(&failed), ["requested", "active", "failed"]);
    let (status, body) = c
        .post_as(
            &token_of(&worker_b),
            "ordering",
            &format!("/orders/{b}/check-in"),
            json!({"photo": PHOTO}),
        )
        .await;
    assert_eq!(status, 409, "too late once failed: {body}");

    // The client is mailed the offer, with the link to rebook.
    let link = mailed_link(&c, "did not come", &format!("/orders/{b}/rebook")).await;
    assert!(
        link.ends_with(&format!("/api/ordering/orders/{b}/rebook")),
        "{link}"
    );
    let new_date = business_now(&mut c).await + chrono::Duration::days(1);
    let rebook = json!({"scheduled_at": new_date.to_rfc3339()});
    let path = format!("/orders/{b}/rebook");
    let (status, copy) = c.post_as(&client, "ordering", &path, rebook.clone()).await;
    assert_eq!(status, 201, "{copy}");
    let copy_id = copy["id"].as_str().unwrap().to_owned();
    assert_eq!(copy["rebook_of"], b.as_str());
    let (status, again) = c.post_as(&client, "ordering", &path, rebook).await;
    assert_eq!(
        (status, again["id"].as_str()),
        (200, Some(copy_id.as_str())),
        "once"
    );
    let copy = wait_status(&mut c, &copy_id, "active").await;
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

    // --- Cancel: the client, from requested or active; never twice.
    let c_order = order(
        &mut c,
        &client,
        &service_type,
        new_date + chrono::Duration::days(2),
    )
    .await;
    let path = format!("/orders/{c_order}/cancel");
    let (status, body) = c
        .post_as(
            &client,
            "ordering",
            &path,
            json!({"reason": "plans changed"}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("canceled")),
        "{body}"
    );
    let (status, body) = c.post_as(&client, "ordering", &path, json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_cancelable")),
        "{body}"
    );

    // Nothing failed twice: one failed order, one mail about it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, counts) = c.get("ordering", "/ops/orders").await;
    assert_eq!(counts["failed"], 1, "{counts}");
    let offers = std::fs::read_dir(c.mail_dir())
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|eml| eml.contains("did not come"))
        .count();
    assert_eq!(offers, 1);
}

pub async fn catalog_and_refusals(mode: Mode) {
    let mut c = start(mode).await;
    let service_type = c.service_type().await;
    let client = c.token_for("bea", "client").await;
    let path = format!("/service-types/{service_type}");
    let token = c.admin_token().await;
    let url = format!("{}{path}", c.api("ordering"));
    let r = c
        .http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"price": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c
        .http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"duration_minutes": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["field"], "duration_minutes");

    let now = business_now(&mut c).await;
    let first = order(
        &mut c,
        &client,
        &service_type,
        now + chrono::Duration::days(1),
    )
    .await;
    let (status, body) = c
        .post("ordering", &format!("{path}/retire"), json!({}))
        .await;
    assert_eq!(
        (status, body["retired"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let (status, body) = c
        .post_as(
            &client,
            "ordering",
            "/orders",
            json!({"service_type_id": service_type, "description": "x",
                   "scheduled_at": (now + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("service_type_id")),
        "{body}"
    );
    let (_, listed) = c.get_as(&client, "ordering", "/service-types").await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "clients see what they can order"
    );
    let (_, old) = c
        .get_as(&client, "ordering", &format!("/orders/{first}"))
        .await;
    assert_eq!(
        old["approximate_price"], 150,
        "old orders keep what they had"
    );

    // Lists by status; a bad status names the field.
    let (status, body) = c.get_as(&client, "ordering", "/orders?status=lost").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("status")),
        "{body}"
    );
    let (status, body) = c
        .get_as(&client, "ordering", "/orders?status=requested")
        .await;
    assert_eq!(status, 200);
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "requested")
    );
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
    let (status, body) = c
        .post("ordering", "/ops/clock", json!({"seconds": -5}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("seconds")),
        "{body}"
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
    let service_type = c.service_type().await;
    let client = c.token_for("cy", "client").await;
    let (_, worker_id) = worker(&mut c, "max", 80).await;
    let at = Utc::now() + chrono::Duration::seconds(8);
    let id = order(&mut c, &client, &service_type, at).await;
    let active = wait_status(&mut c, &id, "active").await;
    assert_eq!(active["worker_id"], worker_id.as_str());

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

    let failed = wait_status(&mut c, &id, "failed").await;
    assert_eq!(failed["reason"], "no_show");
    assert_eq!(history(&failed), ["requested", "active", "failed"]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, counts) = c.get("ordering", "/ops/orders").await;
    assert_eq!(counts["failed"], 1, "{counts}");
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
    let service_type = c.service_type().await;
    let client = c.token_for("eve", "client").await;
    let (worker_token, _) = worker(&mut c, "rex", 70).await;
    let now = business_now(&mut c).await;
    let id = order(
        &mut c,
        &client,
        &service_type,
        now + chrono::Duration::hours(1),
    )
    .await;
    wait_status(&mut c, &id, "active").await;
    advance(&mut c, chrono::Duration::minutes(50)).await;
    let (status, body) = c
        .post_as(
            &worker_token,
            "ordering",
            &format!("/orders/{id}/check-in"),
            json!({"photo": PHOTO}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let key = body["check_in_photo"].as_str().unwrap().to_owned();
    for api in c.apis("ordering") {
        let r = c
            .http
            .get(format!("{api}/orders/{id}/photos/check-in"))
            .bearer_auth(&client)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
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
