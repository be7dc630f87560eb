//! Hiring, end to end: apply -> assign tests -> take them -> accept -> the new worker sets a
//! password from the mail, signs in, and is matched to the next order.

use std::time::{Duration, Instant};

use client::ClientError;
use contracts::TestId;
use hiring::client::HiringClient;
use hiring::domain::{ApplicationForm, Question, Status, TestSpec};
use hiring::{PageQuery, TestAnswers};
use serde_json::json;

use crate::harness::{Cluster, Mode};

/// A (tiny) PNG, base64: what the form's photo field carries.
pub const PHOTO: &str = "iVBORw0KGgoAAAAAAAAAAA==";

/// Waits for the .eml Mail wrote (no SMTP in tests) whose text contains `needle`, and
/// returns the first link in it that contains `path`.
pub async fn mailed_link(c: &Cluster, needle: &str, path: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(dir) = std::fs::read_dir(c.mail_dir()) {
            for file in dir.filter_map(|e| e.ok()) {
                let eml = std::fs::read_to_string(file.path()).unwrap_or_default();
                // Undo quoted-printable: soft line breaks and the encoded '='.
                let eml = eml.replace("=\r\n", "").replace("=3D", "=");
                if eml.contains(needle)
                    && let Some(link) = eml
                        .split(|ch: char| ch.is_whitespace() || ch == '"' || ch == '<' || ch == '>')
                        .find(|w| w.starts_with("http") && w.contains(path))
                {
                    return link.to_owned();
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no mail containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A manager's two-question cleaning test named `name` (the right answers are `[1, 1]`);
/// its id.
pub async fn cleaning_test(c: &mut Cluster, manager: &str, name: &str) -> String {
    let question = |text: &str, choices: &[&str]| Question {
        text: text.into(),
        choices: choices.iter().map(|c| (*c).to_owned()).collect(),
        answer: 1,
    };
    let spec = TestSpec {
        name: name.into(),
        characteristic: "cleaning".into(),
        pass_mark: 50,
        questions: vec![
            question("Which water for greasy pans?", &["cold", "hot"]),
            question("Soap first or water first?", &["soap", "water"]),
        ],
    };
    let test = hiring_as(c, manager)
        .create_test(&spec, None)
        .await
        .unwrap();
    test.id.to_string()
}

/// Hiring's typed client as `token`.
pub fn hiring_as(c: &mut Cluster, token: &str) -> HiringClient {
    HiringClient(c.client("hiring", token))
}

/// Hiring's typed client as a candidate (no account).
pub fn candidate(c: &mut Cluster) -> HiringClient {
    HiringClient(c.anonymous("hiring"))
}

/// The public form as a candidate fills it in.
pub fn form(name: &str, email: &str) -> ApplicationForm {
    ApplicationForm {
        name: name.into(),
        age: 3,
        breed: "Siamese".into(),
        coat_colour: "cream".into(),
        email: email.into(),
        photo: PHOTO.into(),
        language: None,
    }
}

/// A candidate applies on the public form; the application's id.
pub async fn apply(c: &mut Cluster, name: &str, email: &str) -> String {
    let applied = candidate(c).apply(&form(name, email), None).await.unwrap();
    assert_eq!(applied.status, Status::Open);
    applied.id.to_string()
}

/// The manager assigns `test_id` to `application`; the token of the link mailed to the
/// candidate (the first such mail: one candidate per system).
pub async fn assign(c: &mut Cluster, manager: &str, application: &str, test_id: &str) -> String {
    let (application, test_id) = (application.parse().unwrap(), test_id.parse().unwrap());
    let assigned = hiring_as(c, manager)
        .assign_tests(application, &[test_id])
        .await
        .unwrap();
    assert_eq!(assigned.tests.len(), 1, "{assigned:?}");
    let link = mailed_link(c, "your tests are ready", "/take?token=").await;
    link.split("token=").nth(1).unwrap().to_owned()
}

/// The answers to one test, through the private link's `token`.
pub fn answers(token: &str, test_id: TestId, answers: &[usize]) -> TestAnswers {
    TestAnswers {
        token: token.into(),
        test_id,
        answers: answers.to_vec(),
    }
}

pub async fn apply_test_accept_and_work(mode: Mode) {
    // Given a manager's test (the refusals of each step are tested in-process, in Hiring)
    let mut c = Cluster::start(mode).await;
    let boss = c.token_for("boss", "manager").await;
    let test_id: TestId = cleaning_test(&mut c, &boss, "Dishes")
        .await
        .parse()
        .unwrap();
    let manager = hiring_as(&mut c, &boss);

    // When a candidate applies on the public form (no account needed)
    let mut leo = form("Leo", "Leo@Cats.test");
    (leo.age, leo.breed, leo.coat_colour) = (4, "Maine Coon".into(), "ginger".into());
    let application = candidate(&mut c).apply(&leo, None).await.unwrap().id;

    // Then the manager finds it and assigns the test; the candidate gets a private link
    let open = PageQuery {
        status: Some(Status::Open),
        ..PageQuery::default()
    };
    let page = manager.applications(&open).await.unwrap();
    assert_eq!(page.items[0].id, application);
    manager.assign_tests(application, &[test_id]).await.unwrap();
    let link = mailed_link(&c, "your tests are ready", "/take?token=").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();

    // When she opens the link (the portal's page; it shows what Hiring's public route
    // answers) and takes the test
    assert!(!link.contains("/api/"), "the link opens the portal: {link}");
    let public = candidate(&mut c);
    let shown = serde_json::to_value(public.take_page(&token).await.unwrap()).unwrap();
    assert_eq!(shown["tests"][0]["questions"].as_array().unwrap().len(), 2);
    assert!(!shown.to_string().contains("answer"), "{shown}");
    let recorded = public
        .take(&answers(&token, test_id, &[1, 1]))
        .await
        .unwrap();
    assert!(recorded.recorded);

    // Then the manager sees the score and accepts her
    let detail = manager.application(application).await.unwrap();
    assert_eq!(detail.tests[0].score, Some(100), "{detail:?}");
    let accepted = manager.accept(application).await.unwrap();
    assert_eq!(
        accepted.characteristics,
        [("cleaning".to_owned(), 100)].into()
    );
    assert_eq!(accepted.strengths, vec!["cleaning"]);
    let worker_id = accepted.worker_id.to_string();
    // The photo is kept, checked by content, for staff.
    let photo = manager.photo(application).await.unwrap();
    assert_eq!(photo.media_type, "image/png");

    // IAM made the account and mailed the invite; the worker sets a password and signs in.
    let invite = mailed_link(&c, "choose your password", "/password?token=").await;
    let (base, token) = invite.split_once("?token=").unwrap();
    let r = c
        .http
        .post(base)
        .form(&[("token", token), ("password", "leo-works-hard-now")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let leo = c
        .sign_in("leo@cats.test", "leo-works-hard-now")
        .await
        .access;
    let (_, me) = c.get_as(&leo, "iam", "/userinfo").await;
    assert_eq!(
        (me["sub"].as_str(), &me["roles"]),
        (Some(worker_id.as_str()), &json!(["worker"]))
    );

    // Matching knows the worker; the next order goes to Leo (the only worker).
    c.wait_until(
        "matching",
        &format!("/normal-samples/{worker_id}"),
        "the normal sample",
        |s| s["skills"]["cleaning"] == 100,
    )
    .await;
    let st = c.service_type().await;
    c.token_for("mia", "client").await;
    let ids = c.request_orders(1, &st, "mia").await;
    let order = c
        .wait_until(
            "ordering",
            &format!("/orders/{}", ids[0]),
            "the order is active",
            |o| o["status"] == "active",
        )
        .await;
    assert_eq!(order["worker_id"], worker_id.as_str());
    let (status, _) = c
        .get_as(&leo, "ordering", &format!("/orders/{}", ids[0]))
        .await;
    assert_eq!(status, 200, "the worker sees the job");
}

/// A flood from one address is refused after its allowance; the manager API still answers.
pub async fn a_flood_from_one_source_is_refused(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let boss = c.token_for("boss", "manager").await;
    let public = candidate(&mut c);
    let mut statuses = Vec::new();
    let start = Instant::now();
    for i in 0..30 {
        let form = form("Bot", &format!("bot{i}@flood.test"));
        statuses.push(match public.apply(&form, None).await {
            Ok(_) => 202,
            Err(e) => e.status().map_or(0, |s| s.as_u16()),
        });
    }
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // The allowance is 10 a minute (burst 10), refilled at one every 6 s: on a slow machine
    // the 30 requests may earn a token or two more.
    let earned = (start.elapsed().as_secs_f64() / 6.0).ceil() as usize;
    assert!((10..=10 + earned).contains(&accepted), "{statuses:?}");
    assert_eq!(refused, 30 - accepted, "{statuses:?}");
    // A body over the limit is refused before it is read. The server answers 413 (or 429:
    // the allowance is spent) and closes the connection with the body's rest unread; on a
    // busy machine the client may still be sending then, and the kernel's reset can destroy
    // the answer in flight, so a connection the server closed counts as refused too. The
    // application list below shows nothing was stored either way.
    let mut big = form("x", "big@flood.test");
    big.name = "x".repeat(2_000_000);
    let err = public.apply(&big, None).await.unwrap_err();
    let status = err.status().map(|s| s.as_u16());
    let closed = matches!(&err, ClientError::Transport(m) if !m.contains("timed out"));
    assert!(matches!(status, Some(413 | 429)) || closed, "{err:?}");
    let all = PageQuery {
        per_page: Some(100),
        ..PageQuery::default()
    };
    let page = hiring_as(&mut c, &boss).applications(&all).await.unwrap();
    assert_eq!(page.items.len(), accepted);
}
