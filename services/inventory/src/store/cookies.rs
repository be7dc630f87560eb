//! The fortune cookie of each kit (columns of `kits`).

use chrono::{DateTime, Utc};
use contracts::KitId;
use storage::{AnyConnection, AnyRow, DbError, Row};

use super::{BoundQuery, Result, parsed};
use crate::domain::{Cookie, CookieStatus, KitState};

/// The cookie of a kit row.
pub(super) fn cookie_of(r: &AnyRow) -> Result<Cookie> {
    let status: String = r.get("cookie_state");
    Ok(Cookie {
        status: CookieStatus::parse(&status)
            .ok_or_else(|| DbError::undecodable(format!("cookie_state {status:?}")))?,
        contractor_id: r.get("cookie_id"),
        failure: r.get("cookie_failure"),
        orders: r.get("cookie_orders"),
        ordered_at: r
            .get::<Option<i64>, _>("cookie_ordered_at")
            .map(storage::time),
        arrived_at: r
            .get::<Option<i64>, _>("cookie_arrived_at")
            .map(storage::time),
        check_at: r
            .get::<Option<i64>, _>("cookie_check_at")
            .map(storage::time),
    })
}

/// Writes `cookie` as kit `id`'s if the kit's cookie is still `before` (its state and its
/// order count): `false` when someone changed it meanwhile (a callback, a re-order), and
/// nothing is written.
pub async fn save_cookie(
    conn: &mut AnyConnection,
    id: KitId,
    before: &Cookie,
    cookie: &Cookie,
) -> Result<bool> {
    Ok(storage::query(
        "UPDATE kits SET cookie_state = $1, cookie_id = $2, cookie_failure = $3, \
         cookie_orders = $4, cookie_ordered_at = $5, cookie_arrived_at = $6, \
         cookie_check_at = $7 \
         WHERE id = $8 AND cookie_state = $9 AND cookie_orders = $10",
    )
    .bind(cookie.status.as_str())
    .bind(cookie.contractor_id.clone())
    .bind(cookie.failure.clone())
    .bind(cookie.orders)
    .bind(cookie.ordered_at.map(storage::micros))
    .bind(cookie.arrived_at.map(storage::micros))
    .bind(cookie.check_at.map(storage::micros))
    .bind(id.to_string())
    .bind(before.status.as_str())
    .bind(before.orders)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Up to `limit` open kits whose cookie is to be ordered, the soonest jobs first.
pub async fn cookies_to_order(conn: &mut AnyConnection, limit: i64) -> Result<Vec<KitId>> {
    let query = storage::query(
        "SELECT id FROM kits WHERE cookie_state = $1 AND state = $2 \
         ORDER BY scheduled_at, id LIMIT $3",
    )
    .bind(CookieStatus::ToOrder.as_str())
    .bind(KitState::ToAssemble.as_str())
    .bind(limit);
    kit_ids(conn, query).await
}

/// Up to `limit` kits whose cookie is to be called off (their kits were canceled).
pub async fn cookies_to_cancel(conn: &mut AnyConnection, limit: i64) -> Result<Vec<KitId>> {
    let query = storage::query("SELECT id FROM kits WHERE cookie_state = $1 ORDER BY id LIMIT $2")
        .bind(CookieStatus::ToCancel.as_str())
        .bind(limit);
    kit_ids(conn, query).await
}

/// Up to `limit` open kits whose cookie was ordered and is due to be asked about at `now`
/// (its callback has not come), the longest overdue first.
pub async fn cookies_to_check(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<KitId>> {
    let query = storage::query(
        "SELECT id FROM kits WHERE cookie_state = $1 AND cookie_check_at <= $2 AND state = $3 \
         ORDER BY cookie_check_at, id LIMIT $4",
    )
    .bind(CookieStatus::Ordered.as_str())
    .bind(storage::micros(now))
    .bind(KitState::ToAssemble.as_str())
    .bind(limit);
    kit_ids(conn, query).await
}

/// The ids of the kits `query` selects (`SELECT id FROM kits ...`), in its order.
async fn kit_ids(conn: &mut AnyConnection, query: BoundQuery<'_>) -> Result<Vec<KitId>> {
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| parsed(r, "id"))
        .collect()
}
