//! The kit on its demo service: what a service's in-process tests look like.

use auth::Role;
use client::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::demo::{NewThing, SPEC, ThingQuery, ThingsClient};
use super::*;

fn new_thing(name: &str, size: Option<i64>) -> NewThing {
    NewThing {
        name: name.into(),
        size,
    }
}

#[tokio::test]
async fn given_a_manager_when_things_are_created_then_they_are_listed_and_found() {
    let ts = TestService::start(&SPEC, json!({"max_size": 3})).await;
    let manager_id = Uuid::now_v7();
    let manager = ThingsClient(ts.client_as(manager_id, &[Role::Manager]));

    let mop = manager.create(&new_thing("mop", Some(3))).await.unwrap();
    let bucket = manager.create(&new_thing(" bucket ", None)).await.unwrap();
    assert_eq!(
        (mop.size, mop.created_by.clone(), bucket.name.as_str()),
        (3, manager_id.to_string(), "bucket")
    );

    // Anyone signed in reads them; the query narrows.
    let client = ThingsClient(ts.client_as(Uuid::now_v7(), &[Role::Client]));
    assert_eq!(
        client.list(&ThingQuery::default()).await.unwrap(),
        vec![bucket.clone(), mop.clone()]
    );
    let only = ThingQuery {
        prefix: Some("m".into()),
        limit: Some(1),
    };
    assert_eq!(client.list(&only).await.unwrap(), vec![mop.clone()]);
    assert_eq!(client.get(mop.id).await.unwrap(), mop);

    // A form-encoded route, through the same client.
    manager.rename(mop.id, "broom").await.unwrap();
    assert_eq!(client.get(mop.id).await.unwrap().name, "broom");

    // The raw reply when a test needs its status and headers; the row is in the database.
    let reply = ts
        .client_as(manager_id, &[Role::Manager])
        .request(Method::POST, "/things")
        .json(&new_thing("rag", None))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::CREATED);
    let rag: demo::Thing = reply.json().unwrap();
    assert_eq!(
        reply.location(),
        Some(format!("http://127.0.0.1/api/things/things/{}", rag.id).as_str())
    );
    let stored: i64 = storage::query_scalar("SELECT COUNT(*) FROM things")
        .fetch_one(ts.ctx().db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 3);
}

#[tokio::test]
async fn given_bad_input_or_the_wrong_caller_when_called_then_the_refusal_says_why() {
    let ts = TestService::start(&SPEC, json!({"max_size": 3})).await;
    let manager = ThingsClient(ts.client_as(Uuid::now_v7(), &[Role::Manager]));

    for (new, field) in [
        (new_thing("", None), "name"),
        (new_thing(&"x".repeat(41), None), "name"),
        // The section's limit reached the service.
        (new_thing("mop", Some(4)), "size"),
        (new_thing("mop", Some(0)), "size"),
    ] {
        let e = manager.create(&new).await.unwrap_err();
        assert_eq!(
            (e.status(), e.code(), e.field()),
            (
                Some(StatusCode::UNPROCESSABLE_ENTITY),
                Some("validation_failed"),
                Some(field)
            ),
            "{new:?}"
        );
    }
    let e = manager
        .list(&ThingQuery {
            prefix: None,
            limit: Some(0),
        })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("limit"));
    let e = manager.get(Uuid::now_v7()).await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    let e = manager.rename(Uuid::now_v7(), "x").await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    // A malformed path id names the parameter.
    let e = manager
        .0
        .get::<demo::Thing>("/things/nope")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        (Some("validation_failed"), Some("id"))
    );

    // No token; a client where managers are needed; a token the service did not issue for.
    let e = ThingsClient(ts.client())
        .create(&new_thing("mop", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("unauthorized"));
    assert_eq!(
        e.reply().unwrap().header("www-authenticate"),
        Some("Bearer")
    );
    let e = ThingsClient(ts.client_as(Uuid::now_v7(), &[Role::Client]))
        .create(&new_thing("mop", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("forbidden"));
    let stranger = TokenMint::new("things").token(Uuid::now_v7(), &[Role::Manager]);
    let e = ThingsClient(ts.client().with_token(stranger))
        .create(&new_thing("mop", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("unauthorized"));

    // What no route serves is answered as `mcf` answers it.
    let e = ts.client().get::<()>("/nothing").await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    let e = ts.client().delete::<()>("/things").await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::METHOD_NOT_ALLOWED));
    let page = ts
        .client()
        .request(Method::GET, "/page")
        .send()
        .await
        .unwrap();
    assert_eq!(page.text(), "<p>things</p>");
    let plain = ts
        .client()
        .request(Method::GET, "/page?plain")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.text(), "things");
}

#[tokio::test]
async fn a_section_the_service_refuses_stops_it_from_building() {
    let e = TestService::builder(&SPEC)
        .section(json!({"max_size": "big"}))
        .try_start()
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().starts_with("things: "), "{e}");
}

#[tokio::test]
async fn every_service_carries_the_ops_routes_and_its_tasks_run_when_asked() {
    let ts = TestService::builder(&SPEC).with_tasks().start().await;
    let ops = ts.ops();
    assert_eq!(ops.health().await.unwrap().status, "ok");
    assert_eq!(ops.ready().await.unwrap().status, "ready");
    assert_eq!(ops.messaging().await.unwrap().dead_letters_pending, 0);
    assert!(ops.dead_letters(true).await.unwrap().is_empty());
    let e = ops.replay("nope").await.unwrap_err();
    assert_eq!(e.code(), Some("not_found"));
    // Operators only.
    let e = crate::client::OpsClient::new(ts.client_as(Uuid::now_v7(), &[Role::Client]))
        .tasks()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("forbidden"));
    // The relay runs under its supervisor.
    let mut running = false;
    for _ in 0..500 {
        let tasks = ops.tasks().await.unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].name, "relay");
        if tasks[0].running {
            running = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(running, "the relay never ran");
    ts.stop().await;

    // Without `with_tasks` nothing runs.
    let ts = TestService::start(&SPEC, json!({})).await;
    assert!(!ts.ops().tasks().await.unwrap()[0].running);
}

