//! The client against a tiny axum server on a free port.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, RawQuery};
use axum::http::{HeaderMap as Headers, StatusCode as Status};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Thing {
    id: String,
    name: String,
}

fn problem(status: Status, code: &str, detail: &str, field: Option<&str>) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap(),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    (
        status,
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn create(headers: Headers, body: String) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer good") {
        return problem(Status::UNAUTHORIZED, "unauthorized", "missing token", None);
    }
    let new: Value = serde_json::from_str(&body).unwrap();
    let name = new["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return problem(
            Status::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "name: must not be empty",
            Some("name"),
        );
    }
    // A replay (same key) answers 200 instead of 201, as the services do.
    let replay = headers
        .get("idempotency-key")
        .is_some_and(|k| k.as_bytes() == b"seen");
    let status = if replay { Status::OK } else { Status::CREATED };
    (
        status,
        [("location", "/things/t1")],
        axum::Json(json!({"id": "t1", "name": name})),
    )
        .into_response()
}

async fn server() -> String {
    let app = Router::new()
        .route("/api/things/things", axum::routing::post(create))
        .route(
            "/api/things/things/{id}",
            get(|Path(id): Path<String>| async move {
                if id == "t1" {
                    axum::Json(json!({"id": "t1", "name": "one"})).into_response()
                } else {
                    problem(Status::NOT_FOUND, "not_found", "thing not found", None)
                }
            })
            .delete(|| async { Status::NO_CONTENT }),
        )
        .route(
            "/api/things/echo",
            get(|RawQuery(q): RawQuery| async move { axum::Json(json!({"query": q})) }).post(
                |headers: Headers, body: String| async move {
                    axum::Json(json!({
                        "content_type": headers.get("content-type").map(|v| v.to_str().unwrap()),
                        "body": body,
                    }))
                },
            ),
        )
        .route(
            "/api/things/moved",
            get(|| async { (Status::SEE_OTHER, [("location", "/elsewhere")]) }),
        )
        .route(
            "/api/things/oauth",
            get(|| async {
                (
                    Status::BAD_REQUEST,
                    axum::Json(json!({"error": "invalid_grant"})),
                )
            }),
        )
        .route(
            "/api/things/slow",
            get(|Query(q): Query<Value>| async move {
                let _ = q;
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/api/things")
}

#[tokio::test]
async fn typed_calls_answer_their_types_and_refusals_their_problem() {
    let base = server().await;
    let api = Client::new(format!("{base}/"));
    assert_eq!(api.base_url(), base);

    let thing: Thing = api.get("/things/t1").await.unwrap();
    assert_eq!(thing.name, "one");
    let e = api.get::<Thing>("/things/nope").await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(e.problem().unwrap().detail, "thing not found");
    assert_eq!(e.field(), None);
    assert_eq!(e.to_string(), "404 not_found: thing not found");

    // No token, then a token: the same call.
    let e = api
        .post::<_, Thing>("/things", &json!({"name": "two"}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("unauthorized"));
    let signed_in = api.with_token("good");
    assert_eq!(signed_in.token(), Some("good"));
    assert!(
        !format!("{signed_in:?}").contains("good"),
        "the token is never printed"
    );
    let created: Thing = signed_in
        .post("/things", &json!({"name": "two"}))
        .await
        .unwrap();
    assert_eq!(created.name, "two");
    let e = signed_in
        .post::<_, Thing>("/things", &json!({"name": ""}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field(), e.status()),
        (
            Some("validation_failed"),
            Some("name"),
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        )
    );
    // The request's own token can be dropped or replaced.
    let e = signed_in
        .request(Method::POST, "/things")
        .json(&json!({"name": "x"}))
        .without_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("unauthorized"));
    let reply = api
        .request(Method::POST, "/things")
        .bearer("good")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::CREATED);

    // 204: `()`.
    signed_in.delete::<()>("/things/t1").await.unwrap();
}

#[tokio::test]
async fn raw_status_headers_query_forms_and_idempotency_keys_are_reachable() {
    let api = Client::new(server().await).with_token("good");
    let first = api
        .request(Method::POST, "/things")
        .json(&json!({"name": "two"}))
        .idempotency_key("new")
        .send()
        .await
        .unwrap();
    let replay = api
        .request(Method::POST, "/things")
        .json(&json!({"name": "two"}))
        .idempotency_key("seen")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (first.status, replay.status),
        (StatusCode::CREATED, StatusCode::OK)
    );
    assert_eq!(first.location(), Some("/things/t1"));
    assert_eq!(first.json::<Thing>().unwrap(), replay.json().unwrap());
    // An optional key: sent when there is one.
    let keyed = |key| {
        api.request(Method::POST, "/things")
            .json(&json!({"name": "two"}))
            .maybe_idempotency_key(key)
            .send()
    };
    assert_eq!(keyed(Some("seen")).await.unwrap().status, StatusCode::OK);
    assert_eq!(keyed(None).await.unwrap().status, StatusCode::CREATED);
    let created: Thing = api
        .post_keyed("/things", &json!({"name": "two"}), Some("seen"))
        .await
        .unwrap();
    assert_eq!(created.name, "two");

    // Redirects are answers, not followed.
    let moved = api.request(Method::GET, "/moved").send().await.unwrap();
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    assert_eq!(moved.header("location"), Some("/elsewhere"));

    let echo: Value = api
        .request(Method::GET, "/echo?a=1")
        .query(&[("b", "x y"), ("c", "&")])
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo["query"], "a=1&b=x+y&c=%26");
    let echo: Value = api.get_query("/echo", &[("b", "1")]).await.unwrap();
    assert_eq!(echo["query"], "b=1");
    // A bodiless POST sends no content type and no body.
    let echo: Value = api.post_empty("/echo").await.unwrap();
    assert_eq!(echo, json!({"content_type": null, "body": ""}));
    let echo: Value = api
        .request(Method::POST, "/echo")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        echo,
        json!({"content_type": "application/x-www-form-urlencoded", "body": "grant_type=client_credentials"})
    );

    // A refusal that is not problem+json keeps its reply; send_raw answers any status.
    let e = api.get::<Value>("/oauth").await.unwrap_err();
    assert!(matches!(e, ClientError::Decode(_)), "{e:?}");
    assert_eq!(
        (e.status(), e.code()),
        (Some(StatusCode::BAD_REQUEST), None)
    );
    assert_eq!(
        e.reply().unwrap().json::<Value>().unwrap()["error"],
        "invalid_grant"
    );
    let raw = api.request(Method::GET, "/oauth").send_raw().await.unwrap();
    assert_eq!(raw.status, StatusCode::BAD_REQUEST);
    // A success body of another type does not decode.
    let e = api.get::<Vec<Thing>>("/things/t1").await.unwrap_err();
    assert!(matches!(e, ClientError::Decode(_)), "{e:?}");
    assert_eq!(e.status(), Some(StatusCode::OK));
}

#[tokio::test]
async fn no_answer_and_unsendable_requests_are_told_apart() {
    // A port nobody listens on (the discard port).
    let e = Client::new("http://127.0.0.1:9/api/things")
        .get::<Value>("/things")
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Transport(_)), "{e:?}");
    assert_eq!((e.status(), e.code()), (None, None));

    let base = server().await;
    let impatient = Client::over(
        base.clone(),
        HttpTransport::with_timeout(Duration::from_millis(200)),
    );
    let e = impatient.get::<Value>("/slow").await.unwrap_err();
    assert!(
        matches!(e, ClientError::Transport(ref m) if m.contains("timed out")),
        "{e:?}"
    );

    let e = Client::new(base)
        .request(Method::GET, "/echo")
        .idempotency_key("line\nbreak")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Request(_)), "{e:?}");
}

#[test]
fn the_problem_schema_names_every_field_and_requires_all_but_field() {
    let schema = serde_json::to_value(schemars::schema_for!(Problem)).unwrap();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["code", "detail", "status", "title", "type"]);
    assert!(schema["properties"]["field"].is_object());
}
