//! A service's OpenAPI 3.1 document, generated from its route declarations.

use auth::{Endpoint, path_params};
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

#[cfg(test)]
mod tests;

/// The media type of every refusal and failure (RFC 9457).
const PROBLEM_JSON: &str = "application/problem+json";

/// An OpenAPI 3.1 document of a service's routes, generated from their declarations
/// ([`auth::Route`]): every path and method, which need a bearer token, the roles allowed
/// (`x-roles`), path, query and `Idempotency-Key` parameters, request bodies and answers
/// with their JSON Schemas (2020-12, as OpenAPI 3.1 takes them), and on every route the
/// `application/problem+json` answer of 4xx and 5xx. Named types are shared in
/// `components/schemas`.
///
/// Schemas describe what a reader of the JSON accepts (schemars' deserialize contract) for
/// requests and answers alike, so a type used both ways has one schema.
///
/// Routes declared with the older `Routes::add`/`merge` appear with their parameters and
/// security but no bodies.
///
/// # Panics
/// If a route's query type is not a struct with named fields (its fields are the query
/// parameters): a declaration bug found when the service is assembled.
pub fn openapi(service: &str, endpoints: &[Endpoint]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let problem = generator.subschema_for::<client::Problem>();
    let mut paths = Map::new();
    for endpoint in endpoints {
        let operation = operation(endpoint, &mut generator, &problem);
        let entry = paths
            .entry(endpoint.rule.path.clone())
            .or_insert_with(|| json!({}));
        entry[endpoint.rule.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": format!("MCF {service}"), "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": format!("/api/{service}")}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": generator.take_definitions(true),
        },
        "paths": paths,
    })
}

fn operation(endpoint: &Endpoint, generator: &mut SchemaGenerator, problem: &Schema) -> Value {
    let (rule, declared) = (&endpoint.rule, &endpoint.operation);
    let mut op = json!({"operationId": format!("{} {}", rule.method, rule.path)});
    if let Some(summary) = declared.summary {
        op["summary"] = json!(summary);
    }
    match &rule.roles {
        None => op["security"] = json!([]),
        Some(roles) => {
            op["security"] = json!([{"bearer": []}]);
            op["x-roles"] = json!(roles);
        }
    }

    let mut parameters: Vec<Value> = path_params(&rule.path)
        .map(|name| {
            let schema = match declared.params.iter().find(|(n, _)| *n == name) {
                Some((_, schema)) => schema(generator).to_value(),
                None => json!({"type": "string"}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    if let Some(query) = declared.query {
        parameters.extend(query_parameters(
            &query(generator).to_value(),
            &rule.method,
            &rule.path,
        ));
    }
    if declared.idempotency_key {
        parameters.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Retrying with the same key answers the first result instead of acting twice.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }));
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }

    if let Some(body) = declared.body {
        let mut media = json!({});
        if let Some(schema) = body.schema {
            media["schema"] = schema(generator).to_value();
        }
        op["requestBody"] = json!({"required": true, "content": {body.media_type: media}});
    }

    let mut responses = Map::new();
    for answer in &declared.answers {
        // Answers of one status (a photo as JPEG or PNG) share its entry, one media type each.
        let response = responses.entry(answer.status.as_str()).or_insert_with(
            || json!({"description": answer.status.canonical_reason().unwrap_or("Answer")}),
        );
        if let Some(content) = answer.content {
            let mut media = json!({});
            if let Some(schema) = content.schema {
                media["schema"] = schema(generator).to_value();
            }
            if response.get("content").is_none() {
                response["content"] = json!({});
            }
            response["content"][content.media_type] = media;
        }
        if answer.location {
            response["headers"] = json!({"Location": {
                "description": "Where to go next.",
                "required": true,
                "schema": {"type": "string"},
            }});
        }
    }
    if declared.answers.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "See the problem+json `code` on errors."}),
        );
    }
    for (range, description) in [
        (
            "4XX",
            "Refused: the problem's `code` says why, `field` which input.",
        ),
        ("5XX", "Failed: logged; the problem says no more."),
    ] {
        responses.entry(range).or_insert_with(|| {
            json!({
                "description": description,
                "content": {PROBLEM_JSON: {"schema": problem}},
            })
        });
    }
    op["responses"] = Value::Object(responses);
    op
}

/// The query parameters a query type's schema (an object, inline) describes: one per
/// property, required as the schema says.
fn query_parameters(schema: &Value, method: &str, path: &str) -> Vec<Value> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        panic!("{method} {path}: the query type must be a struct with named fields");
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = not_null(property.clone());
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
            });
            if let Some(description) = property
                .as_object_mut()
                .and_then(|p| p.remove("description"))
            {
                parameter["description"] = description;
            }
            parameter["schema"] = property;
            parameter
        })
        .collect()
}

/// A property's schema without its `null` alternative: an absent query parameter is how a
/// query says `None`, there is no null to send.
fn not_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
        return schema;
    }
    let alternatives = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(alternatives) = alternatives {
        let kept: Vec<&Value> = alternatives
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if kept.len() == 1 && kept.len() < alternatives.len() {
            let mut only = kept[0].clone();
            // Keep what described the property as a whole (its description, default).
            if let (Some(only), Some(outer)) = (only.as_object_mut(), schema.as_object()) {
                for (k, v) in outer {
                    if k != "anyOf" && k != "oneOf" {
                        only.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            return only;
        }
    }
    schema
}
