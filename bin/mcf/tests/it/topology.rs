//! The system laid out for availability, on loopback: PostgreSQL, three NATS nodes keeping
//! three copies of every stream, two processes of every service (and of the portal), each
//! caller given every replica's URL and fetching its tokens and keys from IAM's replicas.
//! One NATS node and one replica of every service (IAM's first, whose address is the public
//! issuer URL, too) are killed, and an order still goes its whole way through the
//! survivors; the killed ones come back, and then the other half is killed and a second
//! order goes its way through the ones that came back.

use std::time::{Duration, Instant};

use bets::client::{BetsClient, NewBet};
use billing::client::BillingClient;
use billing::domain::{EntryKind, LedgerAccount};
use contracts::{AccountId, OrderId, ServiceTypeId};
use ordering::client::{CompleteRequest, OrderingClient};

use crate::harness::{Cluster, PORTAL_URL, account_id, location_params, poll_until};
use crate::hiring::PHOTO;
use crate::lifecycle::{order, photo, wait_status, worker};

/// The `k`-th process (0 or 1) of every role, and NATS node `k`, killed with SIGKILL.
fn kill_half(c: &mut Cluster, k: usize) {
    let mut seen: Vec<&str> = Vec::new();
    for p in &mut c.procs {
        let nth = seen.iter().filter(|r| **r == p.role).count();
        seen.push(p.role);
        if nth == k {
            p.kill9();
        }
    }
    c.nats_nodes.as_mut().expect("three NATS nodes").kill(k);
}

/// Every killed process and NATS node started again on its port and data.
fn revive_all(c: &mut Cluster, node: usize) {
    c.nats_nodes
        .as_mut()
        .expect("three NATS nodes")
        .restart(node)
        .expect("the NATS node starts again");
    let roles: Vec<&'static str> = c.procs.iter().map(|p| p.role).collect();
    for role in roles {
        c.revive(role);
    }
}

