//! Hiring's routes in-process (`service::testing`): validation and refusals, the
//! application's lifecycle over HTTP, idempotent creations, the link's expiry on the
//! business clock and the public routes' flood protection, written given / when / then.
//! Every answer is also checked against Hiring's OpenAPI document by the kit.

use auth::Role;
use client::ClientError;
use contracts::{AccountId, ApplicationId, TestId};
use serde_json::{Value, json};
use service::Clock;
use service::testing::TestService;
use storage::Row;

use crate::client::HiringClient;
use crate::domain::{ApplicationForm, Question, Status, TestSpec};
use crate::routes::{PageQuery, TestAnswers};

/// A (tiny) PNG, base64: what the form's photo field carries.
const PHOTO: &str = "iVBORw0KGgoAAAAAAAAAAA==";

/// Hiring whose public routes admit what a test sends, on a business clock that moves.
async fn hiring() -> TestService {
    TestService::builder(&crate::SPEC)
        .section(json!({"public_limits": {
            "per_source_per_minute": 100_000, "global_per_second": 100_000}}))
        .clock(Clock::adjustable())
        .start()
        .await
}

fn manager(ts: &TestService) -> HiringClient {
    HiringClient(ts.client_as(AccountId::new(), &[Role::Manager]))
}

fn candidate(ts: &TestService) -> HiringClient {
    HiringClient(ts.client())
}

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

fn form(email: &str) -> ApplicationForm {
    ApplicationForm {
        name: "Leo".into(),
        age: 4,
        breed: "Maine Coon".into(),
        coat_colour: "ginger".into(),
        email: email.into(),
        photo: PHOTO.into(),
        language: None,
    }
}

/// A two-question cleaning test; the right answers are `[1, 1]`.
fn cleaning() -> TestSpec {
    let question = |text: &str| Question {
        text: text.into(),
        choices: vec!["no".into(), "yes".into()],
        answer: 1,
    };
    TestSpec {
        name: "Dishes".into(),
        characteristic: "Cleaning".into(),
        pass_mark: 50,
        questions: vec![question("Hot water?"), question("Soap?")],
    }
}

/// The token of the newest private link Hiring asked Mail to send (from its outbox).
async fn mailed_token(ts: &TestService) -> String {
    let row = storage::query(
        "SELECT body FROM outbox WHERE event_type = 'hiring.mail.requested' ORDER BY seq DESC",
    )
    .fetch_all(ts.ctx().db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|r| serde_json::from_str::<Value>(&r.get::<String, _>("body")).unwrap())
    .find(|e| e["data"]["request"]["template"] == "tests_assigned")
    .expect("a tests_assigned mail");
    let link = row["data"]["request"]["variables"]["link"]
        .as_str()
        .unwrap();
    link.split("token=").nth(1).unwrap().to_owned()
}

/// Given an application with the cleaning test assigned: its id, the test's and the token.
async fn assigned(ts: &TestService, email: &str) -> (ApplicationId, TestId, String) {
    let boss = manager(ts);
    let test = boss.create_test(&cleaning(), None).await.unwrap();
    let applied = candidate(ts).apply(&form(email), None).await.unwrap();
    boss.assign_tests(applied.id, &[test.id]).await.unwrap();
    (applied.id, test.id, mailed_token(ts).await)
}

fn answers(token: &str, test_id: TestId, answers: &[usize]) -> TestAnswers {
    TestAnswers {
        token: token.into(),
        test_id,
        answers: answers.to_vec(),
    }
}

#[tokio::test]
async fn bad_applications_are_refused_naming_the_field_and_one_stays_open_per_email() {
    // Given Hiring and a candidate's open application
    let ts = hiring().await;
    let public = candidate(&ts);
    let first = public.apply(&form("Leo@Cats.test"), None).await.unwrap();
    assert_eq!(first.status, Status::Open);

    // When the same address applies again, or a form is wrong
    let again = public
        .apply(&form(" leo@cats.TEST"), None)
        .await
        .unwrap_err();
    let mut bad_age = form("young@cats.test");
    bad_age.age = 0;
    let mut gif = form("gif@cats.test");
    gif.photo = "R0lGODlhAQABAAAAACw=".into();
    let mut no_address = form("nobody");
    no_address.name = "Nobody".into();

    // Then each is refused, naming what is wrong; nothing else was stored
    assert_eq!(refusal(&again), (409, Some("application_open"), None));
    for (form, field) in [(bad_age, "age"), (gif, "photo"), (no_address, "email")] {
        let e = public.apply(&form, None).await.unwrap_err();
        assert_eq!(refusal(&e), (422, Some("validation_failed"), Some(field)));
    }
    let page = manager(&ts)
        .applications(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].email, "leo@cats.test");
}

