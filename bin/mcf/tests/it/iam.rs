//! Single sign-on: the authorization code flow with PKCE, refresh rotation, service
//! tokens, key rotation, the admin API.

use serde_json::json;

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Cluster, Mode, REDIRECT, location_params, pkce};

pub async fn sign_in_with_code_and_pkce(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let (status, discovery) = c.get("iam", "/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let issuer = discovery["issuer"].as_str().unwrap().to_owned();
    let (_, jwks) = c.get("iam", "/jwks.json").await;
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let (status, openapi) = c.get("iam", "/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(openapi["paths"]["/token"]["post"]["security"], json!([]));
    assert_eq!(
        openapi["paths"]["/accounts"]["get"]["x-roles"],
        json!(["admin"])
    );

    // The sign-in page renders for a valid request.
    let url = format!(
        "{}/authorize?response_type=code&client_id=mcf-web&redirect_uri={REDIRECT}&state=s&code_challenge={}&code_challenge_method=S256",
        c.api("iam"),
        pkce().1
    );
    let page = c.http.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    // An unregistered redirect URI is never redirected to.
    let bad = url.replace("app.test", "evil.test");
    let r = c.http.get(&bad).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none());

    // Wrong password: the page again, no code.
    let (status, body) = c
        .authorize(ADMIN_EMAIL, "wrong-password-123", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401);
    assert!(body.contains("Wrong e-mail or password"));
    // PKCE plain is refused at the authorization request.
    let (status, location) = c
        .authorize(
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            "plain-verifier-as-challenge",
            "plain",
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location_params(&location)["error"], "invalid_request");

    // The whole flow.
    let (_, challenge) = pkce();
    let (status, location) = c
        .authorize(ADMIN_EMAIL, ADMIN_PASSWORD, &challenge, "S256")
        .await;
    assert_eq!(status, 303, "{location}");
    assert!(location.starts_with(REDIRECT));
    let code = location_params(&location)["code"].clone();
    let exchange = |verifier: String, code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", "mcf-web".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code", code),
            ("code_verifier", verifier),
        ]
    };
    let form = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    // Missing verifier: refused.
    let (status, body) = c
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "mcf-web"),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Wrong verifier (on a fresh code): refused, and that code is spent too.
    let (verifier, challenge) = pkce();
    let (_, location) = c
        .authorize(ADMIN_EMAIL, ADMIN_PASSWORD, &challenge, "S256")
        .await;
    let code = location_params(&location)["code"].clone();
    let wrong = form(&exchange(pkce().0, code.clone()));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = c.token(&wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let right = form(&exchange(verifier.clone(), code.clone()));
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = c.token(&right).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "code reuse: {body}"
    );

    // A fresh code with the right verifier gives tokens.
    let tokens = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(tokens.id_token.is_some());
    let (status, me) = c.get_as(&tokens.access, "iam", "/userinfo").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["roles"], json!(["admin"]));
    let url = format!("{}/userinfo", c.api("iam"));
    let r = c.http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token, no answer");
    assert!(issuer.ends_with("/api/iam"));
}

pub async fn refresh_rotation_and_reuse_detection(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let first = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = |t: &str| {
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", "mcf-web"),
            ("refresh_token", t),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect::<Vec<_>>()
    };
    let form =
        |v: &[(&'static str, String)]| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let f = form(&refresh(&first.refresh));
    let (status, second) = c
        .token(&f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
        .await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh, "rotated");
    // The first token again: reuse. The whole family is revoked, the new one too.
    let (status, body) = c
        .token(&f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let f2 = form(&refresh(&second_refresh));
    let (status, body) = c
        .token(&f2.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "family revoked"
    );
}

pub async fn admin_accounts_service_tokens_and_key_rotation(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let admin = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, tom) = c
        .post_as(
            &admin.access,
            "iam",
            "/accounts",
            json!({"email": "Tom@Cats.test", "name": "Tom",
            "roles": ["client"], "password": "tom-password-123"}),
        )
        .await;
    assert_eq!(status, 201, "{tom}");
    assert_eq!(tom["email"], "tom@cats.test");
    let (status, problem) = c
        .post_as(
            &admin.access,
            "iam",
            "/accounts",
            json!({"email": "tom@cats.test", "name": "Tom 2",
            "roles": ["client"]}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("email_taken"))
    );
    let (status, problem) = c
        .post_as(
            &admin.access,
            "iam",
            "/accounts",
            json!({"email": "x@cats.test", "name": "X",
            "roles": ["wizard"]}),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("roles")));

    // A client may not use the admin API.
    let client = c.sign_in("tom@cats.test", "tom-password-123").await;
    let (status, problem) = c.get_as(&client.access, "iam", "/accounts").await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));

    // Service accounts get tokens with client credentials.
    let (status, svc) = c
        .post_as(
            &admin.access,
            "iam",
            "/service-accounts",
            json!({"name": "billing"}),
        )
        .await;
    assert_eq!(status, 201, "{svc}");
    let (id, secret) = (
        svc["client_id"].as_str().unwrap().to_owned(),
        svc["client_secret"].as_str().unwrap().to_owned(),
    );
    let (status, body) = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "nope"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = c
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let service_token = body["access_token"].as_str().unwrap().to_owned();
    let (status, me) = c.get_as(&service_token, "iam", "/userinfo").await;
    assert_eq!((status, me["roles"].clone()), (200, json!(["service"])));

    // Key rotation: new tokens use the new key; tokens signed before stay valid.
    let (status, rotated) = c
        .post_as(&admin.access, "iam", "/keys/rotate", json!({}))
        .await;
    assert_eq!(status, 201, "{rotated}");
    let (_, jwks) = c.get("iam", "/jwks.json").await;
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
    assert_eq!(kid(&after.access), rotated["kid"].as_str().unwrap());
    assert_ne!(kid(&admin.access), kid(&after.access));
    // Services refetch the keys for an unknown kid at most once per jwks_min_refetch_s
    // (1 s): within that, the new key is accepted everywhere.
    let start = std::time::Instant::now();
    loop {
        let (status, _) = c.get_as(&after.access, "iam", "/userinfo").await;
        if status == 200 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "new key never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, _) = c.get_as(&admin.access, "iam", "/userinfo").await;
    assert_eq!(status, 200, "tokens signed by the retired key stay valid");

    // Disabling an account ends its sessions.
    let tom_id = tom["id"].as_str().unwrap().to_owned();
    let url = format!("{}/accounts/{tom_id}", c.api("iam"));
    let r = c
        .http
        .patch(url)
        .bearer_auth(&admin.access)
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, body) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "mcf-web"),
            ("refresh_token", &client.refresh),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = c
        .authorize("tom@cats.test", "tom-password-123", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401, "a disabled account cannot sign in");
}

