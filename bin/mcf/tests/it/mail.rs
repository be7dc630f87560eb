//! Mail: stored, templated, delivered (as .eml files without SMTP), idempotent, retried.

use std::time::Duration;

use mail::client::{MailClient, MessageOut, SearchQuery, Status, Submission};
use serde_json::json;

use crate::harness::{Cluster, Mode};

/// A typed client of Mail as the first admin (of a live process: make it after restarts).
async fn admin(c: &mut Cluster) -> MailClient {
    MailClient(c.admin_client("mail").await)
}

/// A submission of `template` to `to` under `key`, with `variables` (a JSON object).
fn submission(to: &str, template: &str, variables: serde_json::Value, key: &str) -> Submission {
    Submission {
        to: to.into(),
        template: template.into(),
        variables: variables.as_object().cloned().unwrap_or_default(),
        idempotency_key: key.into(),
        language: None,
    }
}

/// Given a message asked for twice under one key, when the deliverer runs, then it is
/// written once, as a file a person can find. (Mail's refusals are tested in process:
/// services/mail/src/tests.)
pub async fn messages_are_stored_rendered_and_delivered_once(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let mail = admin(&mut c).await;
    let invite = submission(
        "Tom@Cats.test",
        "set_password_invite",
        json!({"name": "Tom", "link": "http://mcf/p?token=abc"}),
        "invite-tom",
    );
    let first = mail.submit(&invite).await.unwrap();
    let again = mail.submit(&invite).await.unwrap();
    assert_eq!(again.id, first.id, "same key, same message");

    let id = first.id.to_string();
    wait_status(&mut c, &id, "sent").await;
    let files = eml_files(&c);
    assert_eq!(files.len(), 1, "delivered once");
    // Named so a person can find it: <UTC time>_<recipient>_<template>_<message id>.eml.
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let suffix = format!("_tom@cats.test_set_password_invite_{id}.eml");
    assert!(name.ends_with(&suffix), "{name}");
    assert_eq!(
        name.len() - suffix.len(),
        "20261129T213816Z".len(),
        "{name}"
    );
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        eml.contains("Subject: Welcome to MCF, Tom: choose your password"),
        "{eml}"
    );
    assert!(
        eml.contains(&format!("Message-ID: <{id}@mcf.mail>")),
        "{eml}"
    );
    assert!(eml.contains("To: tom@cats.test"), "{eml}");
}

/// The `.eml` files Mail wrote (the directory also holds `.partial/`, where they are
/// written before they are linked in).
fn eml_files(c: &Cluster) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(c.mail_dir())
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect()
}

/// Names may hold line breaks and other control characters (accounts, service types): such
/// a value is made safe where it goes, never a reason to lose the notification. In the
/// subject it becomes a space (no header can be injected); the body keeps the text.
pub async fn line_breaks_in_values_are_delivered_with_a_sane_subject(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let m = admin(&mut c)
        .await
        .submit(&submission(
            "tom@cats.test",
            "set_password_invite",
            json!({"name": "Tom\r\nBcc: evil@x.test\u{7}", "link": "http://mcf/p?token=abc"}),
            "invite-tom",
        ))
        .await
        .unwrap();
    let m = wait_status(&mut c, &m.id.to_string(), "sent").await;
    let subject = "Welcome to MCF, Tom Bcc: evil@x.test : choose your password";
    assert_eq!(m.subject, subject, "{m:?}");
    let files = eml_files(&c);
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    let (headers, _) = eml.split_once("\r\n\r\n").unwrap();
    assert!(
        headers.contains(&format!("\r\nSubject: {subject}\r\n")),
        "{headers}"
    );
    assert!(
        !headers
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc")),
        "{headers}"
    );
    let eml = eml.replace("=\r\n", "");
    assert!(eml.contains("Hello Tom"), "{eml}");
}

