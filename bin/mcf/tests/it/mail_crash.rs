//! Mail under kill -9: every message is delivered in the end, the file transport writes
//! exactly one `.eml` per message, and an SMTP server receives at most one extra copy per
//! killed process (the message that process had in flight).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use mail::client::{MailClient, SearchQuery, Status, Submission};
use serde_json::json;

use crate::harness::{Cluster, Mode};
use crate::mail::{Capture, smtp_env};

/// The role of the processes that deliver mail. In distributed mode a second mail replica
/// joins, so two deliverers compete for one queue on PostgreSQL.
fn mail_role(c: &mut Cluster, mode: Mode) -> &'static str {
    match mode {
        Mode::Embedded => "embedded",
        Mode::Distributed => {
            let second = c.spawn("mail", "", testing::free_port());
            c.procs.push(second);
            "mail"
        }
    }
}

/// The message number `i` of a test: its own recipient and idempotency key.
fn body(i: usize) -> Submission {
    let variables = json!({"name": format!("Cat {i}"), "amount": i, "period": "May"});
    Submission {
        to: format!("cat{i}@cats.test"),
        template: "payout_sent".into(),
        variables: variables.as_object().unwrap().clone(),
        idempotency_key: format!("crash-{i}"),
        language: None,
    }
}

/// Submits messages `numbers` in a few concurrent streams (so several are due at once),
/// spread over `apis`; returns the ids of those that were acknowledged (a request cut off by
/// a kill is simply not).
async fn submit(apis: Vec<String>, token: String, numbers: Vec<usize>) -> HashMap<usize, String> {
    const STREAMS: usize = 6;
    let streams: Vec<_> = (0..STREAMS)
        .map(|s| {
            let mine: Vec<usize> = numbers.iter().copied().skip(s).step_by(STREAMS).collect();
            tokio::spawn(submit_stream(apis.clone(), token.clone(), mine))
        })
        .collect();
    let mut ids = HashMap::new();
    for stream in streams {
        ids.extend(stream.await.unwrap());
    }
    ids
}

/// Submits messages `numbers` one after the other.
async fn submit_stream(
    apis: Vec<String>,
    token: String,
    numbers: Vec<usize>,
) -> HashMap<usize, String> {
    let clients: Vec<MailClient> = apis
        .iter()
        .map(|api| MailClient(client::Client::new(api.as_str()).with_token(token.as_str())))
        .collect();
    let mut ids = HashMap::new();
    for (n, i) in numbers.into_iter().enumerate() {
        if let Ok(m) = clients[n % clients.len()].submit(&body(i)).await {
            ids.insert(i, m.id.to_string());
        }
    }
    ids
}

