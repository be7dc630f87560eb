//! IAM as standard OpenID Connect clients and attackers meet it: a standard client library
//! (Authlib, `tests/oidc/client.py`) through the whole flow, a flood of set-password requests
//! that must neither hash nor starve sign-ins, and a person changing their own password.

use std::path::PathBuf;
use std::process::Command;

use ::iam::client::{
    IamClient, NewAccount, PasswordChange, SetPasswordForm, TokenRequest, oauth_error,
};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode, REDIRECT, authorize, pkce};

const LOGGED_OUT: &str = "http://app.test/signed-out";

/// Authlib, driven as a third-party web app would drive it, against a running system.
pub async fn a_standard_client_library_signs_in_refreshes_revokes_and_logs_out(mode: Mode) {
    let mut c = Cluster::start_with(
        mode,
        vec![(
            "MCF_IAM__WEB_POST_LOGOUT_REDIRECT_URIS".into(),
            format!("[\"{LOGGED_OUT}\"]"),
        )],
        None,
    )
    .await;
    c.token_for("otto", "client").await;
    let issuer = c.api("iam");

    // What the library checks, also checked here without it: both keys are published and
    // access tokens stay EdDSA (the only kind services accept).
    let jwks = IamClient(c.anonymous("iam")).jwks().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"EdDSA"), "{jwks}");
    let tokens = c.sign_in("otto@cats.test", "password-of-otto").await;
    assert_eq!(jwt_header(&tokens.access)["alg"], "EdDSA");
    assert_eq!(
        jwt_header(tokens.id_token.as_deref().unwrap())["alg"],
        "RS256"
    );

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/client.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([
                issuer.as_str(),
                "otto@cats.test",
                "password-of-otto",
                REDIRECT,
                LOGGED_OUT,
            ])
            .output()
            .expect("python3 runs (scripts/setup installs Authlib and requests)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the OpenID Connect client failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(seen["id_token_alg"], "RS256", "{seen}");
    assert_eq!(seen["code_replay_revokes"], true, "{seen}");
    assert_eq!(seen["end_session"], true, "{seen}");
}

fn jwt_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

/// A flood of set-password requests with links that do not work, from one source: refused
/// (410) without hashing, then throttled (429) after the limit; sign-ins meanwhile work, and
/// a real link works again once the block is over.
pub async fn a_set_password_flood_is_throttled_and_sign_in_still_works(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let admin = IamClient(c.admin_client("iam").await);
    let luna = admin
        .create_account(
            &NewAccount {
                email: "luna@cats.test".into(),
                name: "Luna".into(),
                roles: vec!["worker".into()],
                password: None,
            },
            None,
        )
        .await
        .unwrap();
    let link = admin
        .password_link(&luna.id.to_string())
        .await
        .unwrap()
        .link;
    let (_, token) = link.split_once("?token=").unwrap();
    let anonymous = IamClient(c.anonymous("iam"));
    let set = |token: String| {
        let anonymous = anonymous.clone();
        async move {
            let r = anonymous
                .set_password(&SetPasswordForm {
                    token: Some(token),
                    password: Some("flood-password-123".into()),
                    lang: None,
                })
                .await
                .unwrap();
            (r.status.as_u16(), r.header("retry-after").is_some())
        }
    };

    // The sign-in limit per address (domain::throttle::ADDRESS) is the set-password limit.
    const LIMIT: usize = 20;
    let mut statuses = Vec::new();
    for i in 0..LIMIT + 10 {
        let (status, retry) = set(format!("not-a-link-{i}")).await;
        if status == 429 {
            assert!(retry, "429 says when to retry");
        }
        statuses.push(status);
    }
    assert!(
        statuses[..LIMIT].iter().all(|s| *s == 410),
        "the first {LIMIT} bad links are just gone: {statuses:?}"
    );
    assert!(
        statuses[LIMIT..].contains(&429),
        "then the source is throttled: {statuses:?}"
    );
    // While this source is blocked from setting passwords, signing in still works.
    let tokens = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    IamClient(c.client("iam", &tokens.access))
        .userinfo()
        .await
        .unwrap();

    // The block ends; the real link then works once.
    let start = std::time::Instant::now();
    loop {
        let (status, _) = set(token.to_owned()).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "only throttled, never refused for good");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the block never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    c.sign_in("luna@cats.test", "flood-password-123").await;
}

/// A signed-in person changes their own password: the current one is required (wrong ones
/// count as failed sign-ins), every existing session ends, the new password signs in.
pub async fn a_person_changes_their_own_password(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.token_for("nina", "client").await;
    let first = c.sign_in("nina@cats.test", "password-of-nina").await;
    let second = c.sign_in("nina@cats.test", "password-of-nina").await;
    let change = |current: &str, new: &str| PasswordChange {
        current_password: current.into(),
        new_password: new.into(),
    };
    // (Wrong and short passwords are refused in-process: services/iam/src/tests.)
    let changed = IamClient(c.client("iam", &first.access))
        .change_password(&change("password-of-nina", "nina-new-password"))
        .await
        .unwrap();
    // token_for's sign-in and the two here.
    assert_eq!(changed.sessions_ended, 3, "{changed:?}");

    // Both sessions are over: their refresh tokens no longer work.
    let anonymous = IamClient(c.anonymous("iam"));
    for session in [&first, &second] {
        let refused = anonymous
            .token(&TokenRequest {
                grant_type: Some("refresh_token".into()),
                client_id: Some("mcf-web".into()),
                refresh_token: Some(session.refresh.clone()),
                ..TokenRequest::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (
                refused.status().map(|s| s.as_u16()),
                oauth_error(&refused).map(|e| e.error)
            ),
            (Some(400), Some("invalid_grant".into())),
            "{refused}"
        );
    }
    let (status, _) = c
        .authorize("nina@cats.test", "password-of-nina", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401, "the old password no longer signs in");
    c.sign_in("nina@cats.test", "nina-new-password").await;

    // Wrong current passwords are failed sign-ins: after the account's limit they block.
    let fresh = c.sign_in("nina@cats.test", "nina-new-password").await;
    let as_nina = IamClient(c.client("iam", &fresh.access));
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let refused = as_nina
            .change_password(&change("a-wrong-guess-123", "another-new-password"))
            .await
            .unwrap_err();
        statuses.push(refused.status().unwrap().as_u16());
    }
    // Five are allowed, the sixth starts a block (domain::throttle::ACCOUNT); blocks grow
    // until one catches the next attempt.
    assert!(
        statuses[..6].iter().all(|s| *s == 422) && statuses[6..].contains(&429),
        "{statuses:?}"
    );
}

/// Wrong passwords sent in parallel all count: a burst of guesses cannot slip under the
/// per-account limit by being read as one failure (each request used to read the count
/// before checking the password and write back that count plus one).
pub async fn parallel_wrong_guesses_all_count(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.token_for("pia", "client").await;
    let iam = c.api("iam");
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let (http, iam) = (c.http.clone(), iam.clone());
            tokio::spawn(async move {
                let password = format!("wrong-guess-number-{i}");
                authorize(&http, &iam, "pia@cats.test", &password, &pkce().1, "S256")
                    .await
                    .0
            })
        })
        .collect();
    for g in guesses {
        let status = g.await.unwrap();
        assert!(status == 401 || status == 429, "{status}");
    }
    // Twelve failures against a limit of five: blocked, even with the right password.
    let (status, body) = c
        .authorize("pia@cats.test", "password-of-pia", &pkce().1, "S256")
        .await;
    assert_eq!(status, 429, "{body}");
}
