//! Skill levels and their audit: what an adjustment may change, the level it results in,
//! and which levels a replaced profile changed. Pure: no I/O.

use chrono::{DateTime, Utc};
use contracts::{AdjustmentId, WorkerId};
use serde::{Deserialize, Serialize};

use super::samples::NormalSample;
use crate::error::MatchingError;

/// Most skills one profile may hold. Every profile write audits each changed skill and every
/// decision scans them, so the count is bounded (real workers have a handful).
pub const MAX_SKILLS: usize = 100;

/// One audited change of a skill level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Adjustment {
    pub id: AdjustmentId,
    pub worker_id: WorkerId,
    pub skill: String,
    /// None: the skill was new.
    pub from: Option<i64>,
    /// None: the skill was removed.
    pub to: Option<i64>,
    pub reason: String,
    /// Who: the caller's account id (or the event that caused it).
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// What an adjustment sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A new absolute level, 0..=100.
    Level(i64),
    /// A change of level, -100..=100 but not 0; the result is kept within 0..=100.
    Delta(i64),
}

/// A valid adjustment of one skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub skill: String,
    pub target: Target,
    /// Why (kept in the audit).
    pub reason: String,
}

impl Change {
    /// Checks an adjustment as submitted, naming the field at fault.
    pub fn new(
        skill: Option<&str>,
        level: Option<i64>,
        delta: Option<i64>,
        reason: Option<&str>,
    ) -> Result<Change, MatchingError> {
        let skill = skill.unwrap_or_default().trim().to_owned();
        if skill.is_empty() || skill.len() > 50 {
            return Err(MatchingError::invalid(
                "skill",
                "must be 1 to 50 characters",
            ));
        }
        let target = match (level, delta) {
            (Some(_), Some(_)) => {
                return Err(MatchingError::invalid(
                    "delta",
                    "give level or delta, not both",
                ));
            }
            (None, None) => {
                return Err(MatchingError::invalid(
                    "level",
                    "give level (0..100) or delta",
                ));
            }
            (Some(l), None) if !(0..=100).contains(&l) => {
                return Err(MatchingError::invalid("level", "must be 0 to 100"));
            }
            (None, Some(d)) if d == 0 || !(-100..=100).contains(&d) => {
                return Err(MatchingError::invalid(
                    "delta",
                    "must be -100 to 100, not 0",
                ));
            }
            (Some(l), None) => Target::Level(l),
            (None, Some(d)) => Target::Delta(d),
        };
        let reason = reason.unwrap_or_default().trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(MatchingError::invalid(
                "reason",
                "is required (1 to 1000 characters)",
            ));
        }
        Ok(Change {
            skill,
            target,
            reason,
        })
    }

    /// Applies the change to `sample`; returns the level before (None: a new skill) and
    /// after. A full profile takes no new skill (an existing one still changes).
    pub fn apply(&self, sample: &mut NormalSample) -> Result<(Option<i64>, i64), MatchingError> {
        let from = sample.skills.get(&self.skill).copied();
        if from.is_none() && sample.skills.len() >= MAX_SKILLS {
            return Err(MatchingError::invalid(
                "skill",
                &format!("this profile already has {MAX_SKILLS} skills, the most it may hold"),
            ));
        }
        let to = match self.target {
            Target::Level(l) => l,
            Target::Delta(d) => (from.unwrap_or(0) + d).clamp(0, 100),
        };
        sample.skills.insert(self.skill.clone(), to);
        Ok((from, to))
    }
}

/// Every skill whose level differs between `before` and `after`, by name: (skill, from, to),
/// None where the skill is absent.
pub fn changed_levels(
    before: &NormalSample,
    after: &NormalSample,
) -> Vec<(String, Option<i64>, Option<i64>)> {
    let skills: std::collections::BTreeSet<&String> =
        before.skills.keys().chain(after.skills.keys()).collect();
    skills
        .into_iter()
        .filter_map(|skill| {
            let (from, to) = (
                before.skills.get(skill).copied(),
                after.skills.get(skill).copied(),
            );
            (from != to).then(|| (skill.clone(), from, to))
        })
        .collect()
}

/// A new audit entry.
pub fn audit(
    worker_id: WorkerId,
    (skill, from, to): (String, Option<i64>, Option<i64>),
    reason: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Adjustment {
    Adjustment {
        id: AdjustmentId::new(),
        worker_id,
        skill,
        from,
        to,
        reason: reason.to_owned(),
        actor: actor.to_owned(),
        at,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sample(skills: &[(&str, i64)]) -> NormalSample {
        NormalSample {
            id: WorkerId::new(),
            name: "w".into(),
            available: true,
            skills: skills.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn given_a_delta_when_applied_then_the_level_stays_within_0_to_100() {
        let mut s = sample(&[("cleaning", 80)]);
        let up = Change::new(Some("cleaning"), None, Some(30), Some("r")).unwrap();
        assert_eq!(up.apply(&mut s).unwrap(), (Some(80), 100));
        let new = Change::new(Some("windows"), None, Some(-10), Some("r")).unwrap();
        assert_eq!(new.apply(&mut s).unwrap(), (None, 0));
    }

    #[test]
    fn given_a_replaced_profile_then_each_changed_level_is_listed_once() {
        let before = sample(&[("cleaning", 50), ("ironing", 20)]);
        let mut after = before.clone();
        after.skills = BTreeMap::from([("cleaning".to_owned(), 50), ("cooking".to_owned(), 75)]);
        assert_eq!(
            changed_levels(&before, &after),
            [
                ("cooking".to_owned(), None, Some(75)),
                ("ironing".to_owned(), Some(20), None)
            ]
        );
    }
}
