use contracts::AccountId;
use messaging::idempotency::Keyed;
use uuid::Uuid;

use crate::App;
use crate::domain::QueueReason;
use crate::domain::sample;
use crate::error::QualityError;
use crate::store::{self, Draw};

/// `who` draws a random sample of `size` completed orders not queued yet (so never drawn
/// before), with `seed` (a random one when absent): the draw is recorded with who, when,
/// the seed and how many were candidates, and its orders enter the review queue, in one
/// unit of work (409 `concurrent_draw`, nothing kept, when another draw took one of its
/// orders at the same moment). With `key`, a retry draws nothing more and answers the
/// first draw.
pub async fn draw_sample(
    app: &App,
    who: AccountId,
    size: i64,
    seed: Option<i64>,
    key: Option<&str>,
) -> Result<service::Created<Draw>, QualityError> {
    if !(1..=app.config.max_sample_size).contains(&size) {
        return Err(QualityError::invalid(
            "size",
            format!("must be 1 to {}", app.config.max_sample_size),
        ));
    }
    let seed = seed.unwrap_or_else(rand::random::<i64>);
    let now = app.now();
    let mut work = app.ctx.begin().await?;
    let ticket = match work
        .claim_key(&format!("{who} POST /samples"), key, &(size, seed))
        .await?
    {
        Keyed::Go(ticket) => ticket,
        Keyed::Replay { status, body } => {
            return Ok(service::Created::Replayed { status, body });
        }
    };
    let candidates = store::completed_not_queued(&mut work).await?;
    let drawn = Draw {
        id: Uuid::now_v7(),
        drawn_by: who,
        drawn_at: now,
        seed,
        size,
        candidates: i64::try_from(candidates.len()).unwrap_or(i64::MAX),
        orders: sample::draw(&candidates, usize::try_from(size).unwrap_or(0), seed),
    };
    store::insert_draw(&mut work, &drawn).await?;
    for order in &drawn.orders {
        // Another draw committing meanwhile (PostgreSQL) may have queued the same order:
        // this draw is then dropped whole rather than record an order it did not queue.
        if !store::enqueue(&mut work, *order, QueueReason::Sampled, Some(drawn.id), now).await? {
            return Err(QualityError::conflict(
                "concurrent_draw",
                "another sample drew some of the same orders at the same moment: draw again",
            ));
        }
    }
    work.answer(ticket, 201, &drawn).await?;
    work.commit().await?;
    Ok(service::Created::New(drawn))
}
