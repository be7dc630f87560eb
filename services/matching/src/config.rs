//! The `[matching]` section: the price and the pipeline's steps.

use serde::{Deserialize, Serialize};

use crate::domain::pipeline::Pipeline;

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
                StepConfig::built_in("availability", 1.0),
                StepConfig::built_in("exclude_failed", 1.0),
                StepConfig::built_in("skill_fit", 2.0),
                StepConfig::built_in("past_results", 1.0),
                StepConfig::built_in("load_balance", 1.0),
            ],
        }
    }
}

/// The pipeline must build from the section: unknown steps, bad weights or URLs are
/// refused at load time, naming the key.
impl service::Section for MatchingConfig {
    fn validate(&self) -> anyhow::Result<()> {
        Pipeline::from_config(self)?;
        Ok(())
    }
}

/// Default wait for an external step.
pub const DEFAULT_TIMEOUT_MS: u64 = 300;
/// Default score of an external score step that could not answer.
pub const DEFAULT_FALLBACK_SCORE: f64 = 0.5;

/// One configured step (`[[matching.steps]]`): a built-in step, or an external filter or
/// score asked over HTTP (see `crate::external`). Written as one TOML table whatever the
/// kind (`name`, `weight`, and for external steps `url`, `kind`, `timeout_ms`,
/// `fallback_score`); a table that mixes them (a built-in step with a `kind`, an external
/// filter with a `fallback_score`, a `url` without `kind`) is refused when parsed, naming
/// the key. Values (names, weights, URLs, ranges) are checked by `Pipeline::from_config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StepTable", into = "StepTable")]
pub enum StepConfig {
    /// A step written in Matching: availability, exclude_failed, skill_fit, past_results,
    /// load_balance.
    BuiltIn { name: String, weight: f64 },
    /// Removes workers; passes everyone when it cannot answer.
    ExternalFilter {
        name: String,
        weight: f64,
        url: String,
        timeout_ms: u64,
    },
    /// Scores workers 0..1; everyone gets `fallback_score` when it cannot answer.
    ExternalScore {
        name: String,
        weight: f64,
        url: String,
        timeout_ms: u64,
        fallback_score: f64,
    },
}

impl StepConfig {
    /// A built-in step with a weight.
    pub fn built_in(name: &str, weight: f64) -> StepConfig {
        StepConfig::BuiltIn {
            name: name.into(),
            weight,
        }
    }

    /// The step's name (its label in explanations).
    pub fn name(&self) -> &str {
        match self {
            StepConfig::BuiltIn { name, .. }
            | StepConfig::ExternalFilter { name, .. }
            | StepConfig::ExternalScore { name, .. } => name,
        }
    }

    /// Weight of a score step in the total (ignored for filters).
    pub fn weight(&self) -> f64 {
        match self {
            StepConfig::BuiltIn { weight, .. }
            | StepConfig::ExternalFilter { weight, .. }
            | StepConfig::ExternalScore { weight, .. } => *weight,
        }
    }
}

/// A step as written in TOML: one table for every kind of step.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepTable {
    /// A built-in step or, with `url`, any name for an external step.
    name: String,
    #[serde(default = "one")]
    weight: f64,
    /// External steps only: where the step is evaluated (HTTP POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// External steps only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<ExternalKind>,
    /// External steps only: how long to wait for the answer (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    /// External score steps only (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fallback_score: Option<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ExternalKind {
    Filter,
    Score,
}

fn one() -> f64 {
    1.0
}

impl TryFrom<StepTable> for StepConfig {
    type Error = String;

    fn try_from(t: StepTable) -> Result<Self, String> {
        let StepTable {
            name,
            weight,
            url,
            kind,
            timeout_ms,
            fallback_score,
        } = t;
        let Some(url) = url else {
            return match (kind, timeout_ms, fallback_score) {
                (Some(_), _, _) => Err("kind: only external steps (with a url) take a kind".into()),
                (_, Some(_), _) => {
                    Err("timeout_ms: only external steps (with a url) take a timeout".into())
                }
                (_, _, Some(_)) => Err(
                    "fallback_score: only external steps (with a url) take a fallback score".into(),
                ),
                (None, None, None) => Ok(StepConfig::BuiltIn { name, weight }),
            };
        };
        let timeout_ms = timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        match kind {
            None => Err("kind: an external step needs kind = \"filter\" or \"score\"".into()),
            Some(ExternalKind::Filter) if fallback_score.is_some() => Err(
                "fallback_score: external filters pass when they cannot answer; no score to set"
                    .into(),
            ),
            Some(ExternalKind::Filter) => Ok(StepConfig::ExternalFilter {
                name,
                weight,
                url,
                timeout_ms,
            }),
            Some(ExternalKind::Score) => Ok(StepConfig::ExternalScore {
                name,
                weight,
                url,
                timeout_ms,
                fallback_score: fallback_score.unwrap_or(DEFAULT_FALLBACK_SCORE),
            }),
        }
    }
}