pub async fn smtp_failures_are_retried_then_dead_then_retryable(mode: Mode) {
    let nowhere = testing::free_port();
    let mut c = Cluster::start_with(
        mode,
        vec![
            (
                "MCF_MAIL__SMTP_URL".into(),
                format!("smtp://127.0.0.1:{nowhere}"),
            ),
            ("MCF_MAIL__MAX_ATTEMPTS".into(), "3".into()),
            ("MCF_MAIL__SMTP_TIMEOUT_S".into(), "2".into()),
        ],
        None,
    )
    .await;
    let mail = admin(&mut c).await;
    let id = message(&mut c, "p1").await;
    c.wait_until(
        "mail",
        &format!("/messages/{id}"),
        "dead after 3 attempts",
        |m| m["status"] == "dead" && m["attempts"] == 3 && m["last_error"].is_string(),
    )
    .await;
    let dead = mail
        .search(&SearchQuery {
            status: Some(Status::Dead),
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    mail.retry(&id).await.expect("204: queued again");
    let m = mail.message(&id).await.unwrap();
    assert!(m.status == Status::Queued || m.attempts < 3, "{m:?}");
}

/// `mcf sandbox smtp` as a child process, killed on drop.
pub(crate) struct Capture {
    child: std::process::Child,
    http: String,
    /// Kept alive as long as the server writes into it.
    _dir: tempfile::TempDir,
}

impl Capture {
    fn start(smtp_port: u16) -> Capture {
        Self::start_with(smtp_port, &[])
    }

    /// With fault flags, e.g. `--reject` or `--slow-ms 300`.
    pub(crate) fn start_with(smtp_port: u16, faults: &[&str]) -> Capture {
        let dir = tempfile::tempdir().unwrap();
        let http_port = testing::free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_mcf"))
            .args([
                "sandbox",
                "smtp",
                "--listen",
                &format!("127.0.0.1:{smtp_port}"),
            ])
            .args(["--http", &format!("127.0.0.1:{http_port}"), "--dir"])
            .arg(dir.path())
            .args(faults)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "capture server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Capture {
            child,
            http: format!("http://127.0.0.1:{http_port}"),
            _dir: dir,
        }
    }

    pub(crate) async fn received(&self) -> Vec<serde_json::Value> {
        reqwest::get(format!("{}/messages", self.http))
            .await
            .unwrap()
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// IAM's set-password invite reaches the SMTP server exactly once, although the server was
/// down at first and Mail restarted in between; the link in it works.
pub async fn the_invite_arrives_once_despite_smtp_down_and_a_restart(mode: Mode) {
    let smtp_port = testing::free_port();
    let mut c = Cluster::start_with(
        mode,
        vec![
            (
                "MCF_MAIL__SMTP_URL".into(),
                format!("smtp://127.0.0.1:{smtp_port}"),
            ),
            ("MCF_MAIL__BACKOFF_MAX_MS".into(), "300".into()),
            ("MCF_MAIL__MAX_ATTEMPTS".into(), "100".into()),
        ],
        None,
    )
    .await;
    let (status, _) = c
        .post(
            "iam",
            "/accounts",
            json!({"email": "leo@cats.test", "name": "Leo", "roles": ["worker"]}),
        )
        .await;
    assert_eq!(status, 201);
    // The invite reaches Mail (through IAM's outbox) and fails against the absent server.
    c.wait_until(
        "mail",
        "/messages?to=leo@cats.test",
        "Mail tried and failed",
        |list| list[0]["status"] == "queued" && list[0]["attempts"].as_i64().unwrap_or(0) >= 1,
    )
    .await;
    // Mail restarts; then the SMTP server comes up.
    let role = if mode == Mode::Embedded {
        "embedded"
    } else {
        "mail"
    };
    c.restart_role(role, "");
    let capture = Capture::start(smtp_port);
    let start = std::time::Instant::now();
    while capture.received().await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the invite never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = capture.received().await;
    assert_eq!(received.len(), 1, "exactly once: {received:?}");
    assert_eq!(received[0]["to"], json!(["leo@cats.test"]));
    assert_eq!(
        received[0]["subject"],
        "Welcome to MCF, Leo: choose your password"
    );
    let list = admin(&mut c)
        .await
        .search(&SearchQuery {
            to: Some("leo@cats.test".into()),
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(list[0].status, Status::Sent, "{list:?}");

    // The link in the mail sets Leo's password.
    let eml = std::fs::read_to_string(received[0]["file"].as_str().unwrap()).unwrap();
    // Undo quoted-printable: soft line breaks and the encoded '='.
    let eml = eml.replace("=\r\n", "").replace("=3D", "=");
    let link = eml
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/password?token="))
        .expect("a link in the text part")
        .trim_end_matches(['"', '>'])
        .to_owned();
    let (base, token) = link.split_once("?token=").unwrap();
    let token = token
        .split(['"', '<', '\r', '\n'])
        .next()
        .unwrap()
        .replace("=\r\n", "");
    let r = c
        .http
        .post(base)
        .form(&[
            ("token", token.as_str()),
            ("password", "leo-picks-a-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    c.sign_in("leo@cats.test", "leo-picks-a-password").await;
}

/// Asks for a payout notice to Tom under `key`; its id.
async fn message(c: &mut Cluster, key: &str) -> String {
    let m = admin(c)
        .await
        .submit(&submission(
            "tom@cats.test",
            "payout_sent",
            json!({"name": "Tom", "amount": 60, "period": "May"}),
            key,
        ))
        .await
        .unwrap();
    m.id.to_string()
}

/// Waits until message `id` has `status`; the message then.
async fn wait_status(c: &mut Cluster, id: &str, status: &'static str) -> MessageOut {
    let m = c
        .wait_until("mail", &format!("/messages/{id}"), status, |m| {
            m["status"] == status
        })
        .await;
    serde_json::from_value(m).unwrap()
}

pub(crate) fn smtp_env(port: u16) -> Vec<(String, String)> {
    vec![
        (
            "MCF_MAIL__SMTP_URL".into(),
            format!("smtp://127.0.0.1:{port}"),
        ),
        ("MCF_MAIL__BACKOFF_MAX_MS".into(), "300".into()),
    ]
}

/// A server that rejects the recipient (5xx): retrying cannot help, the message is dead at
/// once with the server's reason.
pub async fn rejected_messages_are_dead_at_once(mode: Mode) {
    let port = testing::free_port();
    let capture = Capture::start_with(port, &["--reject"]);
    let mut c = Cluster::start_with(mode, smtp_env(port), None).await;
    let id = message(&mut c, "r1").await;
    let m = wait_status(&mut c, &id, "dead").await;
    assert_eq!(m.attempts, 1, "{m:?}");
    assert!(m.last_error.as_deref().unwrap().contains("550"), "{m:?}");
    assert!(capture.received().await.is_empty());
}

/// A slow server still gets every message exactly once, also from two mail replicas
/// competing for the queue (distributed mode: each message is claimed by one).
pub async fn a_slow_server_gets_each_message_once(mode: Mode) {
    let port = testing::free_port();
    let capture = Capture::start_with(port, &["--slow-ms", "200"]);
    let mut c = Cluster::start_with(mode, smtp_env(port), None).await;
    if mode == Mode::Distributed {
        let second = c.spawn("mail", "", testing::free_port());
        c.procs.push(second);
    }
    let mut ids = Vec::new();
    for k in ["s1", "s2", "s3", "s4"] {
        ids.push(message(&mut c, k).await);
    }
    for id in &ids {
        wait_status(&mut c, id, "sent").await;
    }
    let received = capture.received().await;
    let mut message_ids: Vec<String> = received
        .iter()
        .map(|r| r["message_id"].as_str().unwrap().to_owned())
        .collect();
    message_ids.sort();
    message_ids.dedup();
    assert_eq!((received.len(), message_ids.len()), (4, 4), "{received:?}");
}
