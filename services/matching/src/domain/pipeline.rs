//! The matching pipeline: filters, then weighted scores, then the best total wins.
//!
//! [`Pipeline::decide`] is pure: the roster, the time and the external steps' answers
//! (fetched beforehand by the matcher) come in, the decision and its explanation go out.
//! The per-candidate loop allocates nothing; the explanation is built for the winner (and
//! the runners-up) only.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use contracts::matching::StepScore;
use contracts::{Money, WorkerId};
use serde::{Deserialize, Serialize};

use super::roster::Roster;
use super::samples::ReferenceSample;
use super::steps::{
    self, Candidate, ExternalScores, FlatPrice, Pricing, Step, StepContext, StepKind,
};
use crate::config::{MatchingConfig, StepConfig};

/// Why a configuration cannot make a pipeline. Each names the failing key.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PipelineError {
    #[error("matching.steps[{index}].name: unknown step {name:?} (known: {known}; or give a url)")]
    UnknownStep {
        index: usize,
        name: String,
        known: String,
    },
    #[error("matching.steps[{index}].name: {name:?} is used twice")]
    DuplicateStep { index: usize, name: String },
    #[error("matching.steps[{index}].weight: must be a finite number >= 0")]
    BadWeight { index: usize },
    #[error("matching.steps[{index}].{key}: {message}")]
    BadKey {
        index: usize,
        key: &'static str,
        message: String,
    },
    #[error("matching.price: must be positive")]
    BadPrice,
}

/// What the matcher needs to ask an external step.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSpec {
    /// Index among the external steps (= position in [`ExternalScores::outcomes`]).
    pub slot: usize,
    pub name: String,
    pub kind: StepKind,
    pub url: String,
    pub timeout: std::time::Duration,
}

struct Stage {
    name: String,
    weight: f64,
    kind: StepKind,
    hard: bool,
    step: Box<dyn Step>,
}

/// A configured pipeline.
pub struct Pipeline {
    stages: Vec<Stage>,
    externals: Vec<ExternalSpec>,
    pricing: Box<dyn Pricing>,
}

/// Another candidate close to the winner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunnerUp {
    pub worker_id: WorkerId,
    pub name: String,
    pub total: f64,
    /// Whether it passed every filter.
    pub passed_filters: bool,
}

/// The pipeline's choice and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub worker_id: WorkerId,
    pub price: Money,
    /// True when no candidate passed every filter and the fallback chose.
    pub fallback: bool,
    pub candidates: i64,
    /// Weighted sum of the winner's scores, and the best sum possible.
    pub total: f64,
    pub max_total: f64,
    /// Every step's verdict on the chosen worker.
    pub explanation: Vec<StepScore>,
    /// The next best candidates (at most two), best first.
    pub runner_ups: Vec<RunnerUp>,
    /// One line for people.
    pub summary: String,
}

/// A candidate's rank: hard filters, then all filters, then the total, then the lighter
/// load, then the smaller id (so the choice is deterministic).
#[derive(Clone, Copy)]
struct Ranked {
    hard_ok: bool,
    all_ok: bool,
    total: f64,
    load: u32,
    id: WorkerId,
    pos: usize,
}

impl Ranked {
    fn cmp(&self, o: &Ranked) -> Ordering {
        self.hard_ok
            .cmp(&o.hard_ok)
            .then(self.all_ok.cmp(&o.all_ok))
            .then(self.total.total_cmp(&o.total))
            .then(o.load.cmp(&self.load))
            .then(o.id.cmp(&self.id))
    }
}

const RUNNER_UPS: usize = 2;

