//! The review form: what happened, whether and how the client was contacted, findings, a
//! verdict and the hypotheses it supports; kept as append-only revisions. Pure.

use chrono::{DateTime, Utc};
use contracts::{AccountId, OrderId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::QualityError;

/// Most hypotheses one review may link.
pub const MAX_LINKS: usize = 20;

/// What the reviewer concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The worker is to blame.
    WorkerAtFault,
    /// Something on the client's side (not there, changed their mind, ...).
    ClientSide,
    /// Supplies: the kit was late or wrong.
    SupplyProblem,
    /// Our process (matching, scheduling, the catalog) let it happen.
    ProcessProblem,
    /// Nobody is to blame.
    NoFault,
    /// Not enough to tell.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::WorkerAtFault => "worker_at_fault",
            Verdict::ClientSide => "client_side",
            Verdict::SupplyProblem => "supply_problem",
            Verdict::ProcessProblem => "process_problem",
            Verdict::NoFault => "no_fault",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [
            Verdict::WorkerAtFault,
            Verdict::ClientSide,
            Verdict::SupplyProblem,
            Verdict::ProcessProblem,
            Verdict::NoFault,
            Verdict::Inconclusive,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// The form as a manager fills it in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    /// What happened (1 to 5000 characters).
    pub what_happened: String,
    /// Whether the client was contacted.
    pub client_contacted: bool,
    /// How and what they said (required when contacted, at most 2000 characters).
    #[serde(default)]
    pub client_contact: String,
    /// What the review found (at most 5000 characters).
    #[serde(default)]
    pub findings: String,
    pub verdict: Verdict,
    /// Hypotheses of the register this review supports (at most 20); links are kept when
    /// a later revision leaves one out.
    #[serde(default)]
    pub hypotheses: Vec<Uuid>,
}

impl ReviewForm {
    /// The form checked, trimmed, naming the field at fault.
    pub fn checked(mut self) -> Result<ReviewForm, QualityError> {
        self.what_happened = self.what_happened.trim().to_owned();
        if self.what_happened.is_empty() {
            return Err(QualityError::invalid("what_happened", "is required"));
        }
        web::text::multi_line("what_happened", &self.what_happened, 5000)?;
        self.client_contact = self.client_contact.trim().to_owned();
        web::text::multi_line("client_contact", &self.client_contact, 2000)?;
        if self.client_contacted && self.client_contact.is_empty() {
            return Err(QualityError::invalid(
                "client_contact",
                "say how the client was contacted and what they said",
            ));
        }
        self.findings = self.findings.trim().to_owned();
        web::text::multi_line("findings", &self.findings, 5000)?;
        if self.hypotheses.len() > MAX_LINKS {
            return Err(QualityError::invalid(
                "hypotheses",
                format!("at most {MAX_LINKS}"),
            ));
        }
        self.hypotheses.sort();
        self.hypotheses.dedup();
        Ok(self)
    }
}

/// One revision of a review, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Revision {
    pub revision: i64,
    pub author: AccountId,
    pub written_at: DateTime<Utc>,
    pub what_happened: String,
    pub client_contacted: bool,
    pub client_contact: String,
    pub findings: String,
    pub verdict: Verdict,
}

impl Revision {
    /// Revision `revision` of `form`, by `author` at `now`.
    pub fn of(form: &ReviewForm, revision: i64, author: AccountId, now: DateTime<Utc>) -> Self {
        Revision {
            revision,
            author,
            written_at: now,
            what_happened: form.what_happened.clone(),
            client_contacted: form.client_contacted,
            client_contact: form.client_contact.clone(),
            findings: form.findings.clone(),
            verdict: form.verdict,
        }
    }
}

/// A review's head: who opened it and when, and its latest revision's number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReviewHead {
    pub id: Uuid,
    pub order_id: OrderId,
    pub author: AccountId,
    pub created_at: DateTime<Utc>,
    pub revision: i64,
}

