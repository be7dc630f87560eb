//! The document of the test kit's demo service: valid OpenAPI 3.1, with its bodies.

use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::testing::TestService;
use crate::testing::demo::SPEC;

/// OpenAPI 3.1's JSON Schema (https://spec.openapis.org/oas/3.1/schema/2022-10-07, the copy
/// schemathesis 4 ships and the e2e fuzz validates against).
const OAS_31_SCHEMA: &str = include_str!("oas-3.1-schema-2022-10-07.json");

/// Every violation of OpenAPI 3.1's schema, of JSON Schema 2020-12 by a shared schema, and
/// every repeated `operationId`.
fn violations(doc: &Value) -> Vec<String> {
    let oas: Value = serde_json::from_str(OAS_31_SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&oas).expect("OpenAPI 3.1's schema compiles");
    let mut found: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            found.push(format!("components/schemas/{name}: {e}"));
        }
    }
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != all {
        found.push("operationId values are not unique".into());
    }
    found
}

/// A schema validating against the document's shared schemas.
fn schema_in(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root).expect("the schema compiles")
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_and_describes_the_bodies() {
    let ts = TestService::start(&SPEC, json!({})).await;
    let doc = ts.openapi().await;
    let found = violations(&doc);
    assert!(found.is_empty(), "{found:#?}");
    let schemas = &doc["components"]["schemas"];
    let paths = &doc["paths"];

    // A JSON body in, a JSON body out, problems on refusals; security and roles as before.
    let create = &paths["/things"]["post"];
    assert_eq!(create["summary"], "Create a thing");
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewThing"
    );
    assert_eq!(create["requestBody"]["required"], true);
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Thing"
    );
    for range in ["4XX", "5XX"] {
        assert_eq!(
            create["responses"][range]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
    assert_eq!(create["security"], json!([{"bearer": []}]));
    assert_eq!(create["x-roles"], json!(["manager", "admin"]));
    assert_eq!(schemas["NewThing"]["required"], json!(["name"]));
    assert_eq!(
        schemas["NewThing"]["properties"]["name"]["description"],
        "1 to 40 characters."
    );
    assert_eq!(schemas["Thing"]["properties"]["id"]["format"], "uuid");

    // The query type's fields are the query parameters (by name: JSON objects keep no
    // order here).
    let list = &paths["/things"]["get"];
    assert_eq!(
        list["parameters"],
        json!([
            {"name": "limit", "in": "query", "required": false,
             "description": "At most this many, 1 to 100 (default 50).",
             "schema": {"type": "integer", "format": "int64"}},
            {"name": "prefix", "in": "query", "required": false,
             "description": "Only things whose name starts with this.",
             "schema": {"type": "string"}},
        ])
    );
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Thing"}})
    );

    // Typed path ids, forms, pages, empty answers.
    let get = &paths["/things/{id}"]["get"];
    assert_eq!(
        get["parameters"],
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}])
    );
    let rename = &paths["/things/{id}/rename"]["post"];
    assert_eq!(
        rename["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/Rename"
    );
    assert_eq!(
        rename["responses"]["204"],
        json!({"description": "No Content"})
    );
    let page = &paths["/page"]["get"];
    assert_eq!(page["security"], json!([]));
    assert_eq!(
        page["responses"]["200"]["content"],
        json!({"text/html": {}, "text/plain": {}})
    );

    // The routes every service carries, with their types.
    let letters = &paths["/ops/dead-letters"]["get"];
    assert_eq!(letters["parameters"][0]["name"], "all");
    assert_eq!(letters["parameters"][0]["schema"]["type"], "boolean");
    assert_eq!(
        letters["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/DeadLetter"
    );
    assert_eq!(
        paths["/ops/dead-letters/{id}/replay"]["post"]["parameters"][0]["schema"],
        json!({"type": "string"})
    );
    for name in ["MessagingStats", "TaskState", "Health", "Problem"] {
        assert!(schemas[name].is_object(), "{name} in {schemas}");
    }
    assert!(paths["/openapi.json"]["get"]["responses"]["200"].is_object());

    // What the service answers fits what the document says.
    let health = ts.ops().health().await.unwrap();
    let documented =
        &paths["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(schema_in(&doc, documented).is_valid(&serde_json::to_value(health).unwrap()));
}

#[test]
fn the_check_finds_what_is_not_openapi_3_1() {
    let mut doc = crate::openapi("things", &[]);
    assert!(violations(&doc).is_empty(), "{:#?}", violations(&doc));
    doc["openapi"] = json!("3.0.3");
    doc["paths"] = json!({"/x": {"get": {"responses": {"200": {"description": 7}}}}});
    doc["components"]["schemas"]["Bad"] = json!({"type": "no-such-type"});
    let found = violations(&doc);
    assert!(
        found.iter().any(|v| v.starts_with("/openapi")),
        "{found:#?}"
    );
    assert!(found.iter().any(|v| v.contains("/paths")), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("components/schemas/Bad")),
        "{found:#?}"
    );
}

#[tokio::test]
async fn the_problem_schema_is_what_every_refusal_answers() {
    let doc = crate::openapi("things", &[]);
    let problem = schema_in(&doc, &json!({"$ref": "#/components/schemas/Problem"}));
    for refusal in [
        web::ApiError::invalid("name", "must not be empty"),
        web::ApiError::not_found("thing"),
        web::ApiError::conflict("already_replayed", "replayed before"),
    ] {
        let response = refusal.into_response();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(problem.is_valid(&body), "{body}");
        let decoded: client::Problem = serde_json::from_value(body).unwrap();
        assert!(!decoded.code.is_empty());
    }
    // A body missing `code` is not a problem.
    assert!(!problem.is_valid(
        &json!({"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x"})
    ));
}