#[tokio::test]
async fn a_context_alone_serves_handler_and_store_tests() {
    let test = TestService::builder(&SPEC)
        .services(&["iam", "things"])
        .clock(crate::Clock::adjustable())
        .context()
        .await;
    assert_eq!(&*test.ctx.services, ["iam", "things"]);
    assert_eq!(test.ctx.issuer, ISSUER);
    // Its database has the service's tables and the messaging ones.
    for count in ["SELECT COUNT(*) FROM things", "SELECT COUNT(*) FROM outbox"] {
        storage::query(count)
            .execute(test.ctx.db.pool())
            .await
            .unwrap();
    }
    // Its verifier takes the kit's tokens, typed ids included.
    let principal = test
        .ctx
        .verifier
        .verify(&test.token(Uuid::nil(), &[Role::Worker]))
        .await
        .unwrap();
    assert_eq!(principal.id.to_string(), Uuid::nil().to_string());
    assert_eq!(principal.roles, [Role::Worker]);
}

/// A document of one route, `POST /things` answering 201 with a thing, as `openapi` writes
/// it, plus an older route documenting only `default`.
fn document() -> serde_json::Value {
    use auth::{Access, Route, Routes};
    let routes: auth::Routes = Routes::new()
        .route(
            Route::post("/things", Access::Public).returns::<demo::Thing>(StatusCode::CREATED),
            || async { StatusCode::CREATED },
        )
        .route(
            Route::get("/things/new", Access::Public).returns_media(StatusCode::OK, "text/html"),
            || async { "" },
        )
        .route(
            Route::get("/things/{id}", Access::Public).returns::<demo::Thing>(StatusCode::OK),
            || async { "" },
        )
        .route(Route::get("/old", Access::Public), || async { "" });
    crate::openapi("things", routes.endpoints())
}

fn answer(status: u16, media_type: &str, body: &str) -> axum::http::Response<Bytes> {
    axum::http::Response::builder()
        .status(status)
        .header("content-type", media_type)
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn an_answer_that_strays_from_the_document_is_named() {
    let check = Conformance {
        document: document(),
        prefix: "/api/things".into(),
    };
    let post = |response: &axum::http::Response<Bytes>| {
        check.check(
            &axum::http::Method::POST,
            &"http://127.0.0.1/api/things/things".parse().unwrap(),
            response,
        )
    };
    let id = Uuid::now_v7();
    let thing = json!({"id": id, "name": "mop", "size": 1, "created_by": "x"}).to_string();
    let problem = json!({"type": "about:blank", "title": "Not Found", "status": 404,
                         "code": "not_found", "detail": "no"})
    .to_string();
    post(&answer(201, "application/json", &thing)).unwrap();
    post(&answer(404, "application/problem+json", &problem)).unwrap();

    let e = post(&answer(200, "application/json", &thing)).unwrap_err();
    assert!(e.contains("200 OK is not documented"), "{e}");
    let e = post(&answer(201, "text/plain", "mop")).unwrap_err();
    assert!(e.contains("answered Some(\"text/plain\")"), "{e}");
    let e = post(&answer(
        201,
        "application/json",
        &json!({"id": "nope", "name": "mop", "size": 1}).to_string(),
    ))
    .unwrap_err();
    assert!(
        e.contains("does not fit") && e.contains("/id") && e.contains("created_by"),
        "{e}"
    );
    let e = post(&answer(
        400,
        "application/json",
        r#"{"error": "invalid_grant"}"#,
    ))
    .unwrap_err();
    assert!(
        e.contains("documented [\"application/problem+json\"]"),
        "{e}"
    );

    // Literal segments win over parameters; routes declaring no answers and unknown routes
    // pass.
    let get = |path: &str, response: &axum::http::Response<Bytes>| {
        check.check(
            &axum::http::Method::GET,
            &format!("http://127.0.0.1/api/things{path}")
                .parse()
                .unwrap(),
            response,
        )
    };
    get("/things/new", &answer(200, "text/html", "<p>")).unwrap();
    assert!(get("/things/x", &answer(200, "text/html", "<p>")).is_err());
    get("/old", &answer(200, "text/plain", "anything")).unwrap();
    get(
        "/nothing",
        &answer(404, "application/problem+json", &problem),
    )
    .unwrap();
    let e = get("/nothing", &answer(200, "text/plain", "")).unwrap_err();
    assert!(e.contains("a route the document does not have"), "{e}");
}

#[tokio::test]
#[should_panic(
    expected = "the answer does not match the OpenAPI document: 200 OK is not documented"
)]
async fn a_test_client_fails_the_test_on_an_undocumented_answer() {
    // The route answers 200 where the document says 201.
    let router = Router::new().route(
        "/api/things/things",
        axum::routing::post(|| async { axum::Json(json!({})) }),
    );
    let api = Client::over(
        "http://127.0.0.1/api/things",
        Checked {
            inner: RouterTransport::new(router),
            conformance: Arc::new(Conformance {
                document: document(),
                prefix: "/api/things".into(),
            }),
        },
    );
    let _ = api
        .post::<_, serde_json::Value>("/things", &json!({}))
        .await;
}
