//! The authorization matrix: every route of every service, and for each role whether it may
//! call it. The committed `docs/authz-matrix.json` is the reviewed matrix; this test fails
//! when a served route is missing from it (or differs), then calls every route as every role
//! and checks each cell against what the system does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ::iam::client::{IamClient, NewServiceAccount, TokenRequest};
use mcf::Config;
use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT, location_params, pkce};

const ROLES: &[&str] = &["admin", "manager", "supply", "worker", "client", "service"];

fn matrix_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/authz-matrix.json")
}

/// `{ "ordering GET /orders": {"public": false, "admin": true, ...}, ... }`
fn matrix_of(rules: &[(&'static str, service::RouteRule)]) -> BTreeMap<String, Value> {
    rules
        .iter()
        .map(|(service, r)| {
            let mut cell = serde_json::Map::new();
            cell.insert("public".into(), json!(r.roles.is_none()));
            for role in ROLES {
                let allowed = match &r.roles {
                    None => true,
                    Some(roles) => roles.is_empty() || roles.iter().any(|x| x.as_str() == *role),
                };
                cell.insert((*role).into(), json!(allowed));
            }
            (
                format!("{service} {} {}", r.method, r.path),
                Value::Object(cell),
            )
        })
        .collect()
}

struct Caller {
    http: reqwest::Client,
    base: String,
}

impl Caller {
    /// IAM's API, called with `token` if there is one.
    fn iam(&self, token: Option<&str>) -> IamClient {
        let api = client::Client::new(format!("{}/api/iam", self.base));
        IamClient(match token {
            Some(token) => api.with_token(token),
            None => api,
        })
    }

    async fn sign_in(&self, email: &str, password: &str) -> (String, String) {
        let (verifier, challenge) = pkce();
        let form = [
            ("response_type", "code"),
            ("client_id", "mcf-web"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("email", email),
            ("password", password),
        ];
        let r = self
            .http
            .post(format!("{}/api/iam/authorize", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let code = location_params(&location)["code"].clone();
        let exchange = TokenRequest {
            grant_type: Some("authorization_code".into()),
            client_id: Some("mcf-web".into()),
            redirect_uri: Some(REDIRECT.into()),
            code: Some(code),
            code_verifier: Some(verifier),
            ..TokenRequest::default()
        };
        let token = self.iam(None).token(&exchange).await.unwrap().access_token;
        let me = self.iam(Some(&token)).userinfo().await.unwrap();
        (token, me.sub.to_string())
    }

    async fn call(&self, service: &str, method: &str, path: &str, token: Option<&str>) -> u16 {
        let url = format!("{}/api/{service}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method.clone(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if method != reqwest::Method::GET {
            req = req.json(&json!({}));
        }
        req.send().await.unwrap().status().as_u16()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_matrix_and_every_cell_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.http.listen = "127.0.0.1:0".into();
    config.embedded.data_dir = dir.path().join("data");
    config
        .set("iam.bootstrap_admin_password", ADMIN_PASSWORD)
        .unwrap();
    config.set("iam.web_redirect_uris", [REDIRECT]).unwrap();
    let running = mcf::system::start_embedded(&config).await.unwrap();
    let live = matrix_of(&running.authz);

    let path = matrix_path();
    if std::env::var("UPDATE_AUTHZ").is_ok_and(|v| v == "1") {
        std::fs::write(&path, serde_json::to_string_pretty(&live).unwrap() + "\n").unwrap();
    }
    let committed: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .expect("docs/authz-matrix.json: run UPDATE_AUTHZ=1 cargo nextest run -p mcf authz"),
    )
    .unwrap();
    let missing: Vec<_> = live
        .keys()
        .filter(|k| !committed.contains_key(*k))
        .collect();
    let stale: Vec<_> = committed
        .keys()
        .filter(|k| !live.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "routes served but not in docs/authz-matrix.json: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "routes in docs/authz-matrix.json that no longer exist: {stale:?}"
    );
    for (route, cells) in &live {
        assert_eq!(
            &committed[route], cells,
            "{route}: the code allows differently than the reviewed matrix"
        );
    }

    // One caller per role.
    let caller = Caller {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: format!("http://{}", running.addr),
    };
    let (admin, admin_id) = caller.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut tokens: BTreeMap<&str, (String, String)> = BTreeMap::new();
    tokens.insert("admin", (admin.clone(), admin_id));
    for role in ["manager", "supply", "worker", "client"] {
        let email = format!("{role}@cats.test");
        let r = caller
            .http
            .post(format!("{}/api/iam/accounts", caller.base))
            .bearer_auth(&admin)
            .json(&json!({"email": email, "name": role, "roles": [role], "password": "a-long-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        tokens.insert(role, caller.sign_in(&email, "a-long-password").await);
    }
    let new = NewServiceAccount {
        name: "matrix".into(),
        audiences: None,
    };
    let svc = caller
        .iam(Some(&admin))
        .create_service_account(&new)
        .await
        .unwrap();
    let grant = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(svc.client_id),
        client_secret: Some(svc.client_secret),
        ..TokenRequest::default()
    };
    let token = caller.iam(None).token(&grant).await.unwrap().access_token;
    tokens.insert("service", (token, svc.account_id.to_string()));

    let mut wrong = Vec::new();
    for (service, rule) in &running.authz {
        let route = format!("{service} {} {}", rule.method, rule.path);
        let cells = &live[&route];
        // Without a token: only public routes answer.
        if rule.roles.is_some() {
            let status = caller
                .call(service, &rule.method, &concrete(&rule.path, "x"), None)
                .await;
            if status != 401 {
                wrong.push(format!("{route} without a token: {status}"));
            }
        }
        for role in ROLES {
            let (token, subject) = &tokens[role];
            // Path ids: the caller's own where the route is about accounts, else unknown.
            let id = if rule.path.starts_with("/accounts/") {
                subject.clone()
            } else {
                uuid::Uuid::now_v7().to_string()
            };
            let status = caller
                .call(
                    service,
                    &rule.method,
                    &concrete(&rule.path, &id),
                    Some(token),
                )
                .await;
            let allowed = cells[*role].as_bool().unwrap();
            let refused = status == 401 || status == 403;
            if allowed == refused {
                wrong.push(format!(
                    "{route} as {role}: {status}, matrix says allowed={allowed}"
                ));
            }
        }
    }
    running.stop().await;
    assert!(
        wrong.is_empty(),
        "cells that do not hold:\n{}",
        wrong.join("\n")
    );
}

fn concrete(path: &str, id: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { id } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}