#[tokio::test]
async fn a_retried_application_with_its_key_answers_the_first_and_a_reused_key_is_refused() {
    // Given a candidate who applied with a key
    let ts = hiring().await;
    let public = candidate(&ts);
    let first = public
        .apply(&form("leo@cats.test"), Some("k-1"))
        .await
        .unwrap();

    // When she retries the same form with the same key, then with another form
    let retried = public
        .apply(&form("leo@cats.test"), Some("k-1"))
        .await
        .unwrap();
    let mut other = form("leo@cats.test");
    other.age = 5;
    let reused = public.apply(&other, Some("k-1")).await.unwrap_err();
    let malformed = public
        .apply(&form("mia@cats.test"), Some(" "))
        .await
        .unwrap_err();

    // Then the retry answers the first application (not a 409), the other form is refused,
    // and so is a key that is not one
    assert_eq!(retried, first);
    assert_eq!(
        refusal(&reused),
        (422, Some("idempotency_key_reused"), Some("Idempotency-Key"))
    );
    assert_eq!(
        refusal(&malformed),
        (422, Some("validation_failed"), Some("Idempotency-Key"))
    );
    let page = manager(&ts)
        .applications(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "one application");
}

#[tokio::test]
async fn tests_are_checked_written_once_per_key_and_retired_ones_stay_as_they_are() {
    // Given a manager
    let ts = hiring().await;
    let boss = manager(&ts);

    // When a test with an impossible answer is written
    let mut impossible = cleaning();
    impossible.questions[1].answer = 7;
    let e = boss.create_test(&impossible, None).await.unwrap_err();
    // Then it is refused, naming the question
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("questions[1].answer"))
    );

    // When a test is written twice with one key
    let test = boss.create_test(&cleaning(), Some("t-1")).await.unwrap();
    let again = boss.create_test(&cleaning(), Some("t-1")).await.unwrap();
    // Then there is one test, its characteristic normalized
    assert_eq!(again, test);
    assert_eq!(test.spec.characteristic, "cleaning");
    assert_eq!(boss.tests().await.unwrap(), vec![test.clone()]);

    // When it is retired, then edited or retired again
    boss.retire_test(test.id).await.unwrap();
    let edit = boss.edit_test(test.id, &cleaning()).await.unwrap_err();
    let retire = boss.retire_test(test.id).await.unwrap_err();
    // Then both are refused
    assert_eq!(refusal(&edit), (409, Some("test_retired"), None));
    assert_eq!(refusal(&retire), (404, Some("not_found"), None));
    assert!(boss.tests().await.unwrap()[0].retired);

    // And unknown or malformed ids are not found
    let unknown = boss
        .edit_test(TestId::new(), &cleaning())
        .await
        .unwrap_err();
    assert_eq!(refusal(&unknown), (404, Some("not_found"), None));
    let malformed = boss
        .0
        .request(client::Method::POST, "/tests/not-a-uuid/retire")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&malformed), (404, Some("not_found"), None));
}

