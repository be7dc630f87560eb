//! Single sign-on across processes: the authorization code flow with PKCE, refresh
//! rotation, service tokens, key rotation, the admin API, federation with a second IAM.
//! Refusals that stay inside IAM are tested in-process (`services/iam/src/tests`).

use ::iam::client::{
    AccountChange, IamClient, NewAccount, NewServiceAccount, SetPasswordForm, Status, TokenRequest,
    oauth_error,
};
use serde_json::json;

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode, REDIRECT, location_params, pkce};

/// IAM's API as the first admin.
async fn admin(c: &mut Cluster) -> IamClient {
    IamClient(c.admin_client("iam").await)
}

/// `mcf-web` refreshing with `token`.
fn refresh(token: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("refresh_token".into()),
        client_id: Some("mcf-web".into()),
        refresh_token: Some(token.into()),
        ..TokenRequest::default()
    }
}

/// A new account `name@cats.test` with `role` and `password`.
fn person(name: &str, role: &str, password: Option<&str>) -> NewAccount {
    NewAccount {
        email: format!("{name}@cats.test"),
        name: name.into(),
        roles: vec![role.into()],
        password: password.map(str::to_owned),
    }
}

pub async fn sign_in_with_code_and_pkce(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let anonymous = IamClient(c.anonymous("iam"));
    let discovery = anonymous.discovery().await.unwrap();
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let issuer = discovery["issuer"].as_str().unwrap().to_owned();
    let jwks = anonymous.jwks().await.unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let (status, openapi) = c.get("iam", "/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(openapi["paths"]["/token"]["post"]["security"], json!([]));
    assert_eq!(
        openapi["paths"]["/accounts"]["get"]["x-roles"],
        json!(["admin"])
    );

    // The sign-in page renders for a valid request, through the whole system's surface.
    let url = format!(
        "{}/authorize?response_type=code&client_id=mcf-web&redirect_uri={REDIRECT}&state=s&code_challenge={}&code_challenge_method=S256",
        c.api("iam"),
        pkce().1
    );
    let page = c.http.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));

    // The whole flow; the tokens verify at every service against IAM's published keys.
    let tokens = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(tokens.id_token.is_some());
    let me = IamClient(c.client("iam", &tokens.access))
        .userinfo()
        .await
        .unwrap();
    assert_eq!(me.email, ADMIN_EMAIL);
    assert_eq!(json!(me.roles), json!(["admin"]));
    let refused = anonymous.userinfo().await.unwrap_err();
    assert_eq!(
        refused.status().map(|s| s.as_u16()),
        Some(401),
        "no token, no answer"
    );
    assert!(issuer.ends_with("/api/iam"));
}

pub async fn refresh_rotation_and_reuse_detection(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let first = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let api = IamClient(c.anonymous("iam"));
    let second = api.token(&refresh(&first.refresh)).await.unwrap();
    let second_refresh = second.refresh_token.unwrap();
    assert_ne!(second_refresh, first.refresh, "rotated");
    // The first token again: reuse. The whole family is revoked, the new one too.
    let reuse = api.token(&refresh(&first.refresh)).await.unwrap_err();
    assert_eq!(
        (
            reuse.status().map(|s| s.as_u16()),
            oauth_error(&reuse).map(|e| e.error)
        ),
        (Some(400), Some("invalid_grant".into()))
    );
    let revoked = api.token(&refresh(&second_refresh)).await.unwrap_err();
    assert_eq!(
        (
            revoked.status().map(|s| s.as_u16()),
            oauth_error(&revoked).map(|e| e.error)
        ),
        (Some(400), Some("invalid_grant".into())),
        "family revoked"
    );
}

