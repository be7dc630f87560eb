//! The matching pipeline: filters, then weighted scores, then the best total wins.

use contracts::matching::StepScore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::samples::{Candidate, ReferenceSample};
use super::steps::{self, Step, StepKind};

/// One configured step (`[[matching.steps]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// A built-in step name: availability, skill_fit, load_balance.
    pub name: String,
    /// Weight of a score step in the total (ignored for filters).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// The `[matching]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    /// Price of every order, in minor units (first version: a flat price).
    pub price: i64,
    /// The pipeline, in order.
    pub steps: Vec<StepConfig>,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        MatchingConfig {
            price: 100,
            steps: vec![
                StepConfig {
                    name: "availability".into(),
                    weight: 1.0,
                },
                StepConfig {
                    name: "skill_fit".into(),
                    weight: 2.0,
                },
                StepConfig {
                    name: "load_balance".into(),
                    weight: 1.0,
                },
            ],
        }
    }
}

/// Why a configuration cannot make a pipeline.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PipelineError {
    #[error("matching.steps[{index}].name: unknown step {name:?} (known: {known})")]
    UnknownStep {
        index: usize,
        name: String,
        known: String,
    },
    #[error("matching.steps[{index}].weight: must be a finite number >= 0")]
    BadWeight { index: usize },
    #[error("matching.price: must be positive")]
    BadPrice,
}

struct Stage {
    name: String,
    weight: f64,
    step: Box<dyn Step>,
}

/// A configured pipeline.
pub struct Pipeline {
    stages: Vec<Stage>,
    price: i64,
}

/// The pipeline's choice and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub worker_id: Uuid,
    pub price: i64,
    /// True when no candidate passed every filter and the fallback chose.
    pub fallback: bool,
    pub candidates: i64,
    /// Every step's verdict on the chosen worker.
    pub explanation: Vec<StepScore>,
}

