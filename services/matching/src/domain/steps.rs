//! Built-in pipeline steps. Each step looks at one candidate for one reference sample and
//! says whether it passes (filters) or how well it fits (scores, 0..=1).

use super::samples::{Candidate, ReferenceSample};

/// Whether a step removes candidates or ranks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Filter,
    Score,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Filter => "filter",
            StepKind::Score => "score",
        }
    }
}

/// One stage of the matching pipeline. New steps implement this and are added to
/// [`build`]; no other step changes.
pub trait Step: Send + Sync {
    fn kind(&self) -> StepKind;
    /// Filters: 1.0 passes, 0.0 removes. Scores: 0.0..=1.0, higher is better.
    fn evaluate(&self, reference: &ReferenceSample, candidate: &Candidate) -> f64;
}

/// Keeps workers who take jobs and have nothing booked at that time.
pub struct Availability;

impl Step for Availability {
    fn kind(&self) -> StepKind {
        StepKind::Filter
    }
    fn evaluate(&self, _: &ReferenceSample, c: &Candidate) -> f64 {
        if c.sample.available && c.overlapping == 0 {
            1.0
        } else {
            0.0
        }
    }
}

/// The worker's level in the skill the job needs (unknown skill: 0).
pub struct SkillFit;

impl Step for SkillFit {
    fn kind(&self) -> StepKind {
        StepKind::Score
    }
    fn evaluate(&self, r: &ReferenceSample, c: &Candidate) -> f64 {
        let level = c.sample.skills.get(&r.skill).copied().unwrap_or(0);
        (level.clamp(0, 100) as f64) / 100.0
    }
}

/// Prefers workers with fewer upcoming jobs, spreading work evenly.
pub struct LoadBalance;

impl Step for LoadBalance {
    fn kind(&self) -> StepKind {
        StepKind::Score
    }
    fn evaluate(&self, _: &ReferenceSample, c: &Candidate) -> f64 {
        1.0 / (1.0 + c.load.max(0) as f64)
    }
}

/// The names configuration may use, and the step each stands for.
pub fn build(name: &str) -> Option<Box<dyn Step>> {
    match name {
        "availability" => Some(Box::new(Availability)),
        "skill_fit" => Some(Box::new(SkillFit)),
        "load_balance" => Some(Box::new(LoadBalance)),
        _ => None,
    }
}

/// Every built-in step name.
pub const BUILT_IN: &[&str] = &["availability", "skill_fit", "load_balance"];