pub async fn admin_accounts_service_tokens_and_key_rotation(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let admin_tokens = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = IamClient(c.client("iam", &admin_tokens.access));
    let tom = admin
        .create_account(
            &NewAccount {
                email: "Tom@Cats.test".into(),
                ..person("Tom", "client", Some("tom-password-123"))
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(tom.email, "tom@cats.test");

    // A client may not use the admin API (its token verified by IAM's own process).
    let client = c.sign_in("tom@cats.test", "tom-password-123").await;
    let refused = IamClient(c.client("iam", &client.access))
        .accounts()
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status().map(|s| s.as_u16()), refused.code()),
        (Some(403), Some("forbidden"))
    );

    // Service accounts get tokens with client credentials.
    let svc = admin
        .create_service_account(&NewServiceAccount {
            name: "billing".into(),
            audiences: None,
        })
        .await
        .unwrap();
    let credentials = |secret: &str| TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(svc.client_id.clone()),
        client_secret: Some(secret.into()),
        ..TokenRequest::default()
    };
    let anonymous = IamClient(c.anonymous("iam"));
    let wrong = anonymous.token(&credentials("nope")).await.unwrap_err();
    assert_eq!(
        (
            wrong.status().map(|s| s.as_u16()),
            oauth_error(&wrong).map(|e| e.error)
        ),
        (Some(401), Some("invalid_client".into()))
    );
    let body = anonymous
        .token(&credentials(&svc.client_secret))
        .await
        .unwrap();
    let me = IamClient(c.client("iam", &body.access_token))
        .userinfo()
        .await
        .unwrap();
    assert_eq!(json!(me.roles), json!(["service"]));

    // The system's own services sign in as themselves: IAM registered credentials derived
    // from the system secret at start (service::peers), for every registered service.
    let own = c.service_credentials("ordering");
    let body = anonymous
        .token(&TokenRequest {
            grant_type: Some("client_credentials".into()),
            client_id: Some(own.client_id.clone()),
            client_secret: Some(own.client_secret.clone()),
            ..TokenRequest::default()
        })
        .await
        .unwrap();
    let me = IamClient(c.client("iam", &body.access_token))
        .userinfo()
        .await
        .unwrap();
    assert_eq!(
        (json!(me.roles), me.name.as_str()),
        (json!(["service"]), "mcf-ordering")
    );

    // Key rotation: new tokens use the new key; tokens signed before stay valid.
    let rotated = admin.rotate_keys().await.unwrap();
    let jwks = anonymous.jwks().await.unwrap();
    let published = |alg: &str| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == alg)
            .count()
    };
    // The new and the retired key of each kind (EdDSA: access tokens, RS256: ID tokens).
    assert_eq!((published("EdDSA"), published("RS256")), (2, 2), "{jwks}");
    let after = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let kid = |t: &str| {
        use base64::Engine;
        let header = t.split('.').next().unwrap();
        let h: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    assert_eq!(kid(&after.access), rotated.kid);
    assert_ne!(kid(&admin_tokens.access), kid(&after.access));
    // Services refetch the keys for an unknown kid at most once per jwks_min_refetch_s
    // (1 s): within that, the new key is accepted everywhere.
    let as_after = IamClient(c.client("iam", &after.access));
    let start = std::time::Instant::now();
    // 30 s: generous, a loaded CI machine.
    while as_after.userinfo().await.is_err() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "new key never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    admin
        .userinfo()
        .await
        .expect("tokens signed by the retired key stay valid");

    // Disabling an account ends its sessions.
    admin
        .change_account(
            &tom.id.to_string(),
            &AccountChange {
                status: Some(Status::Disabled),
                ..AccountChange::default()
            },
        )
        .await
        .unwrap();
    let ended = anonymous
        .token(&refresh(&client.refresh))
        .await
        .unwrap_err();
    assert_eq!(
        (
            ended.status().map(|s| s.as_u16()),
            oauth_error(&ended).map(|e| e.error)
        ),
        (Some(400), Some("invalid_grant".into()))
    );
    let (status, _) = c
        .authorize("tom@cats.test", "tom-password-123", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401, "a disabled account cannot sign in");
}

pub async fn throttling_sign_out_and_account_events(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.token_for("felix", "client").await;
    // Five wrong passwords are just wrong; the sixth starts a (short: 1 s) block. A loaded
    // machine may ask again only after it: that sign-in succeeds (the account's count starts
    // again) and the round is repeated, at most 3 (18 failures, below the address's 20).
    let mut rounds = 0;
    let body = loop {
        rounds += 1;
        for _ in 0..6 {
            let (status, _) = c
                .authorize("felix@cats.test", "wrong-password!!", &pkce().1, "S256")
                .await;
            assert_eq!(status, 401);
        }
        let (status, body) = c
            .authorize("felix@cats.test", "password-of-felix", &pkce().1, "S256")
            .await;
        if status == 429 || rounds == 3 {
            assert_eq!(status, 429, "blocked, even with the right password: {body}");
            break body;
        }
        assert_eq!(status, 303, "{body}");
    };
    assert!(body.contains("Too many failed sign-ins"));
    // Blocks end: the real user gets in once it is over.
    let start = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (status, _) = c
            .authorize("felix@cats.test", "password-of-felix", &pkce().1, "S256")
            .await;
        if status == 303 {
            break;
        }
        assert_eq!(status, 429);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "never unblocked"
        );
    }

    // Signing out ends the refresh token's whole family.
    let tokens = c.sign_in("felix@cats.test", "password-of-felix").await;
    let anonymous = IamClient(c.anonymous("iam"));
    anonymous.token(&refresh(&tokens.refresh)).await.unwrap();
    let signed_out = anonymous
        .logout(&::iam::client::LogoutRequest {
            client_id: Some("mcf-web".into()),
            refresh_token: Some(tokens.refresh.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(signed_out.status.as_u16(), 200);
    let (_, ops) = c.get("iam", "/ops/messaging").await;
    assert!(
        ops["outbox_by_type"]["iam.account.created"]
            .as_i64()
            .unwrap()
            >= 2,
        "{ops}"
    );

    // Account changes are announced too.
    let admin = admin(&mut c).await;
    let felix = admin
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.email == "felix@cats.test")
        .unwrap();
    admin
        .change_account(
            &felix.id.to_string(),
            &AccountChange {
                roles: Some(vec!["client".into(), "worker".into()]),
                ..AccountChange::default()
            },
        )
        .await
        .unwrap();
    let (_, ops) = c.get("iam", "/ops/messaging").await;
    assert_eq!(ops["outbox_by_type"]["iam.account.changed"], 1, "{ops}");
}

pub async fn set_password_links_are_single_use(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let admin = admin(&mut c).await;
    let luna = admin
        .create_account(&person("luna", "worker", None), None)
        .await
        .unwrap();
    // No password yet: no sign-in.
    let (status, _) = c
        .authorize("luna@cats.test", "anything-at-all", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401);
    let link = admin
        .password_link(&luna.id.to_string())
        .await
        .unwrap()
        .link;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    // The link as mailed opens the page (IAM's public URL is the system's).
    let page = c.http.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let anonymous = IamClient(c.anonymous("iam"));
    let set = |password: &'static str| {
        let (anonymous, token) = (anonymous.clone(), token.clone());
        async move {
            anonymous
                .set_password(&SetPasswordForm {
                    token: Some(token),
                    password: Some(password.into()),
                    lang: None,
                })
                .await
                .unwrap()
                .status
                .as_u16()
        }
    };
    assert_eq!(set("short").await, 422);
    assert_eq!(set("luna-chooses-this").await, 200);
    assert_eq!(set("and-again-later").await, 410, "single use");
    c.sign_in("luna@cats.test", "luna-chooses-this").await;
}

