//! One person, one identity across contexts: a client who is hired works under her own
//! account's id, so the jobs Matching gives the worker are the jobs she sees when she signs
//! in. And every 401 says how to authenticate (`WWW-Authenticate: Bearer`, RFC 6750).

use serde_json::{Value, json};

use crate::harness::{Cluster, Mode, account_id};
use crate::hiring::{PHOTO, answers, apply, assign, candidate, cleaning_test, hiring_as};
use crate::lifecycle::{advance, business_now};

/// Waits until Hiring has applied every account IAM has announced so far.
async fn hiring_knows_every_account(c: &mut Cluster) {
    let (status, iam) = c.get("iam", "/ops/messaging").await;
    assert_eq!(status, 200, "{iam}");
    let created = iam["outbox_by_type"]["iam.account.created"]
        .as_i64()
        .unwrap();
    c.wait_until(
        "hiring",
        "/ops/messaging",
        "Hiring learns every account",
        |s| {
            s["inbox_by_consumer"]["hiring.on-account/iam.account.created"]
                .as_i64()
                .is_some_and(|n| n >= created)
        },
    )
    .await;
}

/// The `WWW-Authenticate` challenge of a refused call to `url`.
async fn challenge(c: &Cluster, url: &str, token: Option<&str>) -> String {
    let mut request = c.http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "{url}");
    let value = r
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("a 401 without WWW-Authenticate from {url}"))
        .to_str()
        .unwrap()
        .to_owned();
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "unauthorized", "{problem}");
    value
}

pub async fn a_client_who_is_hired_works_under_her_own_account(mode: Mode) {
    let mut c = Cluster::start_with(
        mode,
        vec![("MCF_CLOCK__ADJUSTABLE".into(), "true".into())],
        None,
    )
    .await;

    // Every 401, of every service: the scheme to use, and `invalid_token` when a token was
    // given but refused.
    for service in ["ordering", "hiring", "iam"] {
        let path = if service == "iam" {
            "/userinfo"
        } else {
            "/ops/messaging"
        };
        let url = format!("{}{path}", c.api(service));
        assert_eq!(challenge(&c, &url, None).await, "Bearer");
        let refused = challenge(&c, &url, Some("not-a-token")).await;
        assert!(
            refused.starts_with("Bearer error=\"invalid_token\""),
            "{refused}"
        );
    }

    // Zoe is a client first: an admin makes her account.
    let zoe_as_client = c.token_for("zoe", "client").await;
    let zoe_id = account_id(&zoe_as_client);
    let boss = c.token_for("boss", "manager").await;
    let test_id = cleaning_test(&mut c, &boss, "Dishes").await;

    // She applies (the address spelled differently from her account's), takes her test.
    let application = apply(&mut c, "Zoe", " Zoe@Cats.TEST").await;
    let token = assign(&mut c, &boss, &application, &test_id).await;
    let recorded = candidate(&mut c)
        .take(&answers(&token, test_id.parse().unwrap(), &[1, 1]))
        .await
        .unwrap();
    assert!(recorded.recorded);

    // Accepted: she is hired under her own account's id.
    hiring_knows_every_account(&mut c).await;
    let accepted = hiring_as(&mut c, &boss)
        .accept(application.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(accepted.worker_id.to_string(), zoe_id, "{accepted:?}");

    // IAM adds the worker role to that account; signed in again, she is both.
    c.wait_until(
        "iam",
        &format!("/accounts/{zoe_id}"),
        "Zoe gets the worker role",
        |a| {
            a["roles"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("worker")))
        },
    )
    .await;
    let zoe = c.sign_in("zoe@cats.test", "password-of-zoe").await.access;
    let (status, me) = c.get_as(&zoe, "iam", "/userinfo").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["sub"], zoe_id.as_str());
    assert_eq!(me["roles"], json!(["client", "worker"]), "{me}");

    // Matching knows the worker by the same id; another client's order goes to her (the
    // only worker).
    c.wait_until(
        "matching",
        &format!("/normal-samples/{zoe_id}"),
        "Matching knows Zoe",
        |s| s["skills"]["cleaning"] == 100,
    )
    .await;
    let service_type = c.service_type().await;
    let mia = c.token_for("mia", "client").await;
    let at = business_now(&mut c).await + chrono::Duration::hours(2);
    let (status, order) = c
        .post_as(
            &mia,
            "ordering",
            "/orders",
            json!({"service_type_id": service_type, "description": "Clean the flat",
                   "scheduled_at": at.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let active = c
        .wait_until(
            "ordering",
            &format!("/orders/{order_id}"),
            "the order is active",
            |o| o["status"] == "active",
        )
        .await;
    assert_eq!(active["worker_id"], zoe_id.as_str(), "{active}");

    // As Zoe: the job is in her list, she reads the order and checks in with a photo.
    let (status, jobs) = c.get_as(&zoe, "ordering", "/jobs").await;
    assert_eq!(status, 200, "{jobs}");
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == order_id.as_str()),
        "{jobs}"
    );
    let (status, seen) = c
        .get_as(&zoe, "ordering", &format!("/orders/{order_id}"))
        .await;
    assert_eq!(status, 200, "{seen}");
    // Supply hands out her kit; then, on time, she checks in.
    c.issue_kit(&order_id).await;
    advance(&mut c, chrono::Duration::minutes(115)).await;
    let (status, body) = c
        .post_as(
            &zoe,
            "ordering",
            &format!("/orders/{order_id}/check-in"),
            json!({"photo": PHOTO}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("in_progress")),
        "{body}"
    );

    // Nothing was refused on the way: one identity, no dead letters in IAM.
    let (_, iam) = c.get("iam", "/ops/messaging").await;
    assert_eq!(iam["dead_letters_pending"], 0, "{iam}");
}