impl Pipeline {
    pub fn from_config(config: &MatchingConfig) -> Result<Pipeline, PipelineError> {
        if config.price <= 0 {
            return Err(PipelineError::BadPrice);
        }
        let mut stages: Vec<Stage> = Vec::with_capacity(config.steps.len());
        let mut externals = Vec::new();
        for (index, s) in config.steps.iter().enumerate() {
            let bad = |key, message: &str| PipelineError::BadKey {
                index,
                key,
                message: message.to_owned(),
            };
            let (name, weight) = (s.name(), s.weight());
            if !weight.is_finite() || weight < 0.0 {
                return Err(PipelineError::BadWeight { index });
            }
            if name.trim().is_empty() {
                return Err(bad("name", "must not be empty"));
            }
            if stages.iter().any(|st| st.name == name) {
                return Err(PipelineError::DuplicateStep {
                    index,
                    name: name.to_owned(),
                });
            }
            let (kind, url, timeout_ms, fallback) = match s {
                StepConfig::BuiltIn { .. } => {
                    let step = steps::build(name).ok_or_else(|| PipelineError::UnknownStep {
                        index,
                        name: name.to_owned(),
                        known: steps::BUILT_IN.join(", "),
                    })?;
                    stages.push(Stage {
                        name: name.to_owned(),
                        weight,
                        kind: step.kind(),
                        hard: step.hard(),
                        step,
                    });
                    continue;
                }
                StepConfig::ExternalFilter {
                    url, timeout_ms, ..
                } => (StepKind::Filter, url, *timeout_ms, 1.0),
                StepConfig::ExternalScore {
                    url,
                    timeout_ms,
                    fallback_score,
                    ..
                } => (StepKind::Score, url, *timeout_ms, *fallback_score),
            };
            if steps::BUILT_IN.contains(&name) {
                return Err(bad(
                    "url",
                    "a built-in step's name cannot be an external step",
                ));
            }
            let parsed =
                reqwest::Url::parse(url).map_err(|e| bad("url", &format!("not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad("url", "must be an http or https URL"));
            }
            if !(1..=60_000).contains(&timeout_ms) {
                return Err(bad("timeout_ms", "must be 1 to 60000"));
            }
            if !(0.0..=1.0).contains(&fallback) {
                return Err(bad("fallback_score", "must be 0 to 1"));
            }
            let slot = externals.len();
            externals.push(ExternalSpec {
                slot,
                name: name.to_owned(),
                kind,
                url: url.clone(),
                timeout: std::time::Duration::from_millis(timeout_ms),
            });
            let step: Box<dyn Step> = Box::new(steps::External {
                slot,
                kind,
                fallback,
            });
            stages.push(Stage {
                name: name.to_owned(),
                weight,
                kind: step.kind(),
                hard: step.hard(),
                step,
            });
        }
        Ok(Pipeline {
            stages,
            externals,
            pricing: Box::new(FlatPrice(Money::from_minor(config.price))),
        })
    }

    /// The external steps, for the matcher to ask before deciding.
    pub fn externals(&self) -> &[ExternalSpec] {
        &self.externals
    }

    /// Picks a worker among every normal sample of `roster`. `None` only when there is
    /// none at all.
    ///
    /// Candidates that pass every filter are ranked by the weighted sum of the score steps.
    /// When filters leave nobody, the fallback ranks *all* candidates by the same sum, so
    /// an order is always assigned (the explanation then shows which filters failed), with
    /// one exception: a candidate failing a *hard* filter (exclude_failed) ranks below every
    /// other candidate, so he is picked only when everyone fails it.
    /// Ties go to the lighter load, then the smaller id, so the choice is deterministic.
    pub fn decide(
        &self,
        reference: &ReferenceSample,
        roster: &Roster,
        now: DateTime<Utc>,
        external: &ExternalScores,
    ) -> Option<Decision> {
        let ctx = StepContext {
            reference,
            roster,
            skill: roster.skill_id(&reference.skill),
            start: storage::micros(reference.scheduled_at),
            end: storage::micros(reference.ends_at),
            now: storage::micros(now),
            external,
        };
        // The best, then the runners-up, best first.
        let mut top: [Option<Ranked>; RUNNER_UPS + 1] = [None; RUNNER_UPS + 1];
        let busy = roster.overlaps(ctx.start, ctx.end);
        let levels = roster.column(ctx.skill);
        let entries = roster.entries();
        for (pos, hot) in roster.hot().iter().enumerate() {
            let c = Candidate {
                pos,
                entry: &entries[pos],
                available: hot.available,
                history: hot.history,
                level: levels.map_or(0, |l| l[pos]),
                overlapping: busy[pos],
                load: if hot.min_end > ctx.now {
                    hot.bookings
                } else {
                    roster.load(pos, ctx.now)
                },
                excluded: !reference.excluded_workers.is_empty()
                    && reference.excluded_workers.contains(&hot.id),
            };
            let (hard_ok, all_ok, total) = self.rank(&ctx, &c);
            let r = Ranked {
                hard_ok,
                all_ok,
                total,
                load: c.load,
                id: hot.id,
                pos,
            };
            // Most candidates do not even beat the last of the short list.
            if top[RUNNER_UPS].is_some_and(|t| r.cmp(&t) != Ordering::Greater) {
                continue;
            }
            let i = top
                .iter()
                .position(|t| t.is_none_or(|t| r.cmp(&t) == Ordering::Greater))
                .unwrap_or(RUNNER_UPS);
            top.copy_within(i..RUNNER_UPS, i + 1);
            top[i] = Some(r);
        }
        let best = top[0]?;
        let entry = &roster.entries()[best.pos];
        let c = candidate(&ctx, best.pos, entry);
        debug_assert_eq!(c.overlapping, busy[best.pos]);
        let explanation: Vec<StepScore> = self
            .stages
            .iter()
            .map(|st| {
                let score = clamp(st.step.evaluate(&ctx, &c));
                StepScore {
                    step: st.name.clone(),
                    kind: st.kind.as_str().to_owned(),
                    passed: st.kind == StepKind::Score || score >= 1.0,
                    score,
                    weight: st.weight,
                    note: st.step.note(&ctx, &c),
                }
            })
            .collect();
        let runner_ups: Vec<RunnerUp> = top[1..]
            .iter()
            .flatten()
            .map(|r| RunnerUp {
                worker_id: r.id,
                name: roster.entries()[r.pos].name.clone(),
                total: r.total,
                passed_filters: r.all_ok,
            })
            .collect();
        let max_total = self
            .stages
            .iter()
            .filter(|s| s.kind == StepKind::Score)
            .map(|s| s.weight)
            .sum();
        let mut d = Decision {
            worker_id: entry.id,
            price: self.pricing.price(reference),
            fallback: !best.all_ok,
            candidates: roster.len() as i64,
            total: best.total,
            max_total,
            explanation,
            runner_ups,
            summary: String::new(),
        };
        d.summary = summary(&d, &entry.name, reference);
        Some(d)
    }

    fn rank(&self, ctx: &StepContext, c: &Candidate) -> (bool, bool, f64) {
        let (mut hard_ok, mut all_ok, mut total) = (true, true, 0.0);
        for st in &self.stages {
            let score = clamp(st.step.evaluate(ctx, c));
            match st.kind {
                StepKind::Filter => {
                    if score < 1.0 {
                        all_ok = false;
                        hard_ok &= !st.hard;
                    }
                }
                StepKind::Score => total += st.weight * score,
            }
        }
        (hard_ok, all_ok, total)
    }
}

/// The candidate at `pos`, computed from its entry alone (for the explained workers).
fn candidate<'a>(ctx: &StepContext, pos: usize, entry: &'a super::roster::Entry) -> Candidate<'a> {
    Candidate {
        pos,
        entry,
        available: entry.available,
        history: entry.history,
        level: entry.level(ctx.skill) as u8,
        overlapping: entry.overlapping(ctx.start, ctx.end),
        load: entry.load(ctx.now),
        excluded: ctx.reference.excluded_workers.contains(&entry.id),
    }
}

