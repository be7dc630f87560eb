use std::sync::Arc;

use auth::Role;
use service::Clock;
use service::testing::TestService;
use tokio::sync::Notify;

use super::{as_, payout};
use crate::client::Status;
use crate::domain::Retries;
use crate::transport::Transport;
use crate::{App, MailConfig, app};

/// Mail whose SMTP server is `smtp_url` (empty: `.eml` files), on an adjustable clock.
async fn mail_on(smtp_url: &str) -> (TestService, MailConfig, Transport) {
    let section = serde_json::json!({"smtp_url": smtp_url, "max_attempts": 2,
        "backoff_initial_ms": 60_000, "smtp_timeout_s": 2});
    let ts = TestService::builder(&crate::SPEC)
        .section(section.clone())
        .clock(Clock::adjustable())
        .start()
        .await;
    let mut config: MailConfig = serde_json::from_value(section).unwrap();
    config.file_dir = ts.ctx().data_dir.join("mail");
    let transport = Transport::new(&config, ts.ctx().clock.now().into()).unwrap();
    (ts, config, transport)
}

fn app_of(ts: &TestService) -> App {
    App {
        ctx: ts.ctx().clone(),
        wake: Arc::new(Notify::new()),
    }
}

#[tokio::test]
async fn given_no_smtp_server_when_delivered_then_one_eml_file_per_message() {
    let (ts, config, transport) = mail_on("").await;
    let admin = as_(&ts, &[Role::Admin]);
    let id = admin.submit(&payout("p1")).await.unwrap().id;
    // When the deliverer steps until nothing is due
    let retries = Retries::from(&config);
    assert!(
        app::deliver::next(ts.ctx(), &transport, &retries)
            .await
            .unwrap()
    );
    assert!(
        !app::deliver::next(ts.ctx(), &transport, &retries)
            .await
            .unwrap()
    );
    // Then the message is sent, once, as a file named after it
    let m = admin.message(&id.to_string()).await.unwrap();
    assert_eq!(
        (m.status, m.attempts, m.sent_at.is_some()),
        (Status::Sent, 1, true)
    );
    let files: Vec<String> = std::fs::read_dir(&config.file_dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].ends_with(&format!("_tom@cats.test_payout_sent_{id}.eml")),
        "{files:?}"
    );
}

#[tokio::test]
async fn given_an_absent_smtp_server_when_attempts_fail_then_retried_after_the_backoff_then_dead_then_retryable()
 {
    // Given a port nobody listens on (the discard port)
    let (ts, config, transport) = mail_on("smtp://127.0.0.1:9").await;
    let admin = as_(&ts, &[Role::Admin]);
    let id = admin.submit(&payout("p1")).await.unwrap().id.to_string();
    let retries = Retries::from(&config);
    let step = || app::deliver::next(ts.ctx(), &transport, &retries);
    // When the first attempt fails
    assert!(step().await.unwrap());
    let m = admin.message(&id).await.unwrap();
    assert_eq!((m.status, m.attempts), (Status::Queued, 1));
    assert!(m.last_error.is_some(), "{m:?}");
    // Then nothing is due until the business clock passes the backoff
    assert!(!step().await.unwrap(), "not due before the backoff");
    ts.ctx()
        .clock
        .advance(chrono::Duration::seconds(61))
        .unwrap();
    assert!(step().await.unwrap());
    // And after max_attempts it is dead
    let m = admin.message(&id).await.unwrap();
    assert_eq!((m.status, m.attempts), (Status::Dead, 2));
    ts.ctx().clock.advance(chrono::Duration::hours(1)).unwrap();
    assert!(!step().await.unwrap(), "a dead message is not due");
    // When an operator retries it, it is queued again, due now
    app::retry::retry(&app_of(&ts), m.id).await.unwrap();
    let m = admin.message(&id).await.unwrap();
    assert_eq!((m.status, m.attempts), (Status::Queued, 0));
    assert!(step().await.unwrap());
}