pub async fn throttling_sign_out_and_account_events(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    c.token_for("felix", "client").await;
    // Five wrong passwords are just wrong; the sixth starts a (short) block.
    for _ in 0..6 {
        let (status, _) = c
            .authorize("felix@cats.test", "wrong-password!!", &pkce().1, "S256")
            .await;
        assert_eq!(status, 401);
    }
    let (status, body) = c
        .authorize("felix@cats.test", "password-of-felix", &pkce().1, "S256")
        .await;
    assert_eq!(status, 429, "blocked, even with the right password: {body}");
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
    let (status, _) = c
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "mcf-web"),
            ("refresh_token", &tokens.refresh),
        ])
        .await;
    assert_eq!(status, 200);
    let url = format!("{}/logout", c.api("iam"));
    let r = c
        .http
        .post(url)
        .form(&[
            ("client_id", "mcf-web"),
            ("refresh_token", tokens.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, ops) = c.get("iam", "/ops/messaging").await;
    assert!(
        ops["outbox_by_type"]["iam.account.created"]
            .as_i64()
            .unwrap()
            >= 2,
        "{ops}"
    );

    // Account changes are announced too.
    let (_, accounts) = c.get("iam", "/accounts").await;
    let felix = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "felix@cats.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = c.admin_token().await;
    let url = format!("{}/accounts/{felix}", c.api("iam"));
    let r = c
        .http
        .patch(url)
        .bearer_auth(admin)
        .json(&json!({"roles": ["client", "worker"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, ops) = c.get("iam", "/ops/messaging").await;
    assert_eq!(ops["outbox_by_type"]["iam.account.changed"], 1, "{ops}");
}

pub async fn set_password_links_are_single_use(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let (status, luna) = c
        .post(
            "iam",
            "/accounts",
            json!({"email": "luna@cats.test", "name": "Luna", "roles": ["worker"]}),
        )
        .await;
    assert_eq!(status, 201);
    // No password yet: no sign-in.
    let (status, _) = c
        .authorize("luna@cats.test", "anything-at-all", &pkce().1, "S256")
        .await;
    assert_eq!(status, 401);
    let id = luna["id"].as_str().unwrap();
    let (status, link) = c
        .post("iam", &format!("/accounts/{id}/password-link"), json!({}))
        .await;
    assert_eq!(status, 201, "{link}");
    let link = link["link"].as_str().unwrap().to_owned();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let page = c.http.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let set = |password: &'static str| {
        let http = c.http.clone();
        let url = link.split('?').next().unwrap().to_owned();
        let token = token.clone();
        async move {
            http.post(url)
                .form(&[("token", token.as_str()), ("password", password)])
                .send()
                .await
                .unwrap()
                .status()
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
    let (status, _) = upstream
        .post(
            "iam",
            "/accounts",
            json!({"email": "kitty@happycat.test", "name": "Kitty",
            "roles": ["client"], "password": "kitty-password-1"}),
        )
        .await;
    assert_eq!(status, 201);
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
        let (_, me) = c
            .get_as(tokens["access_token"].as_str().unwrap(), "iam", "/userinfo")
            .await;
        assert_eq!(me["email"], "kitty@happycat.test");
        assert_eq!(me["roles"], json!(["client"]));
    }
    // One account, however often she signs in.
    let (_, accounts) = c.get("iam", "/accounts").await;
    let kitties = accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["email"] == "kitty@happycat.test")
        .count();
    assert_eq!(kitties, 1);
    drop(upstream);
}
