//! Pipeline steps. Each step looks at one candidate for one reference sample and says
//! whether it passes (filters) or how well it fits (scores, 0..=1). Steps are called once
//! per candidate per decision, so they must not allocate: they read the interned roster
//! entry and the precomputed [`Candidate`] facts.

use contracts::{Money, WorkerId};

use super::roster::{Entry, Roster, SkillId};
use super::samples::{History, ReferenceSample};

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

/// What every step may read about the decision being made.
pub struct StepContext<'a> {
    pub reference: &'a ReferenceSample,
    pub roster: &'a Roster,
    /// The reference sample's skill, interned (None: no worker has it).
    pub skill: Option<SkillId>,
    /// The reference sample's time and "now", in unix microseconds.
    pub start: i64,
    pub end: i64,
    pub now: i64,
    /// Scores of the external steps, fetched before the decision.
    pub external: &'a ExternalScores,
}

/// One normal sample as a candidate for one reference sample: the facts the built-in steps
/// need, precomputed from the roster's flat arrays; the full entry for anything else.
pub struct Candidate<'a> {
    /// Position in the roster (external scores are aligned to it).
    pub pos: usize,
    pub entry: &'a Entry,
    pub available: bool,
    pub history: History,
    /// Level in the reference sample's skill (0 without it).
    pub level: u8,
    /// Assignments overlapping the reference sample's time.
    pub overlapping: u32,
    /// Assignments not yet over (for load balance).
    pub load: u32,
    /// Listed in the reference sample's excluded workers.
    pub excluded: bool,
}

/// One stage of the matching pipeline. New steps implement this and are added to
/// [`build`]; no other step changes.
pub trait Step: Send + Sync {
    fn kind(&self) -> StepKind;
    /// A hard filter's failures rank below every other candidate, even in the fallback.
    fn hard(&self) -> bool {
        false
    }
    /// Filters: 1.0 passes, less removes. Scores: 0.0..=1.0, higher is better.
    fn evaluate(&self, ctx: &StepContext, candidate: &Candidate) -> f64;
    /// Why the verdict is not the step's own (a fallback); asked only for explained workers.
    fn note(&self, _ctx: &StepContext, _candidate: &Candidate) -> Option<String> {
        None
    }
}

/// Keeps workers who take jobs and have nothing booked at that time (no double booking).
pub struct Availability;

impl Step for Availability {
    fn kind(&self) -> StepKind {
        StepKind::Filter
    }
    fn evaluate(&self, _: &StepContext, c: &Candidate) -> f64 {
        if c.available && c.overlapping == 0 {
            1.0
        } else {
            0.0
        }
    }
}

/// Removes the reference sample's excluded workers (who failed the original order). Hard:
/// an excluded worker is picked only when every normal sample is excluded.
pub struct ExcludeFailed;

impl Step for ExcludeFailed {
    fn kind(&self) -> StepKind {
        StepKind::Filter
    }
    fn hard(&self) -> bool {
        true
    }
    fn evaluate(&self, _: &StepContext, c: &Candidate) -> f64 {
        if c.excluded { 0.0 } else { 1.0 }
    }
}

/// The worker's level in the skill the job needs (unknown skill: 0).
pub struct SkillFit;

impl Step for SkillFit {
    fn kind(&self) -> StepKind {
        StepKind::Score
    }
    fn evaluate(&self, _: &StepContext, c: &Candidate) -> f64 {
        f64::from(c.level) / 100.0
    }
}

/// How reliably the worker finished past jobs: (completed + 1) / (completed + failed + 2),
/// so a newcomer starts at 0.5 instead of being punished for having no record.
pub struct PastResults;

impl Step for PastResults {
    fn kind(&self) -> StepKind {
        StepKind::Score
    }
    fn evaluate(&self, _: &StepContext, c: &Candidate) -> f64 {
        c.history.success_rate()
    }
}

/// Prefers workers with fewer upcoming jobs, spreading work evenly.
pub struct LoadBalance;

