//! A test as managers write it, as candidates see it, and how their answers are graded.

use contracts::TestId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::HiringError;

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub text: String,
    pub choices: Vec<String>,
    /// Index of the right choice (never shown to candidates).
    pub answer: usize,
}

/// A test as managers write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// One line, at most 100 characters.
    pub name: String,
    /// The skill it measures (Matching scores workers on skills).
    pub characteristic: String,
    /// Percent of right answers needed to pass.
    pub pass_mark: i64,
    pub questions: Vec<Question>,
}

impl TestSpec {
    pub fn validate(mut self) -> Result<TestSpec, HiringError> {
        self.name = web::text::single_line("name", &self.name, 100)?;
        self.characteristic =
            web::text::single_line("characteristic", &self.characteristic, 50)?.to_lowercase();
        if self.characteristic.is_empty() || self.characteristic.len() > 50 {
            return Err(HiringError::invalid(
                "characteristic",
                "must be 1 to 50 characters",
            ));
        }
        if !(0..=100).contains(&self.pass_mark) {
            return Err(HiringError::invalid("pass_mark", "must be 0 to 100"));
        }
        if self.questions.is_empty() || self.questions.len() > 100 {
            return Err(HiringError::invalid("questions", "give 1 to 100 questions"));
        }
        for (i, q) in self.questions.iter().enumerate() {
            if q.text.trim().is_empty() {
                return Err(HiringError::invalid(
                    &format!("questions[{i}].text"),
                    "is empty",
                ));
            }
            web::text::single_line(&format!("questions[{i}].text"), &q.text, 1000)?;
            for (j, choice) in q.choices.iter().enumerate() {
                web::text::single_line(&format!("questions[{i}].choices[{j}]"), choice, 200)?;
            }
            if !(2..=10).contains(&q.choices.len()) {
                return Err(HiringError::invalid(
                    &format!("questions[{i}].choices"),
                    "give 2 to 10 choices",
                ));
            }
            if q.answer >= q.choices.len() {
                return Err(HiringError::invalid(
                    &format!("questions[{i}].answer"),
                    "is not one of the choices",
                ));
            }
        }
        Ok(self)
    }

    /// The test as a candidate sees it: no answer key.
    pub fn for_candidate(&self) -> ShownTest {
        ShownTest {
            name: self.name.clone(),
            questions: self
                .questions
                .iter()
                .map(|q| ShownQuestion {
                    text: q.text.clone(),
                    choices: q.choices.clone(),
                })
                .collect(),
        }
    }

    /// The result of `answers`: the score (see [`TestSpec::score`]) and whether it
    /// reaches the pass mark.
    pub fn grade(&self, answers: &[usize]) -> Result<Grade, HiringError> {
        let score = self.score(answers)?;
        Ok(Grade {
            score,
            passed: score >= self.pass_mark,
        })
    }

    /// Percent of right answers; `answers[i]` is the chosen index for question i. A wrong
    /// number of answers or an index that is not one of the question's choices is refused
    /// (naming it) before anything is scored, so a malformed submission cannot use up the
    /// candidate's single attempt.
    pub fn score(&self, answers: &[usize]) -> Result<i64, HiringError> {
        if answers.len() != self.questions.len() {
            return Err(HiringError::invalid(
                "answers",
                &format!("answer each of the {} questions", self.questions.len()),
            ));
        }
        for (i, (q, a)) in self.questions.iter().zip(answers).enumerate() {
            if *a >= q.choices.len() {
                return Err(HiringError::invalid(
                    &format!("answers[{i}]"),
                    &format!(
                        "must be a choice's index, 0 to {}",
                        q.choices.len().saturating_sub(1)
                    ),
                ));
            }
        }
        let right = self
            .questions
            .iter()
            .zip(answers)
            .filter(|(q, a)| q.answer == **a)
            .count();
        Ok((right * 100 / self.questions.len()) as i64)
    }
}

/// How one taking of a test went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grade {
    /// Percent of right answers.
    pub score: i64,
    pub passed: bool,
}

/// A stored test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Test {
    pub id: TestId,
    #[serde(flatten)]
    pub spec: TestSpec,
    /// Retired tests are kept for the results, never assigned again.
    pub retired: bool,
}

/// A question as candidates see it: no answer key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShownQuestion {
    pub text: String,
    pub choices: Vec<String>,
}

/// A test as candidates see it: no answer key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShownTest {
    pub name: String,
    pub questions: Vec<ShownQuestion>,
}

#[cfg(test)]
mod tests {
    use service::Refused;

    use super::*;

    fn test(answers: &[usize]) -> TestSpec {
        TestSpec {
            name: "Dishes".into(),
            characteristic: "Cleaning".into(),
            pass_mark: 50,
            questions: answers
                .iter()
                .map(|a| Question {
                    text: "?".into(),
                    choices: vec!["a".into(), "b".into(), "c".into()],
                    answer: *a,
                })
                .collect(),
        }
    }

    #[test]
    fn scoring_counts_right_answers_and_needs_every_answer() {
        let t = test(&[0, 1, 2, 0]).validate().unwrap();
        assert_eq!(t.characteristic, "cleaning");
        assert_eq!(t.score(&[0, 1, 2, 0]).unwrap(), 100);
        assert_eq!(t.score(&[0, 1, 0, 1]).unwrap(), 50);
        assert!(t.score(&[0]).is_err());
        assert!(
            serde_json::to_string(&t.for_candidate())
                .unwrap()
                .find("answer")
                .is_none(),
            "no key for candidates"
        );
    }

    #[test]
    fn impossible_answers_are_refused_naming_the_answer() {
        let t = test(&[0, 1]).validate().unwrap();
        let field = |r: Result<i64, HiringError>| match r {
            Err(HiringError::Refused(Refused::Invalid { field, .. })) => field,
            other => panic!("{other:?}"),
        };
        // Three choices per question: 0..=2.
        assert_eq!(field(t.score(&[7, 9])), "answers[0]");
        assert_eq!(field(t.score(&[2, 3])), "answers[1]");
        assert_eq!(field(t.score(&[usize::MAX, 0])), "answers[0]");
        assert_eq!(field(t.score(&[0, 1, 2])), "answers");
        assert_eq!(field(t.score(&[])), "answers");
        assert_eq!(t.score(&[2, 2]).unwrap(), 0);
    }

    #[test]
    fn an_answer_outside_the_choices_is_refused_naming_the_question() {
        let mut t = test(&[0]);
        t.questions[0].answer = 7;
        match t.validate() {
            Err(HiringError::Refused(Refused::Invalid { field, .. })) => {
                assert_eq!(field, "questions[0].answer")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn given_a_test_when_graded_then_the_pass_mark_decides() {
        let t = test(&[0, 1]).validate().unwrap();
        assert_eq!(
            t.grade(&[0, 1]).unwrap(),
            Grade {
                score: 100,
                passed: true
            }
        );
        assert_eq!(
            t.grade(&[0, 0]).unwrap(),
            Grade {
                score: 50,
                passed: true
            }
        );
        assert_eq!(
            t.grade(&[2, 2]).unwrap(),
            Grade {
                score: 0,
                passed: false
            }
        );
    }
}