/// Submits every message not acknowledged yet (under its same key) until all are.
async fn submit_the_rest(c: &mut Cluster, n: usize, ids: &mut HashMap<usize, String>) {
    let token = c.admin_token().await;
    for _ in 0..50 {
        let missing: Vec<usize> = (0..n).filter(|i| !ids.contains_key(i)).collect();
        if missing.is_empty() {
            return;
        }
        ids.extend(submit(c.apis("mail"), token.clone(), missing).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{} messages were never acknowledged", n - ids.len());
}

/// kill -9 of the `k`-th victim among the processes of `role`, then a restart.
fn kill_one(c: &mut Cluster, role: &str, k: usize) {
    let victims: Vec<usize> = (0..c.procs.len())
        .filter(|&i| c.procs[i].role == role)
        .collect();
    c.procs[victims[k % victims.len()]].kill9();
    c.revive(role);
}

/// Waits until all `n` messages are sent (none queued, none dead).
async fn all_sent(c: &mut Cluster, n: usize) {
    c.wait_until(
        "mail",
        "/messages?status=sent&limit=1000",
        "every message is sent",
        |list| list.as_array().is_some_and(|l| l.len() == n),
    )
    .await;
    let dead = MailClient(c.admin_client("mail").await)
        .search(&SearchQuery {
            status: Some(Status::Dead),
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(dead, vec![], "no message is dead");
}

/// The value of header `name` in an .eml text.
fn header<'a>(eml: &'a str, name: &str) -> Option<&'a str> {
    eml.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Many messages flow in while the process delivering them is killed several times; in the
/// end each message is one `.eml` file, named so a person can find it.
pub async fn one_eml_per_message_despite_kills(mode: Mode) {
    const N: usize = 150;
    let mut c = Cluster::start(mode).await;
    let role = mail_role(&mut c, mode);
    let token = c.admin_token().await;
    let mut ids = HashMap::new();
    for round in 0..4 {
        let pending: Vec<usize> = (0..N).filter(|i| !ids.contains_key(i)).collect();
        let submitter = tokio::spawn(submit(c.apis("mail"), token.clone(), pending));
        // Delivery keeps pace with the submissions, so the kill lands while it runs.
        tokio::time::sleep(Duration::from_millis(200 + 150 * round as u64)).await;
        kill_one(&mut c, role, round);
        ids.extend(submitter.await.unwrap());
    }
    submit_the_rest(&mut c, N, &mut ids).await;
    all_sent(&mut c, N).await;

    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(c.mail_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "eml") {
            let eml = std::fs::read_to_string(&path).unwrap();
            let message_id = header(&eml, "Message-ID").expect("a Message-ID").to_owned();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.entry(message_id).or_default().push(name);
        }
    }
    for (i, id) in &ids {
        let names = &files[&format!("<{id}@mcf.mail>")];
        assert_eq!(names.len(), 1, "one file for message {i}: {names:?}");
    }
    for (i, id) in &ids {
        let names = &files[&format!("<{id}@mcf.mail>")];
        // <UTC time>_<recipient>_<template>_<message id>.eml
        let suffix = format!("_cat{i}@cats.test_payout_sent_{id}.eml");
        assert!(names[0].ends_with(&suffix), "{} for {suffix}", names[0]);
        let time = names[0].strip_suffix(&suffix).unwrap();
        assert!(
            time.len() == 16 && time.as_bytes()[8] == b'T' && time.ends_with('Z'),
            "{time}"
        );
    }
    assert_eq!(files.len(), N, "no other files");
    // Files are written aside first, then linked into place: nothing is left half-done.
    let partial: Vec<_> = std::fs::read_dir(c.mail_dir().join(".partial"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(partial.is_empty(), "left-over partial files: {partial:?}");
}

/// A slow SMTP server and kills of the delivering processes: every message arrives, and
/// each kill costs at most one extra copy (the message that process had in flight).
pub async fn smtp_gets_at_most_the_message_in_flight_again(mode: Mode) {
    const N: usize = 50;
    let port = testing::free_port();
    let capture = Capture::start_with(port, &["--slow-ms", "25"]);
    let mut env = smtp_env(port);
    env.push(("MCF_MAIL__MAX_ATTEMPTS".into(), "1000".into()));
    let mut c = Cluster::start_with(mode, env, None).await;
    let role = mail_role(&mut c, mode);
    let mut ids = HashMap::new();
    submit_the_rest(&mut c, N, &mut ids).await;
    // Each message takes the server about 200 ms: the kills land mid-delivery.
    let kills = 3;
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(700)).await;
        kill_one(&mut c, role, k);
    }
    all_sent(&mut c, N).await;

    let received = capture.received().await;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in &received {
        *copies
            .entry(r["message_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for id in ids.values() {
        assert!(
            copies.contains_key(&format!("<{id}@mcf.mail>")),
            "{id} never arrived"
        );
    }
    assert_eq!(copies.len(), N, "no other messages");
    let extra = received.len() - N;
    assert!(
        extra <= kills,
        "{extra} extra copies after {kills} kills: {copies:?}"
    );
}
