//! A service's whole HTTP surface, and its OpenAPI document.

use std::sync::{Arc, OnceLock};

use auth::{Access, Route, Routes};
use axum::http::StatusCode;

use crate::{Context, Service, openapi, ops};

/// A service's whole HTTP surface: its own routes (with their rules and declarations), the
/// messaging and task operator routes (admins), health (public) and `/openapi.json`
/// (public, generated from every declaration), every request able to reach the context's
/// token verifier; and its background tasks.
///
/// `routes` are the service's [`Routes`] with their state given (`.with_state(app)`).
pub fn assemble(
    ctx: &Context,
    routes: Routes,
    consumers: Vec<messaging::Consumer>,
    tasks: Vec<messaging::Task>,
) -> Service {
    let task_stats = messaging::tasks::TaskStats::new(&tasks);
    // The document describes every route, itself included, so it is made once they are all
    // declared and handed to its route afterwards.
    let document: Arc<OnceLock<serde_json::Value>> = Arc::default();
    let served = document.clone();
    let (router, endpoints) = routes
        .include(ops::messaging_routes(
            ctx.db.clone(),
            consumers,
            ctx.probe(),
        ))
        .include(ops::task_routes(task_stats.clone()))
        .include(ops::health_routes(ctx.db.clone()))
        .route(
            Route::get("/openapi.json", Access::Public)
                .summary("This document")
                .returns::<serde_json::Value>(StatusCode::OK),
            move || async move { axum::Json(served.get().cloned().unwrap_or_default()) },
        )
        .into_parts();
    document
        .set(openapi(ctx.name, &endpoints))
        .expect("the document is made once");
    Service {
        name: ctx.name,
        // Counted by route template, each series labelled with the service.
        router: crate::metrics::tracked(router, ctx.name)
            .layer(axum::Extension(ctx.verifier.clone())),
        tasks,
        task_stats,
        authz: endpoints.into_iter().map(|e| e.rule).collect(),
        probe: ctx.probe(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use messaging::Bus;
    use messaging::bus::EmbeddedBus;
    use storage::{Db, DbOptions};

    use super::*;
    use auth::Role;

    async fn served_document(router: axum::Router) -> serde_json::Value {
        use tower::ServiceExt;
        let request = axum::http::Request::get("/openapi.json")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

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
        let own = Routes::new().route(Route::get("/things", Access::SignedIn), || async { "[]" });
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
        let doc = served_document(service.router).await;
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