impl Step for LoadBalance {
    fn kind(&self) -> StepKind {
        StepKind::Score
    }
    fn evaluate(&self, _: &StepContext, c: &Candidate) -> f64 {
        1.0 / (1.0 + f64::from(c.load))
    }
}

/// A step evaluated outside the process (see `crate::external` for the wire format). The
/// HTTP call happens before the decision; this step only reads its result from the context
/// and falls back when there is none: filters pass, scores take `fallback`.
pub struct External {
    pub slot: usize,
    pub kind: StepKind,
    pub fallback: f64,
}

impl Step for External {
    fn kind(&self) -> StepKind {
        self.kind
    }
    fn evaluate(&self, ctx: &StepContext, c: &Candidate) -> f64 {
        ctx.external
            .score(ctx.roster.generation(), self.slot, c.pos)
            .unwrap_or(self.fallback)
    }
    fn note(&self, ctx: &StepContext, c: &Candidate) -> Option<String> {
        let why = ctx
            .external
            .missing(ctx.roster.generation(), self.slot, c.pos)?;
        Some(match self.kind {
            StepKind::Filter => format!("{why}; fallback: passed"),
            StepKind::Score => format!("{why}; fallback score {} used", self.fallback),
        })
    }
}

/// What an external step answered for one decision.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternalOutcome {
    /// Scores by roster position (None: no usable score for that worker).
    Scored(Vec<Option<f64>>),
    /// The call failed as a whole: why.
    Failed(String),
}

/// The external steps' answers for one decision, by slot (the step's index among the
/// external steps), for the roster generation they were asked about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExternalScores {
    pub generation: u64,
    pub outcomes: Vec<ExternalOutcome>,
}

impl ExternalScores {
    /// Builds outcomes from scores looked up by worker id, aligned to the roster's positions.
    pub fn align(roster: &Roster, score_of: impl Fn(&WorkerId) -> Option<f64>) -> ExternalOutcome {
        ExternalOutcome::Scored(roster.entries().iter().map(|e| score_of(&e.id)).collect())
    }

    fn score(&self, generation: u64, slot: usize, pos: usize) -> Option<f64> {
        if generation != self.generation {
            return None;
        }
        match self.outcomes.get(slot)? {
            ExternalOutcome::Scored(v) => v.get(pos).copied().flatten(),
            ExternalOutcome::Failed(_) => None,
        }
    }

    fn missing(&self, generation: u64, slot: usize, pos: usize) -> Option<String> {
        if generation != self.generation {
            return Some("the roster was reloaded after the step was asked".into());
        }
        match self.outcomes.get(slot) {
            None => Some("the step was not asked".into()),
            Some(ExternalOutcome::Failed(why)) => Some(why.clone()),
            Some(ExternalOutcome::Scored(v)) => match v.get(pos) {
                Some(Some(_)) => None,
                _ => Some("the step gave no valid score for this worker".into()),
            },
        }
    }
}

/// The built-in step a configured name stands for.
pub fn build(name: &str) -> Option<Box<dyn Step>> {
    match name {
        "availability" => Some(Box::new(Availability)),
        "exclude_failed" => Some(Box::new(ExcludeFailed)),
        "skill_fit" => Some(Box::new(SkillFit)),
        "past_results" => Some(Box::new(PastResults)),
        "load_balance" => Some(Box::new(LoadBalance)),
        _ => None,
    }
}

/// Every built-in step name.
pub const BUILT_IN: &[&str] = &[
    "availability",
    "exclude_failed",
    "skill_fit",
    "past_results",
    "load_balance",
];

/// How an order is priced: its own small step, so a formula can replace the flat price.
pub trait Pricing: Send + Sync {
    /// The price in minor units.
    fn price(&self, reference: &ReferenceSample) -> Money;
}

/// First version: every order costs the same.
pub struct FlatPrice(pub Money);

impl Pricing for FlatPrice {
    fn price(&self, _: &ReferenceSample) -> Money {
        self.0
    }
}