/// Clients arrive signed in at Happy Cat Box: a second IAM plays that upstream provider.
pub async fn federated_sign_in_creates_the_client_once(mode: Mode) {
    let our_port = testing::free_port();
    let upstream_port = testing::free_port();
    let our_callback = format!("http://127.0.0.1:{our_port}/api/iam/federation/callback");
    let mut upstream = Cluster::start_with(
        Mode::Embedded,
        vec![(
            "MCF_IAM__WEB_REDIRECT_URIS".into(),
            format!("[\"{REDIRECT}\", \"{our_callback}\"]"),
        )],
        Some(upstream_port),
    )
    .await;
    admin(&mut upstream)
        .await
        .create_account(
            &NewAccount {
                email: "kitty@happycat.test".into(),
                ..person("Kitty", "client", Some("kitty-password-1"))
            },
            None,
        )
        .await
        .unwrap();
    let mut c = Cluster::start_with(
        mode,
        vec![
            (
                "MCF_IAM__UPSTREAM__ISSUER".into(),
                format!("http://127.0.0.1:{upstream_port}/api/iam"),
            ),
            ("MCF_IAM__UPSTREAM__CLIENT_ID".into(), "mcf-web".into()),
            ("MCF_IAM__UPSTREAM__NAME".into(), "Happy Cat Box".into()),
        ],
        Some(our_port),
    )
    .await;

    let iam = c.api("iam");
    for round in 0..2 {
        let (verifier, challenge) = pkce();
        let query = format!(
            "response_type=code&client_id=mcf-web&redirect_uri={REDIRECT}&state=st{round}&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
        );
        // The sign-in page offers the upstream provider.
        let page = c
            .http
            .get(format!("{iam}/authorize?{query}"))
            .send()
            .await
            .unwrap();
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("Sign in with Happy Cat Box")
        );
        // Ours sends the browser upstream...
        let r = c
            .http
            .get(format!("{iam}/federation/start?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let upstream_authorize = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(upstream_authorize.starts_with(&format!("http://127.0.0.1:{upstream_port}/")));
        // ...where the person signs in...
        let mut form: Vec<(String, String)> =
            location_params(&upstream_authorize).into_iter().collect();
        form.push(("email".into(), "kitty@happycat.test".into()));
        form.push(("password".into(), "kitty-password-1".into()));
        let r = c
            .http
            .post(upstream_authorize.split('?').next().unwrap())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let back = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with(&our_callback), "{back}");
        // ...and comes back: ours finishes the original request.
        let r = c.http.get(&back).send().await.unwrap();
        assert_eq!(
            r.status().as_u16(),
            303,
            "{}",
            r.text().await.unwrap_or_default()
        );
        let done = r.headers()["location"].to_str().unwrap().to_owned();
        let params = location_params(&done);
        assert!(done.starts_with(REDIRECT));
        assert_eq!(params["state"], format!("st{round}"));
        let (status, tokens) = c.exchange(&params["code"], &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let me = IamClient(c.client("iam", tokens["access_token"].as_str().unwrap()))
            .userinfo()
            .await
            .unwrap();
        assert_eq!(me.email, "kitty@happycat.test");
        assert_eq!(json!(me.roles), json!(["client"]));
    }
    // One account, however often she signs in.
    let kitties = admin(&mut c)
        .await
        .accounts()
        .await
        .unwrap()
        .iter()
        .filter(|a| a.email == "kitty@happycat.test")
        .count();
    assert_eq!(kitties, 1);
    drop(upstream);
}
