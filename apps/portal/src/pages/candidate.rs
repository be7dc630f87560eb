//! A candidate's pages (no account): the application form with a photo, and the tests
//! assigned to them, opened from the mailed link.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use contracts::TestId;
use hiring::client::HiringClient;
use hiring::domain::ApplicationForm;
use hiring::{TakePage, TestAnswers};
use serde::Deserialize;

use crate::Portal;
use crate::form::Fields;
use crate::web::{Chrome, Current, FormState, PageResult, Refusal, render, render_with, submit};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/apply", get(apply_page).post(apply))
        .route("/take", get(take_page).post(take))
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    c: Chrome,
    form: FormState,
    done: bool,
}

/// `GET /apply`.
async fn apply_page(current: Current) -> PageResult {
    // One application per form shown, whatever the browser resends.
    render(&ApplyPage {
        c: current.chrome("candidate.apply"),
        form: FormState::default().keyed(),
        done: false,
    })
}

/// `POST /apply` (multipart, with the photo).
async fn apply(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let c = current.chrome("candidate.apply");
    let asked = (|| {
        let age = form.number("age", current.lang)?;
        let photo = form
            .files
            .get("photo")
            .map(|f| f.base64())
            .ok_or_else(|| Refusal::of("photo", c.t("error.photo")))?;
        Ok(ApplicationForm {
            name: form.get("name").to_owned(),
            age,
            breed: form.get("breed").to_owned(),
            coat_colour: form.get("coat_colour").to_owned(),
            email: form.get("email").to_owned(),
            photo,
            // The language the form was shown in: Hiring's mails (and, once hired, the
            // account's) are written in it.
            language: Some(current.lang.tag().to_owned()),
        })
    })();
    let (hiring, key) = (HiringClient(portal.anonymous("hiring")?), form.key());
    let result = submit(asked, |a| async move { hiring.apply(&a, key).await }).await?;
    match result {
        Ok(_) => render(&ApplyPage {
            c,
            form: FormState::default(),
            done: true,
        }),
        Err(refused) => render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ApplyPage {
                c,
                form: FormState::again(&form, &refused),
                done: false,
            },
        ),
    }
}

/// `?token=` of the mailed link.
#[derive(Debug, Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

/// A test as the form shows it: each question with its radio group's name.
struct TestView {
    id: String,
    name: String,
    taken: bool,
    count: usize,
    /// (field name, question, choices)
    questions: Vec<(String, String, Vec<String>)>,
}

impl TestView {
    fn of(page: TakePage) -> (String, Vec<TestView>) {
        let tests = page
            .tests
            .into_iter()
            .map(|t| TestView {
                id: t.id.to_string(),
                name: t.name,
                taken: t.taken,
                count: t.questions.len(),
                questions: t
                    .questions
                    .into_iter()
                    .enumerate()
                    .map(|(i, q)| (format!("q{i}"), q.text, q.choices))
                    .collect(),
            })
            .collect();
        (page.name, tests)
    }
}

#[derive(Template)]
#[template(path = "take.html")]
struct TakeTestsPage {
    c: Chrome,
    token: String,
    name: String,
    tests: Vec<TestView>,
    form: FormState,
    /// The test a refusal was about.
    refused_test: String,
    recorded: bool,
}

async fn show_tests(
    portal: &Portal,
    current: &Current,
    token: &str,
    form: FormState,
    refused_test: String,
    recorded: bool,
) -> PageResult {
    let (name, tests) = TestView::of(
        HiringClient(portal.anonymous("hiring")?)
            .take_page(token)
            .await?,
    );
    render_with(
        if form.general.is_some() || !form.errors.is_empty() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &TakeTestsPage {
            c: current.chrome("candidate.tests"),
            token: token.to_owned(),
            name,
            tests,
            form,
            refused_test,
            recorded,
        },
    )
}

/// `GET /take?token=`: the tests still to take (a link that does not work: Hiring's 404 or
/// 410, shown as such).
async fn take_page(
    State(portal): State<Portal>,
    current: Current,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    let token = q.token.unwrap_or_default();
    show_tests(
        &portal,
        &current,
        &token,
        FormState::default(),
        String::new(),
        false,
    )
    .await
}

/// `POST /take`: one test's answers (a radio group per question, `q0`, `q1`, ...).
async fn take(State(portal): State<Portal>, current: Current, form: Fields) -> PageResult {
    let token = form.get("token").to_owned();
    let test_id = form.get("test_id").to_owned();
    let c = current.chrome("candidate.tests");
    let asked = (|| {
        let test_id: TestId = test_id
            .parse()
            .map_err(|_| Refusal::of("test_id", c.t("error.choose")))?;
        let count: usize = form.get("questions").parse().unwrap_or(0);
        let mut answers = Vec::with_capacity(count.min(100));
        for i in 0..count.min(100) {
            let field = format!("q{i}");
            let answer = form
                .get(&field)
                .parse::<usize>()
                .map_err(|_| Refusal::of(&field, c.t("error.choose")))?;
            answers.push(answer);
        }
        Ok(TestAnswers {
            token: token.clone(),
            test_id,
            answers,
        })
    })();
    let hiring = HiringClient(portal.anonymous("hiring")?);
    let (state, refused_test, recorded) =
        match submit(asked, |a| async move { hiring.take(&a).await }).await? {
            Ok(_) => (FormState::default(), String::new(), true),
            Err(refused) => (FormState::refused(form.values(), &refused), test_id, false),
        };
    show_tests(&portal, &current, &token, state, refused_test, recorded).await
}
