//! An application, from the public form to the decision, as a state machine.
//!
//! ```text
//!            apply
//!              |
//!              v          assign tests (again: a new link replaces the old)
//!            Open  <-----------------+
//!   (tests assigned, taken through   |
//!    the private link while open)  --+
//!          /        \
//!   accept /          \ decline (any time while open, with a reason)
//!  (≥ 1 result)        \
//!        v              v
//!    Accepted        Declined      (final: no move leaves them; the link dies)
//! ```
//!
//! Each move is a pure function of the current state: the new state and what it says
//! happened, or the refusal. The application layer loads, calls the move, saves, publishes.

use std::collections::BTreeMap;

use contracts::language::{LANGUAGES, language};
use contracts::{ApplicationId, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use service::Refused;

use crate::error::HiringError;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being considered: tests may be assigned and taken.
    Open,
    /// Hired (final).
    Accepted,
    /// Turned down, with a reason (final).
    Declined,
}

impl Status {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
        }
    }

    /// The status named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Accepted, Status::Declined]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// An application as managers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Application {
    pub id: ApplicationId,
    pub name: String,
    pub age: i64,
    pub breed: String,
    pub coat_colour: String,
    /// Normalized: trimmed, lower case.
    pub email: String,
    pub status: Status,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// The id the candidate was hired under.
    pub worker_id: Option<WorkerId>,
    /// The language the candidate applied in (`en`, `ru`): mails to them are written in
    /// it, and so is their account's once hired. Absent: not said (English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The aggregate's version (1 when applied, +1 per decision).
    #[serde(skip)]
    #[schemars(skip)]
    pub version: i64,
    /// When the private link stops working (unix microseconds), once tests are assigned.
    #[serde(skip)]
    #[schemars(skip)]
    pub link_expires_at: Option<i64>,
}

/// What an accepted candidate's results make of her: the WorkerHired profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Hired {
    pub worker_id: WorkerId,
    /// Skill -> level 0..=100.
    pub characteristics: BTreeMap<String, i64>,
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
}