#[tokio::test]
async fn pages_of_applications_are_bounded_and_filtered_by_status() {
    // Given two applications, one declined
    let ts = hiring().await;
    let boss = manager(&ts);
    let public = candidate(&ts);
    let leo = public.apply(&form("leo@cats.test"), None).await.unwrap();
    public.apply(&form("mia@cats.test"), None).await.unwrap();
    boss.decline(leo.id, "not now").await.unwrap();

    // When managers page through them
    let query = |status, page, per_page| PageQuery {
        status,
        page,
        per_page,
    };
    let declined = boss
        .applications(&query(Some(Status::Declined), None, None))
        .await
        .unwrap();
    // Then the filter and the bounds hold
    assert_eq!(declined.items.len(), 1);
    assert_eq!(declined.items[0].decline_reason.as_deref(), Some("not now"));
    for (q, field) in [
        (query(None, Some(0), None), "page"),
        (query(None, Some(500_001), None), "page"),
        (query(None, None, Some(0)), "per_page"),
        (query(None, None, Some(201)), "per_page"),
    ] {
        let e = boss.applications(&q).await.unwrap_err();
        assert_eq!(refusal(&e), (422, Some("validation_failed"), Some(field)));
    }
    let e = boss
        .0
        .request(client::Method::GET, "/applications?status=closed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (422, Some("validation_failed"), Some("status"))
    );
    let last = boss
        .applications(&query(None, Some(500_000), Some(200)))
        .await
        .unwrap();
    assert!(last.items.is_empty());
}

#[tokio::test]
async fn an_application_goes_from_tests_to_a_hire_and_every_wrong_move_is_refused() {
    // Given an application
    let ts = hiring().await;
    let boss = manager(&ts);
    let test = boss.create_test(&cleaning(), None).await.unwrap();
    let applied = candidate(&ts)
        .apply(&form("leo@cats.test"), None)
        .await
        .unwrap();

    // When tests are assigned wrongly, or it is accepted before any result
    let none = boss.assign_tests(applied.id, &[]).await.unwrap_err();
    let unknown = boss
        .assign_tests(applied.id, &[test.id, TestId::new()])
        .await
        .unwrap_err();
    let nobody = boss
        .assign_tests(ApplicationId::new(), &[test.id])
        .await
        .unwrap_err();
    let early = boss.accept(applied.id).await.unwrap_err();
    // Then each is refused
    assert_eq!(
        refusal(&none),
        (422, Some("validation_failed"), Some("test_ids"))
    );
    assert_eq!(
        refusal(&unknown),
        (422, Some("validation_failed"), Some("test_ids[1]"))
    );
    assert_eq!(refusal(&nobody), (404, Some("not_found"), None));
    assert_eq!(refusal(&early), (409, Some("no_results"), None));

    // When the test is assigned: the candidate sees it without the answer key
    let assigned = boss.assign_tests(applied.id, &[test.id]).await.unwrap();
    assert_eq!(assigned.tests.len(), 1);
    let token = mailed_token(&ts).await;
    let public = candidate(&ts);
    let page = public.take_page(&token).await.unwrap();
    assert_eq!((page.name.as_str(), page.tests.len()), ("Leo", 1));
    assert!(!serde_json::to_string(&page).unwrap().contains("answer"));

    // When she answers impossibly, then right, then again
    for (given, field) in [
        (vec![7, 9], "answers[0]"),
        (vec![1, 2], "answers[1]"),
        (vec![1], "answers"),
        (vec![1, 1, 1], "answers"),
    ] {
        let e = public
            .take(&answers(&token, test.id, &given))
            .await
            .unwrap_err();
        assert_eq!(refusal(&e), (422, Some("validation_failed"), Some(field)));
    }
    let recorded = public
        .take(&answers(&token, test.id, &[1, 1]))
        .await
        .unwrap();
    assert!(recorded.recorded);
    let twice = public
        .take(&answers(&token, test.id, &[1, 1]))
        .await
        .unwrap_err();
    assert_eq!(refusal(&twice), (409, Some("already_taken"), None));
    // Then only the real answers count
    let detail = boss.application(applied.id).await.unwrap();
    assert_eq!(detail.tests[0].score, Some(100));
    assert_eq!(detail.tests[0].passed, Some(true));

    // When she is accepted
    let accepted = boss.accept(applied.id).await.unwrap();
    assert_eq!(accepted.status, Status::Accepted);
    assert_eq!(accepted.characteristics["cleaning"], 100);
    assert_eq!(accepted.strengths, vec!["cleaning"]);
    // Then the decision is final and the link is dead
    let again = boss.accept(applied.id).await.unwrap_err();
    let decline = boss
        .decline(applied.id, "changed my mind")
        .await
        .unwrap_err();
    let reassign = boss.assign_tests(applied.id, &[test.id]).await.unwrap_err();
    for e in [again, decline, reassign] {
        assert_eq!(refusal(&e), (409, Some("application_closed"), None));
    }
    let dead = public
        .take(&answers(&token, test.id, &[1, 1]))
        .await
        .unwrap_err();
    assert_eq!(refusal(&dead), (410, Some("link_expired"), None));
    let detail = boss.application(applied.id).await.unwrap();
    assert_eq!(detail.application.worker_id, Some(accepted.worker_id));
    // And WorkerHired is in the outbox, the photo kept for staff
    let hired: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'hiring.worker.hired'",
    )
    .fetch_one(ts.ctx().db.pool())
    .await
    .unwrap();
    assert_eq!(hired, 1);
    let photo = boss.photo(applied.id).await.unwrap();
    assert_eq!(photo.media_type, "image/png");
}