impl ReviewHead {
    /// The next revision, if `expected` is the latest one (someone else's edit since
    /// would be lost otherwise: 409 `stale_revision`).
    pub fn next_revision(&self, expected: i64) -> Result<i64, QualityError> {
        if expected != self.revision {
            return Err(QualityError::conflict(
                "stale_revision",
                format!(
                    "the review is at revision {}, not {expected}: read it again",
                    self.revision
                ),
            ));
        }
        self.revision
            .checked_add(1)
            .ok_or_else(|| QualityError::conflict("stale_revision", "too many revisions"))
    }

    /// What Matching's audit keeps as the reason of an adjustment made from this review
    /// (at most 1000 characters, Matching's bound).
    pub fn adjustment_reason(&self, latest: &Revision) -> String {
        let text = format!(
            "Quality review {} of order {} (verdict {}): {}",
            self.id,
            self.order_id,
            latest.verdict.as_str(),
            if latest.findings.is_empty() {
                &latest.what_happened
            } else {
                &latest.findings
            }
        );
        web::text::to_single_line(&text, 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ReviewForm {
        ReviewForm {
            what_happened: "  The worker did not come. ".into(),
            client_contacted: true,
            client_contact: "Phoned; she rebooked".into(),
            findings: "Second no-show this month".into(),
            verdict: Verdict::WorkerAtFault,
            hypotheses: vec![],
        }
    }

    #[test]
    fn given_a_filled_form_then_it_is_kept_trimmed() {
        // Given a form with spaces around / When checked / Then trimmed
        assert_eq!(
            form().checked().unwrap().what_happened,
            "The worker did not come."
        );
    }

    #[test]
    fn given_a_contacted_client_without_how_then_the_form_is_refused_naming_it() {
        // Given a form saying the client was contacted but not how
        let mut f = form();
        f.client_contact = " ".into();
        // When checked / Then refused naming client_contact
        let e = f.checked().unwrap_err();
        assert!(e.to_string().starts_with("client_contact:"), "{e}");
        let mut f = form();
        f.what_happened = String::new();
        assert!(
            f.checked()
                .unwrap_err()
                .to_string()
                .starts_with("what_happened:")
        );
        let mut f = form();
        f.findings = "a\u{0}b".into();
        assert!(
            f.checked()
                .unwrap_err()
                .to_string()
                .starts_with("findings:")
        );
        let mut f = form();
        f.hypotheses = (0..21).map(|_| Uuid::now_v7()).collect();
        assert!(
            f.checked()
                .unwrap_err()
                .to_string()
                .starts_with("hypotheses:")
        );
    }

    #[test]
    fn given_a_review_at_revision_two_then_only_an_edit_of_two_makes_three() {
        // Given a review at revision 2
        let head = ReviewHead {
            id: Uuid::now_v7(),
            order_id: OrderId::new(),
            author: AccountId::new(),
            created_at: "2026-11-30T10:00:00Z".parse().unwrap(),
            revision: 2,
        };
        // When edited from 2, and from a stale 1
        // Then 3, and a refusal
        assert_eq!(head.next_revision(2).unwrap(), 3);
        assert!(
            head.next_revision(1)
                .unwrap_err()
                .to_string()
                .contains("revision 2")
        );
    }

    #[test]
    fn given_a_long_review_then_the_adjustment_reason_names_it_within_matchings_bound() {
        // Given a review with long findings over lines
        let head = ReviewHead {
            id: Uuid::now_v7(),
            order_id: OrderId::new(),
            author: AccountId::new(),
            created_at: "2026-11-30T10:00:00Z".parse().unwrap(),
            revision: 1,
        };
        let mut f = form().checked().unwrap();
        f.findings = "late\n".repeat(500);
        let latest = Revision::of(&f, 1, head.author, head.created_at);
        // When the reason is made / Then one line, at most 1000 characters, naming the review
        let reason = head.adjustment_reason(&latest);
        assert!(reason.chars().count() <= 1000);
        assert!(!reason.contains('\n'));
        assert!(reason.contains(&head.id.to_string()));
        assert!(reason.contains("worker_at_fault"));
    }
}
