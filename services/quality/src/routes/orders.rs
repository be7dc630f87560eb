//! `/orders`: search order files, open one with its timeline, see its photos.

use auth::{Route, Routes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId, ServiceTypeId, WorkerId};
use ordering::client::{PHOTO_MEDIA, PhotoKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;
use web::{Json, Path, Query};

use super::{MANAGERS, bearer, limit, path_id};
use crate::app::OrderView;
use crate::domain::{OrderFile, Status};
use crate::error::QualityError;
use crate::store::OrderSearch;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    let photo_route = PHOTO_MEDIA.into_iter().fold(
        Route::get("/orders/{id}/photos/{kind}", MANAGERS)
            .summary(
                "An order's check-in or report photo, fetched from Ordering with the \
                 caller's token (503 ordering_unavailable when Ordering does not answer)",
            )
            .param::<OrderId>("id")
            .param::<PhotoKind>("kind"),
        |route, media| route.returns_media(StatusCode::OK, media),
    );
    Routes::new()
        .route(
            Route::get("/orders", MANAGERS)
                .summary(
                    "Search order files by id, client, worker, status, service type and \
                     scheduled date range, newest order first, a page at a time",
                )
                .query::<OrderQuery>()
                .returns::<Vec<OrderFile>>(StatusCode::OK),
            search,
        )
        .route(
            Route::get("/orders/{id}", MANAGERS)
                .summary(
                    "An order's file and whole timeline: who did what when, the kit, the \
                     money, why this worker was picked; its queue place and review",
                )
                .param::<OrderId>("id")
                .returns::<OrderView>(StatusCode::OK),
            get,
        )
        .route(photo_route, photo)
}

/// The query of `GET /orders`: every filter optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<WorkerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type_id: Option<ServiceTypeId>,
    /// Scheduled at or after (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Scheduled before (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// 1 to 200 (50 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The last order id of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<OrderId>,
}

impl OrderQuery {
    fn search(&self) -> Result<OrderSearch, QualityError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(QualityError::invalid("to", "must not be before from"));
        }
        Ok(OrderSearch {
            order_id: self.order_id,
            client_id: self.client_id.map(|c| c.to_string()),
            worker_id: self.worker_id.map(|w| w.to_string()),
            status: self.status,
            service_type_id: self.service_type_id.map(|s| s.to_string()),
            from: self.from.map(storage::micros),
            to: self.to.map(storage::micros),
            after: self.after,
            limit: limit(self.limit, 50, 200)?,
        })
    }
}

async fn search(
    State(app): State<App>,
    Query(query): Query<OrderQuery>,
) -> Result<Json<Vec<OrderFile>>, QualityError> {
    Ok(Json(app::orders(&app, &query.search()?).await?))
}

async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, QualityError> {
    Ok(Json(app::order(&app, path_id(&id, "order")?).await?))
}

async fn photo(
    State(app): State<App>,
    headers: HeaderMap,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, QualityError> {
    let id = path_id(&id, "order")?;
    let kind = PhotoKind::parse(&kind).ok_or(Refused::NotFound("photo"))?;
    let (bytes, media) = app::photo(&app, bearer(&headers)?, id, kind).await?;
    // Only the media types declared: anything else Ordering might say is plain bytes.
    let media = PHOTO_MEDIA
        .into_iter()
        .find(|m| *m == media)
        .unwrap_or("application/octet-stream");
    Ok(([(header::CONTENT_TYPE, media)], bytes).into_response())
}
