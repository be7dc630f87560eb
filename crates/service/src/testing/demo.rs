//! "things": a small service written as a context writes one (a section, a table, routes
//! declared with their bodies, a typed client), for the test kit's and the OpenAPI
//! document's own tests. Never registered in `mcf`.

use std::sync::Arc;

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use client::{Client, ClientError, Method};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storage::Row;
use uuid::Uuid;
use web::{ApiError, Form, Json, Path, Query};

use crate::{Context, SectionSpec, Service, ServiceSpec};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "things",
    migrations,
    config: SectionSpec::of::<ThingsConfig>("[things]\nmax_size = 10\n"),
    build: |ctx| Box::pin(async move { build(ctx) }),
};

fn migrations() -> storage::Migrations {
    storage::migrations!("src/testing/demo")
}

/// `[things]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThingsConfig {
    /// The largest size a thing may have.
    pub max_size: i64,
}

impl Default for ThingsConfig {
    fn default() -> Self {
        ThingsConfig { max_size: 10 }
    }
}

impl crate::Section for ThingsConfig {}

#[derive(Clone)]
struct App {
    ctx: Context,
    config: Arc<ThingsConfig>,
}

fn build(ctx: Context) -> anyhow::Result<Service> {
    let config: ThingsConfig = ctx.config()?;
    let app = App {
        ctx: ctx.clone(),
        config: Arc::new(config),
    };
    Ok(crate::assemble(
        &ctx,
        routes().with_state(app),
        vec![],
        vec![ctx.relay_task()],
    ))
}

const MANAGERS: Access = Access::Roles(&[Role::Manager, Role::Admin]);

fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/things", MANAGERS)
                .summary("Create a thing")
                .body::<NewThing>()
                .returns::<Thing>(StatusCode::CREATED),
            create,
        )
        .route(
            Route::get("/things", Access::SignedIn)
                .query::<ThingQuery>()
                .returns::<Vec<Thing>>(StatusCode::OK),
            list,
        )
        .route(
            Route::get("/things/{id}", Access::SignedIn)
                .param::<Uuid>("id")
                .returns::<Thing>(StatusCode::OK),
            get,
        )
        .route(
            Route::post("/things/{id}/rename", MANAGERS)
                .param::<Uuid>("id")
                .form::<Rename>()
                .returns_empty(StatusCode::NO_CONTENT),
            rename,
        )
        .route(
            Route::get("/page", Access::Public)
                .returns_media(StatusCode::OK, "text/html")
                .returns_media(StatusCode::OK, "text/plain"),
            page,
        )
}

/// The page, as HTML or, for `?plain`, as text.
async fn page(axum::extract::RawQuery(query): axum::extract::RawQuery) -> axum::response::Response {
    use axum::response::IntoResponse;
    match query.as_deref() {
        Some("plain") => "things".into_response(),
        _ => axum::response::Html("<p>things</p>").into_response(),
    }
}

/// A thing to create.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NewThing {
    /// 1 to 40 characters.
    pub name: String,
    /// 1 to the section's `max_size`; 1 if absent.
    #[serde(default)]
    pub size: Option<i64>,
}

/// A thing as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thing {
    pub id: Uuid,
    pub name: String,
    pub size: i64,
    /// Who created it.
    pub created_by: String,
}

/// The query of `GET /things`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ThingQuery {
    /// Only things whose name starts with this.
    pub prefix: Option<String>,
    /// At most this many, 1 to 100 (default 50).
    pub limit: Option<i64>,
}

/// The form of `POST /things/{id}/rename`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Rename {
    pub name: String,
}

fn name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(ApiError::invalid("name", "must be 1 to 40 characters"));
    }
    Ok(name.to_owned())
}

fn thing(row: &storage::AnyRow) -> Result<Thing, ApiError> {
    let id: String = row.get("id");
    Ok(Thing {
        id: id.parse().map_err(|e| ApiError::internal(&e))?,
        name: row.get("name"),
        size: row.get("size"),
        created_by: row.get("created_by"),
    })
}

type Created = (
    StatusCode,
    [(header::HeaderName, String); 1],
    axum::Json<Thing>,
);

async fn create(
    State(app): State<App>,
    principal: Principal,
    Json(new): Json<NewThing>,
) -> Result<Created, ApiError> {
    let name = name(&new.name)?;
    let size = new.size.unwrap_or(1);
    if !(1..=app.config.max_size).contains(&size) {
        return Err(ApiError::invalid(
            "size",
            format!("must be 1 to {}", app.config.max_size),
        ));
    }
    let thing = Thing {
        id: Uuid::now_v7(),
        name,
        size,
        created_by: principal.id.to_string(),
    };
    storage::query("INSERT INTO things (id, name, size, created_by) VALUES ($1, $2, $3, $4)")
        .bind(thing.id.to_string())
        .bind(&thing.name)
        .bind(thing.size)
        .bind(&thing.created_by)
        .execute(app.ctx.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let location = format!("{}/things/{}", app.ctx.public_url, thing.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(thing),
    ))
}

async fn list(
    State(app): State<App>,
    Query(q): Query<ThingQuery>,
) -> Result<axum::Json<Vec<Thing>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 100"));
    }
    let rows = storage::query(
        "SELECT id, name, size, created_by FROM things WHERE name LIKE $1 ORDER BY name LIMIT $2",
    )
    .bind(format!("{}%", q.prefix.unwrap_or_default()))
    .bind(limit)
    .fetch_all(app.ctx.db.pool())
    .await
    .map_err(|e| ApiError::internal(&e))?;
    rows.iter()
        .map(thing)
        .collect::<Result<_, _>>()
        .map(axum::Json)
}

async fn get(State(app): State<App>, Path(id): Path<Uuid>) -> Result<axum::Json<Thing>, ApiError> {
    let row = storage::query("SELECT id, name, size, created_by FROM things WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(app.ctx.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("thing"))?;
    thing(&row).map(axum::Json)
}

async fn rename(
    State(app): State<App>,
    Path(id): Path<Uuid>,
    Form(rename): Form<Rename>,
) -> Result<StatusCode, ApiError> {
    let name = name(&rename.name)?;
    let done = storage::query("UPDATE things SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.to_string())
        .execute(app.ctx.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("thing"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The typed client of "things", as `services/<svc>/src/client.rs` would write it.
pub struct ThingsClient(pub Client);

impl ThingsClient {
    pub async fn create(&self, new: &NewThing) -> Result<Thing, ClientError> {
        self.0.post("/things", new).await
    }

    pub async fn list(&self, query: &ThingQuery) -> Result<Vec<Thing>, ClientError> {
        self.0.get_query("/things", query).await
    }

    pub async fn get(&self, id: Uuid) -> Result<Thing, ClientError> {
        self.0.get(&format!("/things/{id}")).await
    }

    pub async fn rename(&self, id: Uuid, name: &str) -> Result<(), ClientError> {
        self.0
            .request(Method::POST, &format!("/things/{id}/rename"))
            .form(&Rename { name: name.into() })
            .send()
            .await?
            .json()
    }
}
