//! Hiring, end to end: apply -> assign tests -> take them -> accept -> the new worker sets a
//! password from the mail, signs in, and is matched to the next order.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
    let (status, test) = c
        .post_as(
            manager,
            "hiring",
            "/tests",
            json!({
            "name": name, "characteristic": "cleaning", "pass_mark": 50,
            "questions": [
                {"text": "Which water for greasy pans?", "choices": ["cold", "hot"], "answer": 1},
                {"text": "Soap first or water first?", "choices": ["soap", "water"], "answer": 1}
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{test}");
    test["id"].as_str().unwrap().to_owned()
}

/// A candidate applies on the public form; the application's id.
pub async fn apply(c: &mut Cluster, name: &str, email: &str) -> String {
    let form = json!({"name": name, "age": 3, "breed": "Siamese", "coat_colour": "cream",
        "email": email, "photo": PHOTO});
    let url = format!("{}/applications", c.api("hiring"));
    let r = c.http.post(url).json(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The manager assigns `test_id` to `application`; the token of the link mailed to the
/// candidate (the first such mail: one candidate per system).
pub async fn assign(c: &mut Cluster, manager: &str, application: &str, test_id: &str) -> String {
    let (status, assigned) = c
        .post_as(
            manager,
            "hiring",
            &format!("/applications/{application}/tests"),
            json!({"test_ids": [test_id]}),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    let link = mailed_link(c, "your tests are ready", "/take?token=").await;
    link.split("token=").nth(1).unwrap().to_owned()
}

pub async fn apply_test_accept_and_work(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let boss = c.token_for("boss", "manager").await;
    let (status, test) = c
        .post_as(&boss, "hiring", "/tests", json!({
            "name": "Dishes", "characteristic": "cleaning", "pass_mark": 50,
            "questions": [
                {"text": "Which water for greasy pans?", "choices": ["cold", "hot"], "answer": 1},
                {"text": "Soap first or water first?", "choices": ["soap", "water", "neither"], "answer": 1}
            ]}))
        .await;
    assert_eq!(status, 201, "{test}");
    let test_id = test["id"].as_str().unwrap().to_owned();

    // The public form: no account needed; one open application per e-mail.
    let form = json!({"name": "Leo", "age": 4, "breed": "Maine Coon", "coat_colour": "ginger",
        "email": "Leo@Cats.test", "photo": PHOTO});
    let url = format!("{}/applications", c.api("hiring"));
    let r = c.http.post(&url).json(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let application = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = c.http.post(&url).json(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409, "deduplicated while open");
    let mut bad = form.clone();
    bad["age"] = json!(0);
    let r = c.http.post(&url).json(&bad).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "age");

    // The manager finds it and assigns the test; the candidate gets a private link by mail.
    let (_, page) = c.get_as(&boss, "hiring", "/applications?status=open").await;
    assert_eq!(page["items"][0]["id"], application.as_str());
    let (status, assigned) = c
        .post_as(
            &boss,
            "hiring",
            &format!("/applications/{application}/tests"),
            json!({"test_ids": [test_id]}),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    let link = mailed_link(&c, "your tests are ready", "/take?token=").await;
    let token = link.split("token=").nth(1).unwrap().to_owned();

    // Taking the test: no answer key shown, scored on submission, once.
    let shown: Value = c
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["tests"][0]["questions"].as_array().unwrap().len(), 2);
    assert!(!shown.to_string().contains("answer"), "{shown}");
    let take = format!("{}/take", c.api("hiring"));
    let answers = json!({"token": token, "test_id": test_id, "answers": [1, 1]});
    let r = c.http.post(&take).json(&answers).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c.http.post(&take).json(&answers).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409, "each test once");

    let (_, detail) = c
        .get_as(&boss, "hiring", &format!("/applications/{application}"))
        .await;
    assert_eq!(detail["tests"][0]["score"], 100, "{detail}");
    let (status, accepted) = c
        .post_as(
            &boss,
            "hiring",
            &format!("/applications/{application}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["characteristics"], json!({"cleaning": 100}));
    assert_eq!(accepted["strengths"], json!(["cleaning"]));
    let worker_id = accepted["worker_id"].as_str().unwrap().to_owned();
    // The photo is kept, checked by content, for staff.
    let photo_url = format!("{}/applications/{application}/photo", c.api("hiring"));
    let r = c
        .http
        .get(photo_url)
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    let mut not_an_image = form.clone();
    not_an_image["email"] = json!("gif@cats.test");
    not_an_image["photo"] = json!("R0lGODlhAQABAAAAACw=");
    let r = c.http.post(&url).json(&not_an_image).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "photo");
    // The link is dead once the application is decided.
    let r = c.http.post(&take).json(&answers).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 410);

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
    let url = format!("{}/applications", c.api("hiring"));
    let mut statuses = Vec::new();
    let start = Instant::now();
    for i in 0..30 {
        let form = json!({"name": "Bot", "age": 2, "breed": "bot", "coat_colour": "grey",
            "email": format!("bot{i}@flood.test"), "photo": PHOTO});
        statuses.push(
            c.http
                .post(&url)
                .json(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // The allowance is 10 a minute (burst 10), refilled at one every 6 s: on a slow machine
    // the 30 requests may earn a token or two more.
    let earned = (start.elapsed().as_secs_f64() / 6.0).ceil() as usize;
    assert!((10..=10 + earned).contains(&accepted), "{statuses:?}");
    assert_eq!(refused, 30 - accepted, "{statuses:?}");
    // A body over the limit is refused before it is read.
    let big = json!({"name": "x".repeat(2_000_000), "age": 2, "breed": "b", "coat_colour": "c",
        "email": "big@flood.test", "photo": PHOTO});
    let r = c.http.post(&url).json(&big).send().await.unwrap();
    assert!(matches!(r.status().as_u16(), 413 | 429), "{}", r.status());
    let (status, page) = c
        .get_as(&boss, "hiring", "/applications?per_page=100")
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), accepted);
}