impl From<StepConfig> for StepTable {
    fn from(s: StepConfig) -> Self {
        let table = |name, weight| StepTable {
            name,
            weight,
            url: None,
            kind: None,
            timeout_ms: None,
            fallback_score: None,
        };
        match s {
            StepConfig::BuiltIn { name, weight } => table(name, weight),
            StepConfig::ExternalFilter {
                name,
                weight,
                url,
                timeout_ms,
            } => StepTable {
                url: Some(url),
                kind: Some(ExternalKind::Filter),
                timeout_ms: Some(timeout_ms),
                ..table(name, weight)
            },
            StepConfig::ExternalScore {
                name,
                weight,
                url,
                timeout_ms,
                fallback_score,
            } => StepTable {
                url: Some(url),
                kind: Some(ExternalKind::Score),
                timeout_ms: Some(timeout_ms),
                fallback_score: Some(fallback_score),
                ..table(name, weight)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(steps: serde_json::Value) -> (String, String) {
        let e = service::parse_section::<MatchingConfig>(&json!({ "steps": steps })).unwrap_err();
        (e.key, e.message)
    }

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["matching"]).unwrap();
        let config = service::parse_section::<MatchingConfig>(&section).unwrap();
        assert_eq!(config, MatchingConfig::default());
    }

    #[test]
    fn given_external_steps_then_each_kind_gets_its_defaults_and_round_trips() {
        let steps = json!([
            {"name": "reviews", "url": "http://x/score", "kind": "score", "weight": 2.0},
            {"name": "vetting", "url": "http://x/filter", "kind": "filter", "timeout_ms": 50},
        ]);
        let config = service::parse_section::<MatchingConfig>(&json!({ "steps": steps })).unwrap();
        assert_eq!(
            config.steps,
            [
                StepConfig::ExternalScore {
                    name: "reviews".into(),
                    weight: 2.0,
                    url: "http://x/score".into(),
                    timeout_ms: DEFAULT_TIMEOUT_MS,
                    fallback_score: DEFAULT_FALLBACK_SCORE,
                },
                StepConfig::ExternalFilter {
                    name: "vetting".into(),
                    weight: 1.0,
                    url: "http://x/filter".into(),
                    timeout_ms: 50,
                },
            ]
        );
        let again = serde_json::to_value(&config).unwrap();
        assert_eq!(
            service::parse_section::<MatchingConfig>(&again).unwrap(),
            config
        );
    }

    #[test]
    fn given_a_table_mixing_kinds_when_parsed_then_the_step_and_key_are_named() {
        for (step, key) in [
            (json!({"name": "skill_fit", "kind": "score"}), "kind"),
            (json!({"name": "skill_fit", "timeout_ms": 5}), "timeout_ms"),
            (
                json!({"name": "skill_fit", "fallback_score": 0.5}),
                "fallback_score",
            ),
            (json!({"name": "ext", "url": "http://x/"}), "kind"),
            (
                json!({"name": "ext", "url": "http://x/", "kind": "filter", "fallback_score": 1.0}),
                "fallback_score",
            ),
        ] {
            let (at, message) = refused(json!([{"name": "availability"}, step]));
            assert_eq!(at, "steps[1]", "{message}");
            assert!(message.starts_with(&format!("{key}: ")), "{key}: {message}");
        }
        let (at, message) = refused(json!([{"name": "ext", "url": "http://x/", "kind": "vote"}]));
        assert_eq!(at, "steps[0].kind", "{message}");
        let (at, _) = refused(json!([{"name": "ext", "colour": "red"}]));
        assert_eq!(at, "steps[0].colour");
    }
}