/// One order's whole way, every step checked: Kim orders, Matching assigns Tom (the only
/// worker), a manager opens a bet on it (Bets asks Ordering: a call between services), its
/// kit is made and issued, Tom checks in and completes it, Billing charges Kim, and Mail
/// holds the confirmation mailed to her. `charges` is how many charges Kim had before.
async fn order_goes_its_way(
    c: &mut Cluster,
    people: &People,
    service_type: ServiceTypeId,
    charges: usize,
) -> OrderId {
    let at = chrono::Utc::now() + chrono::Duration::minutes(20);
    let id = order(c, &people.kim, service_type, at).await;
    // The first step after a NATS node died waits for the two left to agree on new
    // leaders: seconds on a quiet machine, once over a minute on a loaded CI machine
    // ("JetStream system temporarily unavailable" meanwhile; the relays and consumers
    // retry). What is checked is that the order gets there once NATS is back.
    let active = c
        .wait_until_within(
            Duration::from_secs(180),
            "ordering",
            &format!("/orders/{id}"),
            "active",
            |o| o["status"] == "active",
        )
        .await;
    assert_eq!(active["worker_id"].as_str(), Some(people.tom_id.as_str()));
    let (status, sample) = c.get("matching", &format!("/reference-samples/{id}")).await;
    assert_eq!(
        (status, sample["status"].as_str()),
        (200, Some("assigned")),
        "{sample}"
    );

    let bets = BetsClient(c.client("bets", &people.max));
    let new = NewBet {
        order_id: id,
        stakes_close_at: None,
    };
    let bet = bets.open(&new, Some(&format!("open-{id}"))).await.unwrap();
    assert_eq!(bet.bet.order_id, id);

    c.issue_kit(&id.to_string()).await;
    let tom = OrderingClient(c.client("ordering", &people.tom));
    tom.check_in(id, &photo()).await.unwrap();
    let report = CompleteRequest {
        report_photo: PHOTO.into(),
    };
    tom.complete(id, &report).await.unwrap();
    wait_status(c, id, "completed").await;

    let kims = BillingClient(c.client("billing", &people.kim));
    let statement = poll_until(Duration::from_secs(30), "Billing to charge Kim", || {
        let kims = kims.clone();
        async move {
            match kims.statement(LedgerAccount::Client(people.kim_id)).await {
                Ok(s) if s.lines.len() > charges => Ok(s),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let line = statement
        .lines
        .iter()
        .find(|l| l.cause.id == id.to_string())
        .expect("a line caused by the order");
    assert_eq!(line.kind, EntryKind::ClientCharge);
    assert_eq!(
        Some(line.amount.minor()),
        active["price"].as_i64(),
        "charged the price the order was activated at"
    );

    let mails = c
        .wait_until(
            "mail",
            "/messages?to=kim@cats.test",
            "Mail to hold Kim's confirmation",
            |list| {
                list.as_array().is_some_and(|l| {
                    l.iter()
                        .filter(|m| m["template"] == "order_activated")
                        .count()
                        > charges
                })
            },
        )
        .await;
    assert!(
        mails
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] != "dead"),
        "{mails}"
    );
    id
}

/// The base URL of a running portal process (as a balancer in front of them would pick).
fn running_portal(c: &mut Cluster) -> String {
    c.procs
        .iter_mut()
        .filter(|p| p.role == mcf::system::PORTAL)
        .find_map(|p| (!p.exited()).then(|| p.base.clone()))
        .expect("a portal process runs")
}

/// `name=value` of the session cookie `answer` sets.
fn session_cookie(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mcf_session="))
        .and_then(|v| v.split(';').next())
        .expect("the portal sets its session cookie")
        .to_owned()
}

/// Kim signs in to the portal with a browser and finds `order` among her orders: the portal
/// redeemed the code at IAM and read her orders at Ordering through whichever replica of
/// each answered. The browser's requests go to running processes, as the balancer behind
/// the public names would send them.
async fn kim_finds_her_order_in_the_portal(c: &mut Cluster, order: OrderId) {
    let portal = running_portal(c);
    let http = c.http.clone();
    let to_portal = |url: &str| url.replace(PORTAL_URL, &portal);
    let answer = http
        .get(format!("{portal}/sign-in?back=/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);
    let cookie = session_cookie(&answer);
    let authorize = answer.headers()["location"].to_str().unwrap().to_owned();
    let mut form: Vec<(String, String)> = location_params(&authorize).into_iter().collect();
    form.push(("email".into(), "kim@cats.test".into()));
    form.push(("password".into(), "password-of-kim".into()));
    let answer = http
        .post(format!("{}/authorize", c.api("iam")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303, "the sign-in form was taken");
    let callback = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(PORTAL_URL), "{callback}");
    let answer = http
        .get(to_portal(&callback))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (answer.status().as_u16(), answer.headers().get("location")),
        (
            303,
            Some(&reqwest::header::HeaderValue::from_static("/orders"))
        ),
        "the portal redeemed the code: {:?}",
        answer.headers()
    );
    let cookie = session_cookie(&answer);
    let page = http
        .get(format!("{portal}/orders"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("/orders/{order}")), "{page}");
}

/// Who takes part, signed in once.
struct People {
    kim: String,
    kim_id: AccountId,
    tom: String,
    tom_id: String,
    max: String,
}

pub async fn the_order_flow_survives_one_nats_node_and_one_replica_of_everything_down() {
    let started = Instant::now();
    let mut c = Cluster::start_redundant(Vec::new()).await;
    let up = started.elapsed();
    let service_type: ServiceTypeId = c.service_type().await.parse().unwrap();
    let kim = c.token_for("kim", "client").await;
    let (tom, tom_id) = worker(&mut c, "tom", 90).await;
    let max = c.token_for("max", "manager").await;
    let people = People {
        kim_id: account_id(&kim).parse().unwrap(),
        kim,
        tom,
        tom_id,
        max,
    };

    // Round one: the first half down, IAM's first replica (the public issuer URL) with it.
    kill_half(&mut c, 0);
    let first = order_goes_its_way(&mut c, &people, service_type, 0).await;
    kim_finds_her_order_in_the_portal(&mut c, first).await;
    let round_one = started.elapsed();

    // The killed ones come back, then the other half goes down: the second order is served
    // by the ones that came back (and NATS nodes 0 and 2), so they caught up.
    revive_all(&mut c, 0);
    c.settle().await;
    kill_half(&mut c, 1);
    let second = order_goes_its_way(&mut c, &people, service_type, 1).await;
    kim_finds_her_order_in_the_portal(&mut c, second).await;
    let admin = OrderingClient(c.admin_client("ordering").await);
    assert_eq!(
        admin.order(first).await.unwrap().order.status.as_str(),
        "completed",
        "the first order as the returned replicas see it"
    );
    assert_ne!(first, second);

    // Everything back: every consumer applied every event published in both rounds.
    revive_all(&mut c, 1);
    c.settle().await;
    eprintln!(
        "topology: {} processes up in {:?}; round one done at {:?}; all done at {:?}",
        c.procs.len(),
        up,
        round_one,
        started.elapsed()
    );
}
