//! The order's moves after the request: cancel, check-in, completion, rebook, and the
//! photos. The rules are the domain's (`domain/order.rs`); this is the HTTP edge.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use contracts::{OrderId, WorkerId};
use messaging::Outbox;
use serde::Deserialize;
use uuid::Uuid;
use web::{Json, Path};

use auth::Principal;

use super::STAFF;
use super::orders::{order_id, visible_to};
use crate::App;
use crate::domain::order::{Canceler, Order, Transition};
use crate::error::OrderingError;
use crate::store;

/// Loads the order, lets `change` apply a transition, and commits the new state, its
/// history line and its event together. A concurrent change (another request, the no-show
/// sweep) makes this one fail with 409 `concurrent_change` and change nothing.
async fn apply(
    app: &App,
    id: OrderId,
    change: impl FnOnce(&mut Order) -> Result<Transition, OrderingError>,
) -> Result<Order, OrderingError> {
    let mut tx = app.rt.db.begin().await?;
    let mut order = store::order(&mut tx, id)
        .await?
        .ok_or(OrderingError::NotFound("order"))?;
    let before = order.version;
    let t = change(&mut order)?;
    store::update_order(&mut tx, &order, before, Some(&t.entry)).await?;
    Outbox::append(&mut tx, &t.change.envelope(order.version, None)).await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok(order)
}

async fn read(app: &App, id: OrderId) -> Result<Order, OrderingError> {
    let mut conn = app.rt.db.pool().acquire().await?;
    store::order(&mut conn, id)
        .await?
        .ok_or(OrderingError::NotFound("order"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    reason: Option<String>,
}

/// `POST /orders/{id}/cancel`: the client (or staff) cancels a requested or active order.
pub async fn cancel(
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
    let now = app.rt.clock.now();
    let by = if who.require(STAFF).is_ok() {
        Canceler::Staff(who.id)
    } else {
        Canceler::Client(who.id)
    };
    let order = apply(&app, id, |order| order.cancel(by, reason, now)).await?;
    Ok(Json(order))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// Photo taken on site, base64 (PNG, JPEG or WebP).
    photo: String,
}

/// `POST /orders/{id}/check-in`: the assigned worker arrives, with a photo, inside the
/// check-in window.
pub async fn check_in(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<CheckInRequest>,
) -> Result<Json<Order>, OrderingError> {
    let id = order_id(&id)?;
    // A worker's id is its account's (issue 10); any other caller is not this order's worker.
    let worker = WorkerId::from(who.id);
    let now = app.rt.clock.now();
    let policy = app.config.policy();
    let key = upload(&app, id, "check-in", "photo", &req.photo, |o, key| {
        o.check_in(worker, key, now, &policy)
    })
    .await?;
    let order = apply(&app, id, |o| o.check_in(worker, key, now, &policy)).await?;
    Ok(Json(order))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// Photo of the paper report signed by the client, base64 (PNG, JPEG or WebP).
    report_photo: String,
}

/// `POST /orders/{id}/complete`: the assigned worker finishes with the signed report.
pub async fn complete(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<CompleteRequest>,
) -> Result<Json<Order>, OrderingError> {
    let id = order_id(&id)?;
    let worker = WorkerId::from(who.id);
    let now = app.rt.clock.now();
    let key = upload(
        &app,
        id,
        "report",
        "report_photo",
        &req.report_photo,
        |o, key| o.complete(worker, key, now),
    )
    .await?;
    let order = apply(&app, id, |o| o.complete(worker, key, now)).await?;
    Ok(Json(order))
}

/// Checks the photo (422 naming `field`), tries the move on a copy of the order so a
/// refused one stores nothing, then stores the photo under a key of its own
/// (`orders/{id}/{name}-{uuid}.{ext}`): of two racing attempts, the one whose transition
/// commits names its photo, and the loser's photo cannot overwrite it. (A crash between
/// the upload and the commit leaves an unreferenced object, never a wrong one.)
async fn upload(
    app: &App,
    id: OrderId,
    name: &str,
    field: &str,
    encoded: &str,
    dry_run: impl FnOnce(&mut Order, String) -> Result<Transition, OrderingError>,
) -> Result<String, OrderingError> {
    let image = web::image::decode_image(encoded, app.config.photo_max_bytes)
        .map_err(|m| OrderingError::invalid(field, &m))?;
    let key = format!(
        "orders/{id}/{name}-{}.{}",
        Uuid::now_v7().simple(),
        image.extension()
    );
    let mut copy = read(app, id).await?;
    dry_run(&mut copy, key.clone())?;
    app.objects
        .put(&key, image.bytes)
        .await
        .map_err(|e| OrderingError::Unexpected(e.into()))?;
    Ok(key)
}

/// `GET /orders/{id}/photos/{check-in|report}`: the photo, for the order's parties.
pub async fn photo(
    State(app): State<App>,
    who: Principal,
    Path((id, kind)): Path<(String, String)>,
) -> Result<impl IntoResponse, OrderingError> {
    let order = read(&app, order_id(&id)?).await?;
    visible_to(&order, &who)?;
    let key = match kind.as_str() {
        "check-in" => order.check_in_photo,
        "report" => order.report_photo,
        _ => return Err(OrderingError::NotFound("photo")),
    }
    .ok_or(OrderingError::NotFound("photo"))?;
    let bytes = app
        .objects
        .get(&key)
        .await
        .map_err(|e| OrderingError::Unexpected(e.into()))?
        .ok_or(OrderingError::NotFound("photo"))?;
    let media_type = web::image::media_type(&bytes).unwrap_or("application/octet-stream");
    Ok(([(header::CONTENT_TYPE, media_type)], bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebookRequest {
    scheduled_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /orders/{id}/rebook`: the client takes up the offer after a failure: a copy of
/// the order for a new date, matched again to someone other than the worker who did not
/// come. Once per failed order; asking again returns the same copy (200).
pub async fn rebook(
    State(app): State<App>,
    who: Principal,
    Path(id): Path<String>,
    Json(req): Json<RebookRequest>,
) -> Result<(StatusCode, Json<Order>), OrderingError> {
    let id = order_id(&id)?;
    let mut tx = app.rt.db.begin().await?;
    let original = store::order(&mut tx, id)
        .await?
        .filter(|o| o.client_id == who.id)
        .ok_or(OrderingError::NotFound("order"))?;
    if let Some(copy) = original.rebooked_as {
        let copy = store::order(&mut tx, copy)
            .await?
            .ok_or_else(|| anyhow::anyhow!("rebooked copy {copy} is missing"))?;
        return Ok((StatusCode::OK, Json(copy)));
    }
    let (copy, t) = original.rebook(who.id, req.scheduled_at, app.rt.clock.now())?;
    store::insert_order(&mut tx, &copy, None).await?;
    store::insert_history(&mut tx, copy.id, &t.entry).await?;
    if !store::mark_rebooked(&mut tx, original.id, copy.id).await? {
        return Err(OrderingError::Concurrent);
    }
    Outbox::append(&mut tx, &t.change.envelope(copy.version, None)).await?;
    tx.commit().await?;
    app.rt.outbox.committed();
    Ok((StatusCode::CREATED, Json(copy)))
}