/// A reason for declining: 1 to 500 characters on one line (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(reason: &str) -> Result<Reason, HiringError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.contains(['\r', '\n']) {
            return Err(HiringError::invalid(
                "reason",
                "must be 1 to 500 characters on one line",
            ));
        }
        Ok(Reason(reason.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Application {
    /// Apply: a checked form becomes an open application (version 1), no link yet.
    pub fn apply(id: ApplicationId, form: ApplicationForm) -> Application {
        Application {
            id,
            name: form.name,
            age: form.age,
            breed: form.breed,
            coat_colour: form.coat_colour,
            email: form.email,
            status: Status::Open,
            decline_reason: None,
            worker_id: None,
            language: form.language,
            version: 1,
            link_expires_at: None,
        }
    }

    /// Assign tests: only while open; the new link (expiring at `link_expires_at`)
    /// replaces any earlier one.
    pub fn assign_tests(&self, link_expires_at: i64) -> Result<Application, HiringError> {
        if self.status != Status::Open {
            return Err(HiringError::closed());
        }
        Ok(Application {
            link_expires_at: Some(link_expires_at),
            ..self.clone()
        })
    }

    /// Take a test through the private link, at `now` (unix microseconds): the link must
    /// be live and the application still open.
    pub fn take_test(&self, now: i64) -> Result<(), HiringError> {
        if self.link_expires_at.is_none_or(|t| t < now) || self.status != Status::Open {
            return Err(HiringError::Gone("this link has expired"));
        }
        Ok(())
    }

    /// Accept, with the `(characteristic, score)` results of the tests taken, under
    /// `worker_id`: at least one result, and only while open.
    pub fn accept(
        &self,
        results: &[(String, i64)],
        worker_id: WorkerId,
    ) -> Result<(Application, Hired), HiringError> {
        if results.is_empty() {
            return Err(Refused::conflict(
                "no_results",
                "accept after the candidate has taken at least one test",
            )
            .into());
        }
        if self.status != Status::Open {
            return Err(HiringError::closed());
        }
        let (characteristics, strengths, weaknesses) = characteristics(results);
        let accepted = Application {
            status: Status::Accepted,
            worker_id: Some(worker_id),
            version: self.version + 1,
            link_expires_at: None,
            ..self.clone()
        };
        let hired = Hired {
            worker_id,
            characteristics,
            strengths,
            weaknesses,
        };
        Ok((accepted, hired))
    }

    /// Decline with a reason: only while open.
    pub fn decline(&self, reason: &Reason) -> Result<Application, HiringError> {
        if self.status != Status::Open {
            return Err(HiringError::closed());
        }
        Ok(Application {
            status: Status::Declined,
            decline_reason: Some(reason.as_str().to_owned()),
            version: self.version + 1,
            link_expires_at: None,
            ..self.clone()
        })
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    /// One line, at most 100 characters (so are breed and coat colour).
    pub name: String,
    /// Years, 1 to 30.
    pub age: i64,
    pub breed: String,
    pub coat_colour: String,
    pub email: String,
    /// The photo, base64 (a `data:image/...;base64,` prefix is allowed).
    pub photo: String,
    /// The language the form was filled in (`en` or `ru`; `ru-RU` is taken as `ru`):
    /// mails to the candidate are written in it. Optional (English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
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
        if let Some(tag) = &self.language {
            let Some(known) = language(tag) else {
                return Err(HiringError::invalid(
                    "language",
                    &format!("must be one of: {}", LANGUAGES.join(", ")),
                ));
            };
            self.language = Some(known.to_owned());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn form() -> ApplicationForm {
        ApplicationForm {
            name: "Leo".into(),
            age: 4,
            breed: "Maine Coon".into(),
            coat_colour: "ginger".into(),
            email: " Leo@Cats.test".into(),
            photo: String::new(),
            language: None,
        }
    }

    #[test]
    fn the_language_is_optional_one_mail_is_written_in_and_kept_as_its_primary_tag() {
        assert_eq!(form().validate().unwrap().language, None);
        let ru = |tag: &str| ApplicationForm {
            language: Some(tag.into()),
            ..form()
        };
        assert_eq!(ru("ru").validate().unwrap().language.as_deref(), Some("ru"));
        assert_eq!(
            ru(" RU-ru").validate().unwrap().language.as_deref(),
            Some("ru")
        );
        let applied = Application::apply(ApplicationId::new(), ru("ru").validate().unwrap());
        assert_eq!(applied.language.as_deref(), Some("ru"));
        for bad in ["fr", "", "ru;q=1"] {
            match ru(bad).validate().unwrap_err() {
                HiringError::Refused(Refused::Invalid { field, .. }) => {
                    assert_eq!(field, "language", "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    fn open() -> Application {
        Application::apply(ApplicationId::new(), form().validate().unwrap())
    }

    fn code(e: HiringError) -> &'static str {
        match e {
            HiringError::Refused(Refused::Conflict { code, .. }) => code,
            HiringError::Gone(_) => "gone",
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn given_a_form_when_applied_then_the_application_is_open_without_a_link() {
        let a = open();
        assert_eq!(
            (a.status, a.version, a.link_expires_at),
            (Status::Open, 1, None)
        );
        assert_eq!(a.email, "leo@cats.test");
        assert_eq!(code(a.take_test(0).unwrap_err()), "gone", "no link yet");
    }

    #[test]
    fn given_an_open_application_when_tests_are_assigned_then_the_link_works_until_it_expires() {
        let a = open().assign_tests(1_000).unwrap();
        assert_eq!(a.link_expires_at, Some(1_000));
        assert!(a.take_test(1_000).is_ok());
        assert_eq!(code(a.take_test(1_001).unwrap_err()), "gone");
        // A new assignment replaces the link.
        let again = a.assign_tests(5_000).unwrap();
        assert!(again.take_test(4_000).is_ok());
    }

    #[test]
    fn given_results_when_accepted_then_hired_with_characteristics_and_the_link_dies() {
        let a = open().assign_tests(1_000).unwrap();
        let worker = WorkerId::new();
        let (accepted, hired) = a
            .accept(&[("cleaning".into(), 100), ("cooking".into(), 20)], worker)
            .unwrap();
        assert_eq!(accepted.status, Status::Accepted);
        assert_eq!((accepted.worker_id, accepted.version), (Some(worker), 2));
        assert_eq!(hired.characteristics["cleaning"], 100);
        assert_eq!(
            (hired.strengths, hired.weaknesses),
            (vec!["cleaning".to_owned()], vec!["cooking".to_owned()])
        );
        assert_eq!(code(accepted.take_test(0).unwrap_err()), "gone");
    }

    #[test]
    fn given_no_results_when_accepted_then_refused_before_anything_else() {
        assert_eq!(
            code(open().accept(&[], WorkerId::new()).unwrap_err()),
            "no_results"
        );
        let declined = open().decline(&Reason::parse("no").unwrap()).unwrap();
        assert_eq!(
            code(declined.accept(&[], WorkerId::new()).unwrap_err()),
            "no_results"
        );
    }

    #[test]
    fn given_a_decided_application_when_any_move_is_tried_then_it_is_closed() {
        let reason = Reason::parse("  not a fit ").unwrap();
        let declined = open().decline(&reason).unwrap();
        assert_eq!(declined.status, Status::Declined);
        assert_eq!(declined.decline_reason.as_deref(), Some("not a fit"));
        let (accepted, _) = open()
            .accept(&[("cleaning".into(), 80)], WorkerId::new())
            .unwrap();
        for decided in [declined, accepted] {
            let results = [("cleaning".to_owned(), 80)];
            assert_eq!(
                code(decided.accept(&results, WorkerId::new()).unwrap_err()),
                "application_closed"
            );
            assert_eq!(
                code(decided.decline(&reason).unwrap_err()),
                "application_closed"
            );
            assert_eq!(
                code(decided.assign_tests(1).unwrap_err()),
                "application_closed"
            );
        }
    }

    #[test]
    fn reasons_are_one_line_of_1_to_500_characters() {
        for bad in ["", "   ", "a\nb", &"x".repeat(501)] {
            assert!(Reason::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Reason::parse(&"é".repeat(500))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            500
        );
    }

    #[test]
    fn statuses_have_their_stored_names() {
        for s in [Status::Open, Status::Accepted, Status::Declined] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("closed"), None);
    }
}
