//! Hiring's rules, without I/O: what a test is, how answers are scored, how results become
//! a worker's characteristics, what an application must contain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::HiringError;

/// One multiple-choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub text: String,
    pub choices: Vec<String>,
    /// Index of the right choice (never shown to candidates).
    pub answer: usize,
}

/// A test as managers write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
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
    pub fn for_candidate(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "questions": self.questions.iter().map(|q| serde_json::json!({
                "text": q.text, "choices": q.choices,
            })).collect::<Vec<_>>(),
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

/// Levels at or above this are strengths, below [`WEAKNESS_BELOW`] weaknesses.
pub const STRENGTH_FROM: i64 = 70;
pub const WEAKNESS_BELOW: i64 = 40;

/// Characteristics (skill -> level 0..100) from `(characteristic, score)` results: the mean
/// score per characteristic; plus strengths and weaknesses.
pub fn characteristics(
    results: &[(String, i64)],
) -> (BTreeMap<String, i64>, Vec<String>, Vec<String>) {
    let mut sums: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (c, score) in results {
        let e = sums.entry(c.clone()).or_default();
        e.0 += score;
        e.1 += 1;
    }
    let levels: BTreeMap<String, i64> = sums.into_iter().map(|(c, (s, n))| (c, s / n)).collect();
    let strengths = levels
        .iter()
        .filter(|(_, l)| **l >= STRENGTH_FROM)
        .map(|(c, _)| c.clone())
        .collect();
    let weaknesses = levels
        .iter()
        .filter(|(_, l)| **l < WEAKNESS_BELOW)
        .map(|(c, _)| c.clone())
        .collect();
    (levels, strengths, weaknesses)
}

/// What a candidate submits on the public site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    pub name: String,
    pub age: i64,
    pub breed: String,
    pub coat_colour: String,
    pub email: String,
    /// The photo, base64 (a `data:image/...;base64,` prefix is allowed).
    pub photo: String,
}

/// A checked photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
}

/// Largest photo accepted, bytes.
pub const MAX_PHOTO_BYTES: usize = 512 * 1024;

/// Decodes and checks a photo: PNG, JPEG or WebP by its content (not by what the client
/// claims), at most [`MAX_PHOTO_BYTES`].
pub fn photo(encoded: &str) -> Result<Photo, HiringError> {
    let image = web::image::decode_image(encoded, MAX_PHOTO_BYTES)
        .map_err(|m| HiringError::invalid("photo", &m))?;
    Ok(Photo {
        bytes: image.bytes,
        media_type: image.media_type,
    })
}

impl ApplicationForm {
    pub fn validate(mut self) -> Result<ApplicationForm, HiringError> {
        for (field, value) in [
            ("name", &mut self.name),
            ("breed", &mut self.breed),
            ("coat_colour", &mut self.coat_colour),
        ] {
            *value = web::text::single_line(field, value, 100)?;
        }
        if !(1..=30).contains(&self.age) {
            return Err(HiringError::invalid("age", "must be 1 to 30 (years)"));
        }
        let email = self.email.trim().to_lowercase();
        let ok = email.len() <= 254
            && email.split('@').count() == 2
            && email.split('@').all(|p| !p.is_empty())
            && email.split('@').nth(1).is_some_and(|d| d.contains('.'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(HiringError::invalid("email", "is not an e-mail address"));
        }
        self.email = email;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
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
            t.for_candidate().to_string().find("answer").is_none(),
            "no key for candidates"
        );
    }

    #[test]
    fn impossible_answers_are_refused_naming_the_answer() {
        let t = test(&[0, 1]).validate().unwrap();
        let field = |r: Result<i64, HiringError>| match r {
            Err(HiringError::Invalid { field, .. }) => field,
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
            Err(HiringError::Invalid { field, .. }) => assert_eq!(field, "questions[0].answer"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn photos_are_checked_by_content_and_size() {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0; 16]].concat();
        assert_eq!(photo(&b64(&png)).unwrap().media_type, "image/png");
        assert_eq!(
            photo(&format!("data:image/png;base64,{}", b64(&png)))
                .unwrap()
                .bytes,
            png
        );
        assert_eq!(
            photo(&b64(&[0xFF, 0xD8, 0xFF, 0xE0])).unwrap().media_type,
            "image/jpeg"
        );
        for bad in [
            b64(b"GIF89a...."),
            "%%%".to_owned(),
            b64(&vec![0xFF; MAX_PHOTO_BYTES + 1]),
        ] {
            assert!(photo(&bad).is_err());
        }
    }

    #[test]
    fn results_become_levels_strengths_and_weaknesses() {
        let (levels, strong, weak) = characteristics(&[
            ("cleaning".into(), 90),
            ("cleaning".into(), 70),
            ("cooking".into(), 20),
            ("garden".into(), 50),
        ]);
        assert_eq!(levels["cleaning"], 80);
        assert_eq!(strong, vec!["cleaning"]);
        assert_eq!(weak, vec!["cooking"]);
    }
}
