//! The register of hypotheses for the business: a statement and its tags. Pure.

use chrono::{DateTime, Utc};
use contracts::AccountId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::QualityError;

/// Most tags one hypothesis carries.
pub const MAX_TAGS: usize = 20;

/// A hypothesis as a manager writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHypothesis {
    /// 1 to 1000 characters.
    pub statement: String,
    /// At most 20 tags, each a single line of 1 to 50 characters (kept lower case).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The tags of a hypothesis, replacing the old ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    pub tags: Vec<String>,
}

/// `tags` checked: single lines, lower case, without duplicates, sorted.
pub fn checked_tags(tags: &[String]) -> Result<Vec<String>, QualityError> {
    if tags.len() > MAX_TAGS {
        return Err(QualityError::invalid("tags", format!("at most {MAX_TAGS}")));
    }
    let mut out = tags
        .iter()
        .map(|t| web::text::single_line("tags", t, 50).map(|t| t.to_lowercase()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

impl NewHypothesis {
    /// The statement and tags checked.
    pub fn checked(&self) -> Result<(String, Vec<String>), QualityError> {
        let statement = self.statement.trim().to_owned();
        if statement.is_empty() {
            return Err(QualityError::invalid("statement", "is required"));
        }
        web::text::multi_line("statement", &statement, 1000)?;
        Ok((statement, checked_tags(&self.tags)?))
    }
}

/// A hypothesis of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hypothesis {
    pub id: Uuid,
    pub statement: String,
    pub tags: Vec<String>,
    pub author: AccountId,
    pub created_at: DateTime<Utc>,
    /// The reviews that support it.
    pub reviews: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_tags_then_they_are_kept_lower_case_once_each() {
        // Given tags with case and duplicates / When checked / Then lower case, once, sorted
        let tags = checked_tags(&["Supply".into(), "late ".into(), "supply".into()]).unwrap();
        assert_eq!(tags, vec!["late".to_owned(), "supply".to_owned()]);
    }

    #[test]
    fn given_bad_statements_or_tags_then_refused_naming_the_field() {
        // Given an empty statement, a tag with a line break, too many tags / Then refused
        let h = NewHypothesis {
            statement: " ".into(),
            tags: vec![],
        };
        assert!(
            h.checked()
                .unwrap_err()
                .to_string()
                .starts_with("statement:")
        );
        let h = NewHypothesis {
            statement: "x".into(),
            tags: vec!["a\nb".into()],
        };
        assert!(h.checked().unwrap_err().to_string().starts_with("tags:"));
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(
            checked_tags(&many)
                .unwrap_err()
                .to_string()
                .starts_with("tags:")
        );
    }
}
