//! Adjusting a worker's skill in Matching from a review: what may be asked, the key that
//! makes Matching apply it once, and what is kept of it here. Pure.

use chrono::{DateTime, Utc};
use contracts::{AccountId, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::QualityError;

/// A change of one of the reviewed order's worker's skills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentIn {
    /// The skill (1 to 50 characters).
    pub skill: String,
    /// The change of level, -100 to 100, not 0 (Matching keeps the result within 0..100).
    pub delta: i64,
}

impl AdjustmentIn {
    /// The skill trimmed and the change checked, naming the field at fault.
    pub fn checked(&self) -> Result<(String, i64), QualityError> {
        let skill = web::text::single_line("skill", &self.skill, 50)?;
        if self.delta == 0 || !(-100..=100).contains(&self.delta) {
            return Err(QualityError::invalid("delta", "must be -100 to 100, not 0"));
        }
        Ok((skill, self.delta))
    }
}

/// The `Idempotency-Key` of the call to Matching for `skill` from review `review`: one
/// adjustment per review and skill however often the call is tried.
pub fn matching_key(review: Uuid, skill: &str) -> String {
    let hash = messaging::idempotency::request_hash(&[skill.as_bytes()]);
    format!("quality-review-{review}-{}", &hash[..16])
}

/// Where an adjustment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentState {
    /// Matching is being called (or the call was cut off: the same manager may try again).
    Pending,
    /// Matching applied it and audited it.
    Done,
}

/// A worker's skill adjusted from a review, as Quality keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerAdjustment {
    pub review_id: Uuid,
    pub worker_id: WorkerId,
    pub skill: String,
    pub delta: i64,
    /// The reason Matching's audit keeps.
    pub reason: String,
    pub state: AdjustmentState,
    /// Matching's audit entry.
    pub matching_adjustment_id: Option<Uuid>,
    /// The level before (none: a new skill) and after, as Matching applied it.
    pub level_from: Option<i64>,
    pub level_to: Option<i64>,
    pub adjusted_by: AccountId,
    pub adjusted_at: DateTime<Utc>,
}

impl WorkerAdjustment {
    /// What a second request for the same review and skill gets: the same change is the
    /// same adjustment again (`Ok(true)` when it is done, `Ok(false)` when the caller's
    /// own pending call may be tried again); anything else is refused.
    pub fn again(&self, delta: i64, who: AccountId) -> Result<bool, QualityError> {
        if delta != self.delta {
            return Err(QualityError::conflict(
                "already_adjusted",
                format!(
                    "this review already changed {} by {}",
                    self.skill, self.delta
                ),
            ));
        }
        match self.state {
            AdjustmentState::Done => Ok(true),
            AdjustmentState::Pending if self.adjusted_by == who => Ok(false),
            AdjustmentState::Pending => Err(QualityError::conflict(
                "adjustment_in_progress",
                format!(
                    "{} is adjusting this skill from this review now",
                    self.adjusted_by
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(by: AccountId) -> WorkerAdjustment {
        WorkerAdjustment {
            review_id: Uuid::now_v7(),
            worker_id: WorkerId::new(),
            skill: "cleaning".into(),
            delta: -10,
            reason: "r".into(),
            state: AdjustmentState::Pending,
            matching_adjustment_id: None,
            level_from: None,
            level_to: None,
            adjusted_by: by,
            adjusted_at: "2026-11-30T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn given_bad_changes_then_refused_naming_the_field() {
        // Given a zero, an out-of-range change and an empty skill / Then each refused
        let bad = |skill: &str, delta| {
            AdjustmentIn {
                skill: skill.into(),
                delta,
            }
            .checked()
        };
        assert!(
            bad("cleaning", 0)
                .unwrap_err()
                .to_string()
                .starts_with("delta:")
        );
        assert!(
            bad("cleaning", -101)
                .unwrap_err()
                .to_string()
                .starts_with("delta:")
        );
        assert!(bad(" ", -5).unwrap_err().to_string().starts_with("skill:"));
        assert_eq!(bad(" cleaning ", -5).unwrap(), ("cleaning".to_owned(), -5));
    }

    #[test]
    fn given_a_review_and_skill_then_the_key_is_stable_and_fits_a_header() {
        // Given one review / When keyed for two skills / Then stable, distinct, short ASCII
        let review = Uuid::now_v7();
        let key = matching_key(review, "cleaning");
        assert_eq!(key, matching_key(review, "cleaning"));
        assert_ne!(key, matching_key(review, "ironing"));
        assert!(key.len() <= 200 && key.is_ascii());
    }

    #[test]
    fn given_an_adjustment_asked_again_then_only_the_same_change_goes_on() {
        // Given a pending adjustment of -10 by one manager
        let (me, other) = (AccountId::new(), AccountId::new());
        let mut a = pending(me);
        // When asked again / Then: the same manager may retry, another waits, another
        // change is refused; once done, the same change is answered as it is
        assert!(!a.again(-10, me).unwrap());
        assert!(
            a.again(-10, other)
                .unwrap_err()
                .to_string()
                .contains("adjusting")
        );
        assert!(
            a.again(-20, me)
                .unwrap_err()
                .to_string()
                .contains("already changed")
        );
        a.state = AdjustmentState::Done;
        assert!(a.again(-10, other).unwrap());
    }
}
