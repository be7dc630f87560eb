//! `/orders/{id}/...`: the order's moves after the request (cancel, check-in, completion,
//! rebook) and its photos. The rules are the domain's, the moves `app/`'s; this is the
//! HTTP edge.

use auth::{Access, Principal, Role, Route, Routes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::{OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use service::Refused;
use web::{Json, Path};

use super::{CLIENT_OR_STAFF, PARTIES, STAFF, created, order_id};
use crate::App;
use crate::app::{self, PHOTO_MEDIA, PhotoKind};
use crate::domain::order::{Canceler, Order};
use crate::error::OrderingError;

pub(super) fn routes() -> Routes<App> {
    let photo_route = PHOTO_MEDIA.into_iter().fold(
        Route::get("/orders/{id}/photos/{kind}", Access::Roles(PARTIES))
            .summary("An order's check-in or report photo, for its parties")
            .param::<OrderId>("id")
            .param::<PhotoKind>("kind"),
        |route, media| route.returns_media(StatusCode::OK, media),
    );
    Routes::new()
        .route(
            Route::post("/orders/{id}/cancel", Access::Roles(CLIENT_OR_STAFF))
                .summary("Cancel a requested or active order (the body is optional)")
                .param::<OrderId>("id")
                .body::<CancelRequest>()
                .returns::<Order>(StatusCode::OK),
            cancel,
        )
        .route(
            Route::post("/orders/{id}/rebook", Access::Roles(&[Role::Client]))
                .summary("Rebook a failed order for a new date (once; again: the same copy)")
                .param::<OrderId>("id")
                .body::<RebookRequest>()
                .returns::<Order>(StatusCode::CREATED)
                .returns::<Order>(StatusCode::OK),
            rebook,
        )
        .route(
            Route::post("/orders/{id}/check-in", Access::Roles(&[Role::Worker]))
                .summary("The assigned worker arrives, with a photo")
                .param::<OrderId>("id")
                .body::<CheckInRequest>()
                .returns::<Order>(StatusCode::OK),
            check_in,
        )
        .route(
            Route::post("/orders/{id}/complete", Access::Roles(&[Role::Worker]))
                .summary("The assigned worker finishes, with the signed report's photo")
                .param::<OrderId>("id")
                .body::<CompleteRequest>()
                .returns::<Order>(StatusCode::OK),
            complete,
        )
        .route(photo_route, photo)
}

/// The body of `POST /orders/{id}/cancel`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// The client's words, kept on the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /orders/{id}/cancel`: the client (or staff) cancels a requested or active order.
async fn cancel(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Order>, OrderingError> {
    let id = order_id(&id)?;
    // The body is optional: no body (or `{}`) cancels without a reason.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<CancelRequest>(&body)
            .map_err(|e| OrderingError::invalid("reason", &format!("invalid body: {e}")))?
            .reason
    };
    let by = if who.require(STAFF).is_ok() {
        Canceler::Staff(who.id)
    } else {
        Canceler::Client(who.id)
    };
    Ok(Json(app::cancel_order(&app, id, by, reason).await?))
}

/// The body of `POST /orders/{id}/check-in`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// Photo taken on site, base64 (PNG, JPEG or WebP).
    pub photo: String,
}

/// `POST /orders/{id}/check-in`: the assigned worker arrives, with a photo, inside the
/// check-in window.
async fn check_in(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<CheckInRequest>,
) -> Result<Json<Order>, OrderingError> {
    let id = order_id(&id)?;
    // A worker's id is its account's (issue 10); any other caller is not this order's worker.
    let worker = WorkerId::from(who.id);
    Ok(Json(
        app::check_in(&app, id, worker, &req.photo, "photo").await?,
    ))
}

/// The body of `POST /orders/{id}/complete`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// Photo of the paper report signed by the client, base64 (PNG, JPEG or WebP).
    pub report_photo: String,
}

/// `POST /orders/{id}/complete`: the assigned worker finishes with the signed report.
async fn complete(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<CompleteRequest>,
) -> Result<Json<Order>, OrderingError> {
    let id = order_id(&id)?;
    let worker = WorkerId::from(who.id);
    let order = app::complete_order(&app, id, worker, &req.report_photo, "report_photo").await?;
    Ok(Json(order))
}

/// `GET /orders/{id}/photos/{check-in|report}`: the photo, for the order's parties.
async fn photo(
    State(app): State<App>,
    who: Principal,
    Path((id, kind)): Path<(String, String)>,
) -> Result<impl IntoResponse, OrderingError> {
    let id = order_id(&id)?;
    let kind = PhotoKind::parse(&kind).ok_or(Refused::NotFound("photo"))?;
    let (bytes, media_type) = app::photo(&app, &who, id, kind).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], bytes))
}

/// The body of `POST /orders/{id}/rebook`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebookRequest {
    /// The new date: in the future, within a year.
    pub scheduled_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /orders/{id}/rebook`: the client takes up the offer after a failure: a copy of
/// the order for a new date (201). Once per failed order; asking again returns the same
/// copy (200).
async fn rebook(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<RebookRequest>,
) -> Result<Response, OrderingError> {
    let id = order_id(&id)?;
    let made = app::rebook_order(&app, who.id, id, req.scheduled_at).await?;
    Ok(created(made, None))
}