#[tokio::test]
async fn declining_needs_a_reason_and_unknown_applications_are_not_found() {
    // Given an application
    let ts = hiring().await;
    let boss = manager(&ts);
    let applied = candidate(&ts)
        .apply(&form("leo@cats.test"), None)
        .await
        .unwrap();

    // When it is declined without a proper reason, or another is declined
    let empty = boss.decline(applied.id, "  ").await.unwrap_err();
    let two_lines = boss.decline(applied.id, "a\nb").await.unwrap_err();
    let unknown = boss.decline(ApplicationId::new(), "no").await.unwrap_err();
    let malformed = boss
        .0
        .get::<Value>("/applications/not-a-uuid")
        .await
        .unwrap_err();
    // Then each is refused and the application stays open
    for e in [empty, two_lines] {
        assert_eq!(
            refusal(&e),
            (422, Some("validation_failed"), Some("reason"))
        );
    }
    assert_eq!(refusal(&unknown), (404, Some("not_found"), None));
    assert_eq!(refusal(&malformed), (404, Some("not_found"), None));
    let detail = boss.application(applied.id).await.unwrap();
    assert_eq!(detail.application.status, Status::Open);

    // When it is declined with a reason
    let decided = boss.decline(applied.id, "not a fit").await.unwrap();
    // Then it is closed and the candidate is told by mail
    assert_eq!(decided.status, Status::Declined);
    let mails: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'hiring.mail.requested' \
         AND body LIKE '%candidate_declined%'",
    )
    .fetch_one(ts.ctx().db.pool())
    .await
    .unwrap();
    assert_eq!(mails, 1);
}

#[tokio::test]
async fn the_private_link_expires_on_the_business_clock() {
    // Given tests assigned with the default link lifetime (168 hours)
    let ts = hiring().await;
    let (_, test_id, token) = assigned(&ts, "leo@cats.test").await;
    let public = candidate(&ts);
    assert!(public.take_page(&token).await.is_ok());

    // When the business clock moves past it
    ts.ctx()
        .clock
        .advance(chrono::Duration::hours(169))
        .unwrap();

    // Then the link is gone, and a token that never was is too
    let expired = public
        .take(&answers(&token, test_id, &[1, 1]))
        .await
        .unwrap_err();
    assert_eq!(refusal(&expired), (410, Some("link_expired"), None));
    let never = public.take_page("no-such-token").await.unwrap_err();
    assert_eq!(refusal(&never), (410, Some("link_expired"), None));
}

#[tokio::test]
async fn the_public_routes_are_flood_protected_and_the_manager_api_is_not() {
    // Given Hiring admitting two public requests a minute from one source
    let ts = TestService::start(
        &crate::SPEC,
        json!({"public_limits": {"per_source_per_minute": 2}}),
    )
    .await;
    let public = candidate(&ts);

    // When one source applies three times
    let mut answers = Vec::new();
    for email in ["a@cats.test", "b@cats.test", "c@cats.test"] {
        answers.push(public.apply(&form(email), None).await.map(|a| a.status));
    }

    // Then the third is refused, and managers still get answers
    assert!(answers[0].is_ok() && answers[1].is_ok(), "{answers:?}");
    let third = answers[2].as_ref().unwrap_err();
    assert_eq!(third.status().map(|s| s.as_u16()), Some(429));
    let page = manager(&ts)
        .applications(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
}
