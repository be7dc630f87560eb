//! The fortune cookie of each kit: ordered from the contractor by the cookie job (never
//! inside a unit of work: the kit records "to order", the job calls, then records what the
//! contractor said), delivered by the contractor's signed callback or found by asking it
//! when no callback came, re-ordered by staff when it failed.

use chrono::Duration;
use contracts::{AccountId, KitId};
use service::Refused;

use super::KitView;
use super::queries::responsible_people;
use crate::App;
use crate::contractor::{CallError, CookieOrder, CookieReport, Delivery};
use crate::domain::{Cookie, Kit};
use crate::error::InventoryError;
use crate::store;

/// How many kits one look of the job takes (each is one call).
const BATCH: i64 = 10;

/// Orders the cookies of kits waiting for it, one call each: the number ordered or
/// failed. Stops at once while the contractor's breaker is open (the kits wait, to be
/// ordered when it half-opens).
///
/// The call is made outside any unit of work, its outcome recorded after in one. A crash
/// between the two leaves the kit "to order": the job calls again with the same key (the
/// kit), and the contractor answers the cookie it baked the first time.
pub async fn order_cookies(app: &App) -> Result<usize, InventoryError> {
    let due = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::cookies_to_order(&mut conn, BATCH).await?
    };
    let mut done = 0;
    for id in due {
        let (kit, order) = {
            let mut conn = app.ctx.db.pool().acquire().await?;
            let Some(kit) = store::kit(&mut conn, id).await? else {
                continue;
            };
            let order = cookie_order(app, &mut conn, &kit).await?;
            (kit, order)
        };
        let answer = app.contractor.order(&id.to_string(), &order).await;
        if answer == Err(CallError::CircuitOpen) {
            break;
        }
        let now = app.ctx.clock.now();
        let check_at = now + Duration::milliseconds(app.config.cookie_check_after_ms as i64);
        let cookie = match &answer {
            Ok(taken) => kit.cookie.took_order(
                &taken.cookie_id,
                taken.state == CookieReport::Delivered,
                now,
                check_at,
            ),
            Err(e) => {
                tracing::warn!(kit = %id, error = %e, "fortune cookie not ordered");
                kit.cookie.order_failed(&e.to_string())
            }
        };
        if let Some(cookie) = cookie {
            // Changed meanwhile (the callback was faster, staff re-ordered): theirs stands.
            record(app, id, &kit.cookie, &cookie).await?;
        }
        done += 1;
    }
    Ok(done)
}

/// Asks the contractor about ordered cookies whose callback has not come by their check
/// time: the number asked about. A delivered one arrives, a refused one fails, one still
/// on its way is asked about again later; a failed question is asked again later too (the
/// callback may still come).
pub async fn check_cookies(app: &App) -> Result<usize, InventoryError> {
    let now = app.ctx.clock.now();
    let due = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::cookies_to_check(&mut conn, now, BATCH).await?
    };
    let mut done = 0;
    for id in due {
        let Some(kit) = stored_kit(app, id).await? else {
            continue;
        };
        let Some(contractor_id) = kit.cookie.contractor_id.clone() else {
            continue;
        };
        let answer = app.contractor.check(&contractor_id).await;
        if answer == Err(CallError::CircuitOpen) {
            break;
        }
        let now = app.ctx.clock.now();
        let later = now + Duration::milliseconds(app.config.cookie_check_every_ms as i64);
        let cookie = match answer {
            Ok(delivery) => reported(&kit.cookie, &delivery, now).or_else(|| {
                // Still baking: ask again later.
                kit.cookie.check_again(later)
            }),
            Err(e) => {
                tracing::info!(kit = %id, error = %e, "cannot ask about a fortune cookie yet");
                kit.cookie.check_again(later)
            }
        };
        if let Some(cookie) = cookie {
            record(app, id, &kit.cookie, &cookie).await?;
        }
        done += 1;
    }
    Ok(done)
}

/// Kit `id` as stored, read on a connection of its own: the job holds none while it calls
/// the contractor.
async fn stored_kit(app: &App, id: KitId) -> Result<Option<Kit>, InventoryError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::kit(&mut conn, id).await?)
}

/// Calls off the cookies of canceled kits at the contractor: the number called off. One it
/// had delivered first counts as arrived; one whose call fails is tried again next time.
pub async fn cancel_cookies(app: &App) -> Result<usize, InventoryError> {
    let due = {
        let mut conn = app.ctx.db.pool().acquire().await?;
        store::cookies_to_cancel(&mut conn, BATCH).await?
    };
    let mut done = 0;
    for id in due {
        let Some(kit) = stored_kit(app, id).await? else {
            continue;
        };
        let delivered_first = match app.contractor.cancel(&id.to_string()).await {
            Ok(delivered) => delivered,
            Err(CallError::CircuitOpen) => break,
            Err(e) => {
                tracing::info!(kit = %id, error = %e, "fortune cookie not called off yet");
                continue;
            }
        };
        if let Some(cookie) = kit.cookie.called_off(delivered_first, app.ctx.clock.now()) {
            record(app, id, &kit.cookie, &cookie).await?;
        }
        done += 1;
    }
    Ok(done)
}

/// In `work` (the unit of work canceling `kit`): its cookie is to be called off at the
/// contractor, which the cookie job does after the commit; nothing when there is nothing
/// to call off (arrived, none needed).
pub(crate) async fn call_off_cookie(
    work: &mut messaging::Work,
    kit: &Kit,
) -> Result<(), InventoryError> {
    if let Some(cookie) = kit.cookie.cancel() {
        store::save_cookie(work, kit.id, &kit.cookie, &cookie).await?;
    }
    Ok(())
}