impl Pipeline {
    pub fn from_config(config: &MatchingConfig) -> Result<Pipeline, PipelineError> {
        if config.price <= 0 {
            return Err(PipelineError::BadPrice);
        }
        let stages = config
            .steps
            .iter()
            .enumerate()
            .map(|(index, s)| {
                if !s.weight.is_finite() || s.weight < 0.0 {
                    return Err(PipelineError::BadWeight { index });
                }
                let step = steps::build(&s.name).ok_or_else(|| PipelineError::UnknownStep {
                    index,
                    name: s.name.clone(),
                    known: steps::BUILT_IN.join(", "),
                })?;
                Ok(Stage {
                    name: s.name.clone(),
                    weight: s.weight,
                    step,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Pipeline {
            stages,
            price: config.price,
        })
    }

    /// Picks a worker. `None` only when there is no candidate at all.
    ///
    /// Candidates that pass every filter are ranked by the weighted sum of the score steps.
    /// When filters leave nobody, the fallback ranks *all* candidates by the same sum, so
    /// an order is always assigned (the explanation then shows which filters failed).
    /// Ties go to the lighter load, then the smaller id, so the choice is deterministic.
    pub fn decide(
        &self,
        reference: &ReferenceSample,
        candidates: &[Candidate],
    ) -> Option<Decision> {
        let mut best: Option<(bool, f64, &Candidate, Vec<StepScore>)> = None;
        for c in candidates {
            let mut passed_all = true;
            let mut total = 0.0;
            let mut scores = Vec::with_capacity(self.stages.len());
            for stage in &self.stages {
                let score = stage.step.evaluate(reference, c).clamp(0.0, 1.0);
                let kind = stage.step.kind();
                let passed = kind == StepKind::Score || score >= 1.0;
                passed_all &= passed;
                if kind == StepKind::Score {
                    total += stage.weight * score;
                }
                scores.push(StepScore {
                    step: stage.name.clone(),
                    kind: kind.as_str().to_owned(),
                    passed,
                    score,
                    weight: stage.weight,
                });
            }
            let better = match &best {
                None => true,
                Some((b_passed, b_total, b, _)) => {
                    (
                        passed_all,
                        total,
                        std::cmp::Reverse(c.load),
                        std::cmp::Reverse(c.sample.id),
                    ) > (
                        *b_passed,
                        *b_total,
                        std::cmp::Reverse(b.load),
                        std::cmp::Reverse(b.sample.id),
                    )
                }
            };
            if better {
                best = Some((passed_all, total, c, scores));
            }
        }
        best.map(|(passed_all, _, c, explanation)| Decision {
            worker_id: c.sample.id,
            price: self.price,
            fallback: !passed_all,
            candidates: candidates.len() as i64,
            explanation,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::domain::samples::NormalSample;

    fn reference() -> ReferenceSample {
        let at = Utc::now();
        ReferenceSample {
            order_id: Uuid::now_v7(),
            client_id: "c".into(),
            skill: "cleaning".into(),
            scheduled_at: at,
            ends_at: at + chrono::Duration::hours(1),
        }
    }

    fn candidate(level: i64, available: bool, overlapping: i64, load: i64) -> Candidate {
        Candidate {
            sample: NormalSample {
                id: Uuid::now_v7(),
                name: "w".into(),
                available,
                skills: BTreeMap::from([("cleaning".to_owned(), level)]),
            },
            overlapping,
            load,
        }
    }

    fn pipeline() -> Pipeline {
        Pipeline::from_config(&MatchingConfig::default()).unwrap()
    }

    #[test]
    fn the_most_skilled_free_worker_wins_and_the_explanation_has_every_step() {
        let cs = [
            candidate(30, true, 0, 0),
            candidate(90, true, 0, 0),
            candidate(99, true, 1, 0),
        ];
        let d = pipeline().decide(&reference(), &cs).unwrap();
        assert_eq!(d.worker_id, cs[1].sample.id);
        assert!(!d.fallback);
        assert_eq!(d.price, 100);
        assert_eq!(d.candidates, 3);
        let steps: Vec<_> = d.explanation.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(steps, ["availability", "skill_fit", "load_balance"]);
        assert!((d.explanation[1].score - 0.9).abs() < 1e-9);
    }

    #[test]
    fn load_balance_breaks_equal_skill() {
        let cs = [candidate(50, true, 0, 3), candidate(50, true, 0, 1)];
        assert_eq!(
            pipeline().decide(&reference(), &cs).unwrap().worker_id,
            cs[1].sample.id
        );
    }

    #[test]
    fn when_every_worker_is_filtered_out_the_fallback_still_assigns() {
        let cs = [candidate(10, false, 0, 0), candidate(80, true, 2, 0)];
        let d = pipeline().decide(&reference(), &cs).unwrap();
        assert!(d.fallback);
        assert_eq!(d.worker_id, cs[1].sample.id);
        assert!(!d.explanation[0].passed);
    }

    #[test]
    fn no_candidates_means_no_decision_yet() {
        assert!(pipeline().decide(&reference(), &[]).is_none());
    }

    #[test]
    fn configuration_sets_order_set_and_weights() {
        let config = MatchingConfig {
            price: 250,
            steps: vec![StepConfig {
                name: "load_balance".into(),
                weight: 5.0,
            }],
        };
        let p = Pipeline::from_config(&config).unwrap();
        let cs = [candidate(100, true, 0, 4), candidate(0, true, 0, 0)];
        let d = p.decide(&reference(), &cs).unwrap();
        assert_eq!(d.worker_id, cs[1].sample.id);
        assert_eq!(d.price, 250);
        assert_eq!(d.explanation.len(), 1);
    }

    #[test]
    fn an_unknown_step_is_a_config_error_naming_the_key() {
        let config = MatchingConfig {
            price: 100,
            steps: vec![StepConfig {
                name: "astrology".into(),
                weight: 1.0,
            }],
        };
        let err = Pipeline::from_config(&config).err().unwrap();
        assert!(err.to_string().starts_with("matching.steps[0].name"));
    }
}