/// Scores outside 0..=1 (or NaN, from an external step) are clamped (NaN: 0).
fn clamp(score: f64) -> f64 {
    if score.is_nan() {
        0.0
    } else {
        score.clamp(0.0, 1.0)
    }
}

/// One line a manager can read: who, why, what was close, what went wrong.
fn summary(d: &Decision, name: &str, reference: &ReferenceSample) -> String {
    let scores: Vec<String> = d
        .explanation
        .iter()
        .filter(|s| s.kind == "score")
        .map(|s| format!("{} {:.2}x{}", s.step, s.score, s.weight))
        .collect();
    let mut line = format!(
        "Picked {name} for {skill} out of {n} normal sample{s}: total {total:.2} of {max:.2} ({scores})",
        skill = reference.skill,
        n = d.candidates,
        s = if d.candidates == 1 { "" } else { "s" },
        total = d.total,
        max = d.max_total,
        scores = if scores.is_empty() {
            "no score steps".to_owned()
        } else {
            scores.join(", ")
        },
    );
    if d.fallback {
        let failed: Vec<&str> = d
            .explanation
            .iter()
            .filter(|s| !s.passed)
            .map(|s| s.step.as_str())
            .collect();
        line.push_str(&format!(
            "; fallback: nobody passed every filter, this one failed {}",
            failed.join(", ")
        ));
    } else {
        line.push_str("; passed every filter");
    }
    for s in d.explanation.iter().filter(|s| s.note.is_some()) {
        line.push_str(&format!(
            "; {}: {}",
            s.step,
            s.note.as_deref().unwrap_or_default()
        ));
    }
    if let Some(r) = d.runner_ups.first() {
        line.push_str(&format!("; runner-up {} at {:.2}", r.name, r.total));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use contracts::{AccountId, OrderId};

    use super::*;
    use crate::domain::roster::{Booking, SampleState};
    use crate::domain::samples::{History, NormalSample};
    use crate::domain::steps::ExternalOutcome;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn reference() -> ReferenceSample {
        let at = now() + chrono::Duration::days(1);
        ReferenceSample {
            order_id: OrderId::new(),
            client_id: AccountId::new(),
            skill: "cleaning".into(),
            scheduled_at: at,
            ends_at: at + chrono::Duration::hours(1),
            excluded_workers: vec![],
            rebook_of: None,
        }
    }

    struct W {
        level: i64,
        available: bool,
        overlapping: usize,
        load: usize,
        history: History,
    }

    fn w(level: i64) -> W {
        W {
            level,
            available: true,
            overlapping: 0,
            load: 0,
            history: History::default(),
        }
    }

    impl W {
        fn unavailable(mut self) -> W {
            self.available = false;
            self
        }
        fn overlapping(mut self, n: usize) -> W {
            self.overlapping = n;
            self
        }
        fn load(mut self, n: usize) -> W {
            self.load = n;
            self
        }
        fn history(mut self, completed: i64, failed: i64) -> W {
            self.history = History { completed, failed };
            self
        }
    }

    /// A roster of the workers; returns it with their ids in order.
    fn roster(r: &ReferenceSample, ws: Vec<W>) -> (Roster, Vec<WorkerId>) {
        let mut ids = vec![];
        let states = ws.into_iter().enumerate().map(|(i, w)| {
            let id = WorkerId::new();
            ids.push(id);
            let mut bookings = vec![];
            let (s, e) = (storage::micros(r.scheduled_at), storage::micros(r.ends_at));
            for _ in 0..w.overlapping {
                bookings.push(Booking {
                    start: s,
                    end: e,
                    order_id: OrderId::new(),
                });
            }
            for k in 0..w.load {
                let start = e + 3_600_000_000 * (k as i64 + 1);
                bookings.push(Booking {
                    start,
                    end: start + 1,
                    order_id: OrderId::new(),
                });
            }
            SampleState {
                sample: NormalSample {
                    id,
                    name: format!("w{i}"),
                    available: w.available,
                    skills: BTreeMap::from([("cleaning".to_owned(), w.level)]),
                },
                history: w.history,
                bookings,
            }
        });
        let roster = Roster::from_states(states.collect::<Vec<_>>(), 1);
        (roster, ids)
    }

    fn pipeline() -> Pipeline {
        Pipeline::from_config(&MatchingConfig::default()).unwrap()
    }

    fn decide(p: &Pipeline, r: &ReferenceSample, roster: &Roster) -> Decision {
        p.decide(r, roster, now(), &ExternalScores::default())
            .unwrap()
    }

    /// The decision when the pipeline's one external step answered `outcome` for this roster.
    fn decide_after(
        p: &Pipeline,
        r: &ReferenceSample,
        roster: &Roster,
        outcome: ExternalOutcome,
    ) -> Decision {
        let scores = ExternalScores {
            generation: roster.generation(),
            outcomes: vec![outcome],
        };
        p.decide(r, roster, now(), &scores).unwrap()
    }

    fn config(steps: &[(&str, f64)]) -> MatchingConfig {
        MatchingConfig {
            price: 100,
            steps: steps
                .iter()
                .map(|(n, w)| StepConfig::built_in(n, *w))
                .collect(),
        }
    }

    #[test]
    fn the_most_skilled_free_worker_wins_and_the_explanation_has_every_step() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(30), w(90), w(99).overlapping(1)]);
        let d = decide(&pipeline(), &r, &roster);
        assert_eq!(d.worker_id, ids[1]);
        assert!(!d.fallback);
        assert_eq!(d.price, Money::from_minor(100));
        assert_eq!(d.candidates, 3);
        let steps: Vec<_> = d.explanation.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(
            steps,
            [
                "availability",
                "exclude_failed",
                "skill_fit",
                "past_results",
                "load_balance"
            ]
        );
        assert!((d.explanation[2].score - 0.9).abs() < 1e-9);
        assert!((d.total - (1.8 + 0.5 + 1.0)).abs() < 1e-9);
        assert_eq!(d.max_total, 4.0);
        // The busy 99 fails a filter, so the free 30 is the runner-up.
        assert_eq!(d.runner_ups[0].worker_id, ids[0]);
        assert!(
            d.summary
                .starts_with("Picked w1 for cleaning out of 3 normal samples")
        );
        assert!(d.summary.contains("runner-up w0"), "{}", d.summary);
    }

    #[test]
    fn load_balance_breaks_equal_skill() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(50).load(3), w(50).load(1)]);
        assert_eq!(decide(&pipeline(), &r, &roster).worker_id, ids[1]);
    }

    #[test]
    fn past_results_prefer_the_reliable_worker_and_spare_newcomers() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(60).history(0, 3), w(60), w(60).history(5, 0)]);
        let p = pipeline();
        assert_eq!(decide(&p, &r, &roster).worker_id, ids[2]);
        // Without the veteran the newcomer (0.5) beats the one who failed (0.2).
        let (roster, ids) = super::tests::roster(&r, vec![w(60).history(0, 3), w(60)]);
        let d = decide(&p, &r, &roster);
        assert_eq!(d.worker_id, ids[1]);
        assert_eq!(d.explanation[3].score, 0.5);
    }

    #[test]
    fn when_every_worker_is_filtered_out_the_fallback_still_assigns() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(10).unavailable(), w(80).overlapping(2)]);
        let d = decide(&pipeline(), &r, &roster);
        assert!(d.fallback);
        assert_eq!(d.worker_id, ids[1]);
        assert!(!d.explanation[0].passed);
        assert!(d.summary.contains("fallback"), "{}", d.summary);
    }

    #[test]
    fn an_excluded_worker_is_never_chosen_while_another_exists() {
        let mut r = reference();
        // The excluded worker is the best by far; the other one is even busy at that time.
        let (roster, ids) = roster(
            &r,
            vec![w(100).history(50, 0), w(1).overlapping(1).history(0, 9)],
        );
        r.excluded_workers = vec![ids[0]];
        let d = decide(&pipeline(), &r, &roster);
        assert_eq!(d.worker_id, ids[1]);
        assert!(d.fallback);
        // Even with exclusion last in the pipeline and no other filter.
        let p =
            Pipeline::from_config(&config(&[("skill_fit", 1.0), ("exclude_failed", 1.0)])).unwrap();
        assert_eq!(decide(&p, &r, &roster).worker_id, ids[1]);
        // The only normal sample there is: assigned anyway (an order is always assigned).
        let (alone, only) = super::tests::roster(&r, vec![w(50)]);
        r.excluded_workers = only.clone();
        let d = decide(&pipeline(), &r, &alone);
        assert_eq!(d.worker_id, only[0]);
        assert!(d.fallback);
        assert!(!d.explanation[1].passed);
    }

    #[test]
    fn no_candidates_means_no_decision_yet() {
        let r = reference();
        assert!(
            pipeline()
                .decide(&r, &Roster::new(), now(), &ExternalScores::default())
                .is_none()
        );
    }

    #[test]
    fn configuration_sets_order_set_and_weights() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(100).load(1).history(0, 1), w(40).history(9, 0)]);
        // Default: skill weighs most.
        assert_eq!(decide(&pipeline(), &r, &roster).worker_id, ids[0]);
        // Only load balance.
        let mut c = config(&[("load_balance", 5.0)]);
        c.price = 250;
        let p = Pipeline::from_config(&c).unwrap();
        let d = decide(&p, &r, &roster);
        assert_eq!(d.worker_id, ids[1]);
        assert_eq!(d.price, Money::from_minor(250));
        assert_eq!(d.explanation.len(), 1);
        // Weights: past results heavier than skill flips the choice.
        let p =
            Pipeline::from_config(&config(&[("skill_fit", 1.0), ("past_results", 3.0)])).unwrap();
        assert_eq!(decide(&p, &r, &roster).worker_id, ids[1]);
        let p =
            Pipeline::from_config(&config(&[("skill_fit", 3.0), ("past_results", 1.0)])).unwrap();
        assert_eq!(decide(&p, &r, &roster).worker_id, ids[0]);
        // Order: the explanation follows the configured order.
        let p =
            Pipeline::from_config(&config(&[("past_results", 1.0), ("skill_fit", 1.0)])).unwrap();
        let steps: Vec<_> = decide(&p, &r, &roster)
            .explanation
            .into_iter()
            .map(|s| s.step)
            .collect();
        assert_eq!(steps, ["past_results", "skill_fit"]);
    }

    fn external_score(name: &str, url: &str, timeout_ms: u64, fallback_score: f64) -> StepConfig {
        StepConfig::ExternalScore {
            name: name.into(),
            weight: 1.0,
            url: url.into(),
            timeout_ms,
            fallback_score,
        }
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |steps: Vec<StepConfig>| {
            Pipeline::from_config(&MatchingConfig { price: 100, steps })
                .err()
                .unwrap()
                .to_string()
        };
        assert!(
            err(vec![StepConfig::built_in("astrology", 1.0)]).starts_with("matching.steps[0].name")
        );
        assert!(
            err(vec![
                StepConfig::built_in("skill_fit", 1.0),
                StepConfig::built_in("skill_fit", 1.0)
            ])
            .starts_with("matching.steps[1].name")
        );
        assert!(
            err(vec![StepConfig::built_in("skill_fit", -1.0)])
                .starts_with("matching.steps[0].weight")
        );
        let ext = |url: &str| external_score("ext", url, 300, 0.5);
        let steps = vec![
            StepConfig::built_in("availability", 1.0),
            StepConfig::built_in("skill_fit", 1.0),
            ext("not a url"),
        ];
        assert!(err(steps).starts_with("matching.steps[2].url"));
        assert!(err(vec![ext("ftp://x/")]).starts_with("matching.steps[0].url"));
        assert!(
            err(vec![external_score("skill_fit", "http://x/", 300, 0.5)])
                .starts_with("matching.steps[0].url")
        );
        // A missing or unknown kind, and a built-in step with a kind, are refused when the
        // section is parsed (see `config`), naming the step and the key.
        let slow = external_score("ext", "http://x/", 0, 0.5);
        assert!(err(vec![slow]).starts_with("matching.steps[0].timeout_ms"));
        let odd = external_score("ext", "http://x/", 300, 2.0);
        assert!(err(vec![odd]).starts_with("matching.steps[0].fallback_score"));
        assert_eq!(
            Pipeline::from_config(&MatchingConfig {
                price: 0,
                steps: vec![]
            })
            .err(),
            Some(PipelineError::BadPrice)
        );
    }

    #[test]
    fn external_scores_are_used_and_their_failures_fall_back_with_a_note() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(90), w(10)]);
        let c = MatchingConfig {
            price: 100,
            steps: vec![
                StepConfig::built_in("skill_fit", 1.0),
                StepConfig::ExternalScore {
                    name: "vibes".into(),
                    weight: 5.0,
                    url: "http://127.0.0.1:1/score".into(),
                    timeout_ms: 300,
                    fallback_score: 0.25,
                },
            ],
        };
        let p = Pipeline::from_config(&c).unwrap();
        assert_eq!(p.externals().len(), 1);
        let by_id = HashMap::from([(ids[0], 0.0), (ids[1], 1.0)]);
        let aligned = ExternalScores::align(&roster, |id| by_id.get(id).copied());
        let d = decide_after(&p, &r, &roster, aligned);
        assert_eq!(d.worker_id, ids[1]);
        assert_eq!(d.explanation[1].score, 1.0);
        assert_eq!(d.explanation[1].note, None);
        // Failed call: everyone gets the fallback, skill decides, the note says why.
        let failed = ExternalOutcome::Failed("timed out after 300 ms".into());
        let d = decide_after(&p, &r, &roster, failed);
        assert_eq!(d.worker_id, ids[0]);
        assert_eq!(d.explanation[1].score, 0.25);
        let note = d.explanation[1].note.clone().unwrap();
        assert!(
            note.contains("timed out") && note.contains("fallback score 0.25"),
            "{note}"
        );
        assert!(d.summary.contains("vibes: timed out"), "{}", d.summary);
        // A score missing for one worker: that worker falls back.
        let one_missing = ExternalOutcome::Scored(vec![None, Some(0.1)]);
        let d = decide_after(&p, &r, &roster, one_missing);
        assert_eq!(d.worker_id, ids[0]);
        assert!(
            d.explanation[1]
                .note
                .as_deref()
                .unwrap()
                .contains("no valid score")
        );
        // Scores for another roster generation are not trusted.
        let stale = ExternalScores {
            generation: roster.generation() + 1,
            outcomes: vec![ExternalScores::align(&roster, |id| by_id.get(id).copied())],
        };
        let d = p.decide(&r, &roster, now(), &stale).unwrap();
        assert_eq!(d.worker_id, ids[0]);
    }

    #[test]
    fn an_external_filter_that_fails_lets_everyone_pass() {
        let r = reference();
        let (roster, ids) = roster(&r, vec![w(90), w(10)]);
        let c = MatchingConfig {
            price: 100,
            steps: vec![
                StepConfig::ExternalFilter {
                    name: "vetting".into(),
                    weight: 1.0,
                    url: "http://127.0.0.1:1/filter".into(),
                    timeout_ms: 300,
                },
                StepConfig::built_in("skill_fit", 1.0),
            ],
        };
        let p = Pipeline::from_config(&c).unwrap();
        let scored = ExternalOutcome::Scored(vec![Some(0.0), Some(1.0)]);
        let d = decide_after(&p, &r, &roster, scored);
        assert_eq!(d.worker_id, ids[1]);
        let d = decide_after(&p, &r, &roster, ExternalOutcome::Failed("HTTP 500".into()));
        assert_eq!(d.worker_id, ids[0]);
        assert!(d.explanation[0].passed);
        assert!(!d.fallback);
        assert!(
            d.explanation[0]
                .note
                .as_deref()
                .unwrap()
                .contains("fallback: passed")
        );
    }
}
