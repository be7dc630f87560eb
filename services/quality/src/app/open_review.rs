use contracts::{AccountId, OrderId};
use messaging::idempotency::Keyed;
use service::Refused;
use uuid::Uuid;

use super::ReviewView;
use super::queries::review_on;
use crate::App;
use crate::domain::{ReviewForm, ReviewHead, Revision};
use crate::error::QualityError;
use crate::store;

/// `who` writes the review of `order` (one per order: 409 `review_exists` for a second):
/// revision 1 of the form, its hypotheses linked (each must be in the register: 422
/// `hypotheses`). With `key`, a retry writes nothing more and answers the first.
pub async fn open_review(
    app: &App,
    who: AccountId,
    order: OrderId,
    form: ReviewForm,
    key: Option<&str>,
) -> Result<service::Created<ReviewView>, QualityError> {
    let form = form.checked()?;
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{who} POST /reviews"), key, &(order, &form))
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => {
            return Ok(service::Created::Replayed { status, body });
        }
    };
    if store::file(&mut work, order).await?.is_none() {
        return Err(QualityError::invalid(
            "order_id",
            "Quality has not heard of this order",
        ));
    }
    check_hypotheses(&mut work, &form.hypotheses).await?;
    let head = ReviewHead {
        id: Uuid::now_v7(),
        order_id: order,
        author: who,
        created_at: now,
        revision: 1,
    };
    if !store::insert_review(&mut work, &head).await? {
        let existing = store::review_of_order(&mut work, order).await?;
        return Err(Refused::conflict(
            "review_exists",
            format!(
                "order {order} has review {} already: edit it",
                existing.map(|r| r.id.to_string()).unwrap_or_default()
            ),
        )
        .into());
    }
    store::save_revision(&mut work, head.id, &Revision::of(&form, 1, who, now)).await?;
    store::link_hypotheses(&mut work, head.id, &form.hypotheses, who, now).await?;
    let view = review_on(&mut work, head.id).await?;
    work.answer(ticket, 201, &view).await?;
    work.commit().await?;
    Ok(service::Created::New(view))
}

/// 422 `hypotheses` naming those the register does not hold.
pub(super) async fn check_hypotheses(
    conn: &mut storage::AnyConnection,
    ids: &[Uuid],
) -> Result<(), QualityError> {
    let unknown = store::unknown_hypotheses(conn, ids).await?;
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = unknown.iter().map(Uuid::to_string).collect();
    Err(QualityError::invalid(
        "hypotheses",
        format!("not in the register: {}", names.join(", ")),
    ))
}
