//! A person signs in with a real browser (Debian's Chromium, driven by
//! `tests/browser/sign-in.mjs`), and the tokens the web app gets are accepted by the other
//! services.

use std::path::PathBuf;
use std::process::Command;

use ::iam::client::{IamClient, TokenRequest};

use crate::harness::{Cluster, Mode, REDIRECT, location_params, pkce};

pub async fn a_person_signs_in_with_a_browser(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.token_for("mia", "client").await;
    let (verifier, challenge) = pkce();
    let url = format!(
        "{}/authorize?response_type=code&client_id=mcf-web&redirect_uri={REDIRECT}&state=browser&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        c.api("iam")
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let screenshot = std::env::temp_dir().join(format!("mcf-sign-in-{mode:?}.png"));
    let url_for_browser = url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("sign-in.mjs"))
            .args([url_for_browser.as_str(), "mia@cats.test", "password-of-mia"])
            .arg(&screenshot)
            .output()
            .expect("node runs (scripts/setup installs the browser test's packages)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the browser could not sign in: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let landed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(landed.starts_with(REDIRECT), "{landed}");
    let params = location_params(&landed);
    assert_eq!(params["state"], "browser");
    let tokens = IamClient(c.anonymous("iam"))
        .token(&TokenRequest {
            grant_type: Some("authorization_code".into()),
            client_id: Some("mcf-web".into()),
            redirect_uri: Some(REDIRECT.into()),
            code: Some(params["code"].clone()),
            code_verifier: Some(verifier),
            ..TokenRequest::default()
        })
        .await
        .unwrap();
    // Ordering accepts the token: Mia lists her (no) orders.
    let (status, orders) = c.get_as(&tokens.access_token, "ordering", "/orders").await;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(orders, serde_json::json!([]));
}

/// A 1x1 PNG: the candidate's photo, the check-in photo and the signed form's.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Every role's main job in the portal, in a real browser (`tests/browser/portal.mjs`):
/// a candidate applies and takes the mailed tests, a manager assigns and accepts, the new
/// worker sets a password from the invite; a client orders, the supply employee issues the
/// kit, the worker checks in with a photo on a phone and finishes; an admin lists the dead
/// letters. With `PORTAL_SCREENSHOTS=<dir>` the main pages' screenshots are kept there
/// (`docs/screenshots/` is made so).
pub async fn the_portal_walks_every_role(mode: Mode) {
    use base64::Engine;

    // Given the people of each role, a test for candidates and a service to order; access
    // tokens that live 61 s, so the portal refreshes them on almost every page (and shares
    // one refresh among a page's concurrent requests: IAM ends a sign-in whose refresh token
    // is used twice)
    let ttl = ("MCF_IAM__ACCESS_TOKEN_TTL_S".to_owned(), "61".to_owned());
    let mut c = Cluster::start_with(mode, vec![ttl], None).await;
    let boss = c.token_for("boss", "manager").await;
    c.token_for("tom", "client").await;
    c.token_for("sam", "supply").await;
    crate::hiring::cleaning_test(&mut c, &boss, "Dishes").await;
    c.service_type().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    std::fs::write(
        &photo,
        base64::engine::general_purpose::STANDARD
            .decode(PNG)
            .unwrap(),
    )
    .unwrap();
    let shots = std::env::var("PORTAL_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    let base = c.api("iam").trim_end_matches("/api/iam").to_owned();
    let person = |name: &str| serde_json::json!({"email": format!("{name}@cats.test"), "password": format!("password-of-{name}")});
    let config = serde_json::json!({
        "base": base,
        "mailDir": c.mail_dir(),
        "shots": shots,
        "photo": photo,
        "manager": person("boss"),
        "client": person("tom"),
        "supply": person("sam"),
        "admin": {"email": crate::harness::ADMIN_EMAIL, "password": crate::harness::ADMIN_PASSWORD},
        "candidate": {"name": "Leo", "email": "leo@cats.test"},
        "workerPassword": "leo-the-long-password",
        "testName": "Dishes",
        "serviceName": "Cleaning",
    });
    let config_file = dir.path().join("portal.json");
    std::fs::write(&config_file, config.to_string()).unwrap();

    // When the browser walks every role's pages
    // (and every step was seen through)
    walk(
        "portal.mjs",
        vec![config_file.display().to_string()],
        &shots,
        "the portal walk",
    )
    .await;
    // And what the browser did is what the services hold: Leo's order is completed
    let tom = c.sign_in("tom@cats.test", "password-of-tom").await.access;
    let (status, orders) = c.get_as(&tom, "ordering", "/orders?status=completed").await;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    drop(dir);
}

/// The portal distributed: `mcf serve portal` (its own process, public at its own URL, which
/// the services mail links to and IAM accepts as its sign-in callback) in front of the
/// `mcf serve <service>` processes, walked in a real browser
/// (`tests/browser/portal-distributed.mjs`): a client whose browser reads Russian signs in
/// through IAM's public URL and orders in Russian, sees it active; the supply employee opens
/// the kit from the mailed link and issues it; the worker checks in with a photo on a phone.
/// The client's confirmation was mailed in Russian (the portal told IAM her language at
/// sign-in; Mail heard it from IAM).
pub async fn the_portal_works_distributed() {
    use base64::Engine;

    // Given a distributed system whose portal will listen at `portal`
    let port = testing::free_port();
    let portal = format!("http://127.0.0.1:{port}");
    let env = vec![
        ("MCF_HTTP__PORTAL_URL".to_owned(), portal.clone()),
        (
            "MCF_IAM__WEB_REDIRECT_URIS".to_owned(),
            format!("[\"{REDIRECT}\", \"{portal}/auth/callback\"]"),
        ),
        (
            "MCF_IAM__WEB_POST_LOGOUT_REDIRECT_URIS".to_owned(),
            format!("[\"{portal}/\"]"),
        ),
    ];
    let mut c = Cluster::start_with(Mode::Distributed, env, None).await;
    // And a client, a supply employee and a worker, and a service to order
    c.token_for("kim", "client").await;
    c.token_for("sam", "supply").await;
    crate::lifecycle::worker(&mut c, "wes", 90).await;
    c.service_type().await;
    // And the portal, alone in its process, calling the services' processes
    let p = c.spawn(mcf::system::PORTAL, "", port);
    assert_eq!(p.base, portal, "the portal listens where its URL says");
    c.procs.push(p);

    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    std::fs::write(
        &photo,
        base64::engine::general_purpose::STANDARD
            .decode(PNG)
            .unwrap(),
    )
    .unwrap();
    let shots = dir.path().join("shots");
    let person = |name: &str| serde_json::json!({"email": format!("{name}@cats.test"), "password": format!("password-of-{name}")});
    let config = serde_json::json!({
        "base": portal,
        "mailDir": c.mail_dir(),
        "shots": shots,
        "photo": photo,
        "client": person("kim"),
        "supply": person("sam"),
        "worker": person("wes"),
        "serviceName": "Cleaning",
    });
    let config_file = dir.path().join("portal.json");
    std::fs::write(&config_file, config.to_string()).unwrap();

    // When the browser walks it
    // (and every step was seen through)
    walk(
        "portal-distributed.mjs",
        vec![config_file.display().to_string()],
        &shots,
        "the distributed portal walk",
    )
    .await;
    // And the services hold what the browser did: Kim's order is under way
    let kim = c.sign_in("kim@cats.test", "password-of-kim").await.access;
    let (status, orders) = c
        .get_as(&kim, "ordering", "/orders?status=in_progress")
        .await;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    // And her confirmation was mailed in Russian, the language her browser read
    let mail = mail::client::MailClient(c.admin_client("mail").await);
    let query = mail::client::SearchQuery {
        to: Some("kim@cats.test".into()),
        ..Default::default()
    };
    let confirmed: Vec<_> = mail
        .search(&query)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == "order_activated")
        .map(|m| m.subject)
        .collect();
    assert_eq!(confirmed, ["Ваш заказ «Cleaning» подтверждён"]);
    drop(dir);
}

/// Runs the browser script `script` (in `tests/browser`) with `args` under node and asserts
/// that it printed "ok"; otherwise fails naming `what`, the script's output and where its
/// screenshots are.
pub async fn walk(script: &str, args: Vec<String>, shots: &std::path::Path, what: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .output()
            .expect("node runs (scripts/setup installs the browser test's packages)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "{what} failed (screenshots in {}): {}{}",
        shots.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
