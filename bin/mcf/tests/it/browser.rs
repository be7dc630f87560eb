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
