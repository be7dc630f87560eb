//! A service's whole HTTP surface, and its OpenAPI document.

use auth::{Access, Role, RouteRule, Routes};
use axum::Router;

use crate::{Context, Service, ops};

/// A service's whole HTTP surface: its own routes (with their rules), the messaging and
/// task operator routes (admins), health (public) and `/openapi.json` (public), every
/// request able to reach the context's token verifier; and its background tasks.
pub fn assemble(
    ctx: &Context,
    (router, mut rules): (Router, Vec<RouteRule>),
    consumers: Vec<messaging::Consumer>,
    tasks: Vec<messaging::Task>,
) -> Service {
    let task_stats = messaging::tasks::TaskStats::new(&tasks);
    let (extra, extra_rules) = Routes::new()
        .merge(
            ops::messaging_routes(ctx.db.clone(), consumers),
            ops::MESSAGING_ROUTES,
            Access::Roles(&[Role::Admin]),
        )
        .merge(
            ops::task_routes(task_stats.clone()),
            ops::TASK_ROUTES,
            Access::Roles(&[Role::Admin]),
        )
        .merge(
            ops::health_routes(ctx.db.clone()),
            ops::HEALTH_ROUTES,
            Access::Public,
        )
        .finish();
    rules.extend(extra_rules);
    rules.push(Access::Public.rule("GET", "/openapi.json"));
    let document = openapi(ctx.name, &rules);
    let extra = extra.route(
        "/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    Service {
        name: ctx.name,
        router: router
            .merge(extra)
            .layer(axum::Extension(ctx.verifier.clone())),
        tasks,
        task_stats,
        authz: rules,
    }
}

/// An OpenAPI 3.1 document of a service's routes, generated from its declared routes: every
/// path and method, which need a bearer token, and the roles allowed (`x-roles`). Request
/// and response bodies are not described yet.
pub fn openapi(service: &str, rules: &[RouteRule]) -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for r in rules {
        let entry = paths
            .entry(r.path.clone())
            .or_insert_with(|| serde_json::json!({}));
        let mut op = serde_json::json!({
            "operationId": format!("{} {}", r.method, r.path),
            "responses": {"default": {"description": "See the problem+json `code` on errors."}},
        });
        match &r.roles {
            None => op["security"] = serde_json::json!([]),
            Some(roles) => {
                op["security"] = serde_json::json!([{"bearer": []}]);
                op["x-roles"] = serde_json::json!(roles);
            }
        }
        let params: Vec<serde_json::Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = serde_json::Value::Array(params);
        }
        entry[r.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": format!("MCF {service}"), "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": format!("/api/{service}")}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use messaging::Bus;
    use messaging::bus::EmbeddedBus;
    use storage::{Db, DbOptions};

    use super::*;

    async fn context(dir: &std::path::Path) -> Context {
        let db = Db::connect(
            &storage::sqlite_url(&dir.join("t.sqlite")),
            &DbOptions::default(),
        )
        .await
        .unwrap();
        db.migrate(&[messaging::migrations()]).await.unwrap();
        let bus = EmbeddedBus::open(&dir.join("bus.sqlite")).await.unwrap();
        let (_, shutdown) = tokio::sync::watch::channel(false);
        let verifier = auth::Verifier::new(auth::VerifierConfig {
            issuer: "http://iam.test".into(),
            audience: "things".into(),
            keys: auth::KeySource::Static(auth::Jwks { keys: vec![] }),
            min_refetch: Duration::from_secs(1),
            leeway: Duration::ZERO,
        });
        Context::new(
            "things",
            db,
            Bus::Embedded(bus),
            messaging::MessagingConfig::default(),
            shutdown,
            verifier,
        )
    }

    #[tokio::test]
    async fn every_service_gets_ops_health_and_openapi_around_its_routes() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path()).await;
        let own = Routes::new()
            .add(
                "GET",
                "/things",
                Access::SignedIn,
                axum::routing::get(|| async { "[]" }),
            )
            .finish();
        let service = assemble(&ctx, own, vec![], vec![ctx.relay_task()]);
        assert_eq!(service.name, "things");
        assert_eq!(service.tasks.len(), 1);
        let declared: Vec<(String, String, Option<Vec<Role>>)> = service
            .authz
            .iter()
            .map(|r| (r.method.clone(), r.path.clone(), r.roles.clone()))
            .collect();
        let admin = Some(vec![Role::Admin]);
        for expected in [
            ("GET", "/things", Some(vec![])),
            ("GET", "/ops/messaging", admin.clone()),
            ("GET", "/ops/dead-letters", admin.clone()),
            ("POST", "/ops/dead-letters/{id}/replay", admin.clone()),
            ("GET", "/ops/tasks", admin.clone()),
            ("GET", "/health", None),
            ("GET", "/ready", None),
            ("GET", "/openapi.json", None),
        ] {
            let expected = (expected.0.to_owned(), expected.1.to_owned(), expected.2);
            assert!(declared.contains(&expected), "{expected:?} in {declared:?}");
        }
        let doc = openapi(ctx.name, &service.authz);
        assert_eq!(doc["servers"][0]["url"], "/api/things");
        assert_eq!(
            doc["paths"]["/ops/dead-letters/{id}/replay"]["post"]["parameters"][0]["name"],
            "id"
        );
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct ThingsConfig {
        size: u32,
    }

    impl Default for ThingsConfig {
        fn default() -> Self {
            ThingsConfig { size: 7 }
        }
    }

    #[tokio::test]
    async fn a_service_reads_its_own_section_as_its_own_type() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path()).await;
        // No section: the type's defaults.
        assert_eq!(
            ctx.config::<ThingsConfig>().unwrap(),
            ThingsConfig::default()
        );
        ctx.section = std::sync::Arc::new(serde_json::json!({"size": 3}));
        assert_eq!(ctx.config::<ThingsConfig>().unwrap().size, 3);
        ctx.section = std::sync::Arc::new(serde_json::json!({"sise": 3}));
        let e = ctx.config::<ThingsConfig>().unwrap_err().to_string();
        assert!(e.starts_with("things: ") && e.contains("sise"), "{e}");
        assert_eq!(
            ctx.objects_dir(),
            std::path::Path::new(".").join("objects").join("things")
        );
    }
}
