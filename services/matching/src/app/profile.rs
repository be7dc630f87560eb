//! A normal sample as people read it: the profile with strengths, weaknesses, bookings and
//! history; and the list of every normal sample.

use chrono::{DateTime, Utc};
use contracts::{OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use service::Refused;
use storage::time;

use crate::App;
use crate::domain::samples::{History, NormalSample, SampleResult};
use crate::error::MatchingError;
use crate::store;

/// A normal sample as people read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub sample: NormalSample,
    /// Skills at level 70 or more, strongest first.
    pub strengths: Vec<String>,
    /// Skills below level 40, weakest first.
    pub weaknesses: Vec<String>,
    pub history: HistoryView,
    /// Assigned orders not yet completed, canceled or failed.
    pub bookings: Vec<BookingView>,
    /// The latest results, newest first (at most 10).
    pub recent_results: Vec<SampleResult>,
}

/// How a worker's past jobs ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryView {
    pub completed: i64,
    pub failed: i64,
    /// (completed + 1) / (completed + failed + 2): what past_results scores.
    pub success_rate: f64,
}

impl From<History> for HistoryView {
    fn from(h: History) -> Self {
        HistoryView {
            completed: h.completed,
            failed: h.failed,
            success_rate: h.success_rate(),
        }
    }
}

/// A booking as a profile shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BookingView {
    pub order_id: OrderId,
    pub scheduled_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// `GET /normal-samples/{id}`.
pub async fn profile(app: &App, id: WorkerId) -> Result<Profile, MatchingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    let Some(state) = store::roster::load_one(&mut conn, id).await? else {
        return Err(Refused::NotFound("normal sample").into());
    };
    let mut bookings = state.bookings;
    bookings.sort_unstable();
    Ok(Profile {
        strengths: state.sample.strengths(),
        weaknesses: state.sample.weaknesses(),
        history: state.history.into(),
        bookings: bookings
            .iter()
            .map(|b| BookingView {
                order_id: b.order_id,
                scheduled_at: time(b.start),
                ends_at: time(b.end),
            })
            .collect(),
        recent_results: store::results::recent(&mut conn, id, 10).await?,
        sample: state.sample,
    })
}

/// `GET /normal-samples`: every normal sample, by name.
pub async fn list(app: &App) -> Result<Vec<NormalSample>, MatchingError> {
    let mut conn = app.ctx.db.pool().acquire().await?;
    Ok(store::samples::list(&mut conn).await?)
}
