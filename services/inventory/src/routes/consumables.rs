//! `/consumables`: the stock list, deliveries into stock and each consumable's ledger.

use auth::{Principal, Route, Routes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use contracts::ConsumableId;
use web::{IdempotencyKey, Json, Path};

use super::{SUPPLY, path_id};
use crate::domain::{NewConsumable, Receipt, Stock, StockMove};
use crate::error::InventoryError;
use crate::{App, app};

pub(super) fn routes() -> Routes<App> {
    Routes::new()
        .route(
            Route::post("/consumables", SUPPLY)
                .summary("Add a consumable to the stock list (none on hand yet)")
                .body::<NewConsumable>()
                .returns::<Stock>(StatusCode::CREATED),
            add,
        )
        .route(
            Route::get("/consumables", SUPPLY)
                .summary("Every consumable with what is on hand and whether it is low")
                .returns::<Vec<Stock>>(StatusCode::OK),
            list,
        )
        .route(
            Route::post("/consumables/{id}/receipts", SUPPLY)
                .summary("Book a delivery into stock (a positive stock move)")
                .param::<ConsumableId>("id")
                .idempotency_key()
                .body::<Receipt>()
                .returns::<Stock>(StatusCode::CREATED),
            receive,
        )
        .route(
            Route::get("/consumables/{id}/moves", SUPPLY)
                .summary("The consumable's stock moves, oldest first: on hand is their sum")
                .param::<ConsumableId>("id")
                .returns::<Vec<StockMove>>(StatusCode::OK),
            moves,
        )
}

async fn add(
    State(app): State<App>,
    Json(spec): Json<NewConsumable>,
) -> Result<(StatusCode, Json<Stock>), InventoryError> {
    Ok((
        StatusCode::CREATED,
        Json(app::add_consumable(&app, &spec).await?),
    ))
}

async fn list(State(app): State<App>) -> Result<Json<Vec<Stock>>, InventoryError> {
    Ok(Json(app::stock(&app).await?))
}

async fn receive(
    State(app): State<App>,
    who: Principal,
    key: IdempotencyKey,
    Path(id): Path<String>,
    Json(receipt): Json<Receipt>,
) -> Result<Response, InventoryError> {
    let id = path_id(&id, "consumable")?;
    let stock = app::receive_stock(&app, who.id, id, key.as_deref(), &receipt).await?;
    Ok(stock.respond(StatusCode::CREATED))
}

async fn moves(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Vec<StockMove>>, InventoryError> {
    Ok(Json(app::moves(&app, path_id(&id, "consumable")?).await?))
}
