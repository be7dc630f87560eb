//! Mail: stored, templated, delivered (as .eml files without SMTP), idempotent, retried.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Cluster, Mode};

pub async fn messages_are_stored_rendered_and_delivered_once(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let body = json!({"to": "Tom@Cats.test", "template": "set_password_invite",
        "variables": {"name": "Tom", "link": "http://mcf/p?token=abc"}, "idempotency_key": "invite-tom"});
    let (status, first) = c.post("mail", "/messages", body.clone()).await;
    assert_eq!(status, 202, "{first}");
    let (status, again) = c.post("mail", "/messages", body.clone()).await;
    assert_eq!(
        (status, &again["id"]),
        (202, &first["id"]),
        "same key, same message"
    );
    let mut other = body.clone();
    other["to"] = json!("felix@cats.test");
    let (status, problem) = c.post("mail", "/messages", other).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("idempotency_key"))
    );

    let id = first["id"].as_str().unwrap().to_owned();
    let admin = c.admin_token().await;
    c.eventually(Duration::from_secs(30), "the message is sent", |c| {
        let url = format!("{}/messages/{id}", c.api("mail"));
        let http = c.http.clone();
        let admin = admin.clone();
        async move {
            let m: serde_json::Value = http
                .get(url)
                .bearer_auth(admin)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if m["status"] == "sent" {
                Ok(())
            } else {
                Err(m.to_string())
            }
        }
    })
    .await;
    let files: Vec<_> = std::fs::read_dir(c.mail_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(files.len(), 1, "delivered once");
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        eml.contains("Subject: Welcome to MCF, Tom: choose your password"),
        "{eml}"
    );
    assert!(
        eml.contains(&format!("Message-ID: <{id}@mcf.mail>")),
        "{eml}"
    );
    assert!(eml.contains("To: tom@cats.test"), "{eml}");

    // Clear refusals that change nothing.
    for (body, field) in [
        (
            json!({"to": "tom@cats.test", "template": "nope", "idempotency_key": "k1"}),
            "template",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent", "variables": {"name": "Tom"},
            "idempotency_key": "k2"}),
            "variables.amount",
        ),
        (
            json!({"to": "tom@cats.test\r\nBcc: evil@x.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "May"}, "idempotency_key": "k3"}),
            "to",
        ),
        (
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": {"name": "T", "amount": 1, "period": "May\nBcc: evil@x.test"}, "idempotency_key": "k4"}),
            "variables.period",
        ),
    ] {
        let (status, problem) = c.post("mail", "/messages", body).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some(field)),
            "{problem}"
        );
    }
    let (_, all) = c.get("mail", "/messages").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (status, _) = c
        .post("mail", &format!("/messages/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 409, "only dead messages are retried");
    // Clients may not send mail.
    let client = c.token_for("mia", "client").await;
    let (status, _) = c.post_as(&client, "mail", "/messages", body).await;
    assert_eq!(status, 403);
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
    let (status, m) = c
        .post(
            "mail",
            "/messages",
            json!({"to": "tom@cats.test", "template": "payout_sent",
            "variables": {"name": "Tom", "amount": 60, "period": "May"}, "idempotency_key": "p1"}),
        )
        .await;
    assert_eq!(status, 202);
    let id = m["id"].as_str().unwrap().to_owned();
    let admin = c.admin_token().await;
    c.eventually(
        Duration::from_secs(60),
        "the message is dead after 3 attempts",
        |c| {
            let url = format!("{}/messages/{id}", c.api("mail"));
            let http = c.http.clone();
            let admin = admin.clone();
            async move {
                let m: serde_json::Value = http
                    .get(url)
                    .bearer_auth(admin)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                if m["status"] == "dead" && m["attempts"] == 3 && m["last_error"].is_string() {
                    Ok(())
                } else {
                    Err(m.to_string())
                }
            }
        },
    )
    .await;
    let (_, dead) = c.get("mail", "/messages?status=dead").await;
    assert_eq!(dead.as_array().unwrap().len(), 1);
    let (status, _) = c
        .post("mail", &format!("/messages/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 204);
    let (_, m) = c.get("mail", &format!("/messages/{id}")).await;
    assert!(
        m["status"] == "queued" || m["attempts"].as_i64().unwrap() < 3,
        "{m}"
    );
}