/// What the contractor's report of a cookie changes: delivered -> arrived, refused ->
/// failed; `None` while baking or when it changes nothing (a duplicate).
fn reported(
    cookie: &Cookie,
    delivery: &Delivery,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Cookie> {
    match delivery.state {
        CookieReport::Delivered => cookie.came(&delivery.cookie_id, now),
        CookieReport::Refused => cookie.order_failed("the contractor refused to bake it"),
        CookieReport::Canceled => cookie
            .called_off(false, now)
            .or_else(|| cookie.order_failed("the contractor says it was canceled")),
        CookieReport::Baking => None,
    }
}

/// Writes `cookie` as kit `id`'s unless it changed from `before` meanwhile: whether it
/// was written.
async fn record(
    app: &App,
    id: KitId,
    before: &Cookie,
    cookie: &Cookie,
) -> Result<bool, InventoryError> {
    let mut work = app.ctx.begin().await?;
    let saved = store::save_cookie(&mut work, id, before, cookie).await?;
    work.commit().await?;
    Ok(saved)
}

/// What the contractor is told about kit's client: the name Ordering announced (or IAM's),
/// the e-mail IAM announced (empty when IAM has not announced the client yet), the order.
async fn cookie_order(
    app: &App,
    conn: &mut storage::AnyConnection,
    kit: &Kit,
) -> Result<CookieOrder, InventoryError> {
    let client = match &kit.job {
        Some(job) => store::people_by_id(conn, &[job.client_id]).await?.pop(),
        None => None,
    };
    let client_name = kit
        .job
        .as_ref()
        .and_then(|j| j.client_name.clone())
        .or_else(|| client.as_ref().map(|p| p.name.clone()))
        .unwrap_or_default();
    Ok(CookieOrder {
        client_name,
        client_email: client.map(|p| p.email).unwrap_or_default(),
        order_id: kit.order_id.to_string(),
        callback_url: callback_url(app),
    })
}

/// Where the contractor calls back: the configured URL, else Inventory's own.
pub fn callback_url(app: &App) -> String {
    if app.config.callback_url.is_empty() {
        format!("{}/cookies/callback", app.ctx.public_url)
    } else {
        app.config.callback_url.clone()
    }
}

/// The contractor called back with `body` signed `signature`: a malformed body is refused
/// (422 naming the field), and any body unless the signature is the contractor's (401
/// `invalid_signature`); nothing changes then. Otherwise the
/// kit the body's key names gets its cookie (delivered) or a failure (refused). A duplicate
/// or late callback changes nothing.
pub async fn cookie_called_back(
    app: &App,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), InventoryError> {
    // A malformed body is refused naming its field, as any request's; only a well-formed
    // one is worth the signature check.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| InventoryError::invalid("body", format!("not JSON: {e}")))?;
    for field in ["cookie_id", "key", "state"] {
        if !value.get(field).is_some_and(serde_json::Value::is_string) {
            return Err(InventoryError::invalid(field, "required, a string"));
        }
    }
    let delivery: Delivery = serde_json::from_value(value).map_err(|_| {
        InventoryError::invalid("state", "one of baking, delivered, refused, canceled")
    })?;
    if !app.contractor.verify(body, signature) {
        return Err(InventoryError::BadSignature);
    }
    let id: KitId = delivery
        .key
        .parse()
        .map_err(|_| InventoryError::invalid("key", "not a kit id"))?;
    let now = app.ctx.clock.now();
    let mut work = app.ctx.begin().await?;
    let kit = store::kit(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("kit"))?;
    if let Some(cookie) = reported(&kit.cookie, &delivery, now) {
        store::save_cookie(&mut work, id, &kit.cookie, &cookie).await?;
    }
    work.commit().await?;
    Ok(())
}

/// `who` orders kit `id`'s failed cookie again: refused unless it failed (409
/// `cookie_not_failed`) or while the kit is closed (409 `kit_closed`). The job orders it
/// with the same key, so a cookie baked although its order seemed to fail is not baked
/// twice.
pub async fn reorder_cookie(
    app: &App,
    who: AccountId,
    id: KitId,
) -> Result<KitView, InventoryError> {
    let mut work = app.ctx.begin().await?;
    let kit = store::kit(&mut work, id)
        .await?
        .ok_or(Refused::NotFound("kit"))?;
    if !kit.is_open() {
        return Err(Refused::conflict(
            "kit_closed",
            format!(
                "kit {id} is {}: its cookie is not needed",
                kit.state.as_str()
            ),
        )
        .into());
    }
    let cookie = kit.cookie.reorder()?;
    if !store::save_cookie(&mut work, id, &kit.cookie, &cookie).await? {
        return Err(Refused::conflict(
            "cookie_not_failed",
            format!("kit {id}'s cookie changed meanwhile; look again"),
        )
        .into());
    }
    tracing::info!(kit = %id, by = %who, "fortune cookie ordered again");
    let ids: Vec<_> = kit.lines.iter().map(|l| l.consumable_id).collect();
    let on_hand = store::on_hand(&mut work, Some(&ids)).await?;
    let kit = Kit { cookie, ..kit };
    let people = responsible_people(&mut work, std::slice::from_ref(&kit)).await?;
    work.commit().await?;
    Ok(KitView::of(kit, &on_hand, &people))
}
