//! Reviews, their revisions, hypotheses, and adjusting the worker in Matching.

use super::*;
use crate::domain::{AdjustmentIn, NewHypothesis, ReviewForm, Tags, Verdict, WorkerAdjustment};
use crate::routes::{HypothesisQuery, QueueQuery, ReviewEdit};

fn form(hypotheses: Vec<uuid::Uuid>) -> ReviewForm {
    ReviewForm {
        what_happened: "The worker did not come".into(),
        client_contacted: true,
        client_contact: "Phoned the client; she rebooked".into(),
        findings: "Second no-show this month".into(),
        verdict: Verdict::WorkerAtFault,
        hypotheses,
    }
}

#[tokio::test]
async fn a_review_links_hypotheses_and_keeps_every_revision() {
    a_review_links_hypotheses_and_keeps_every_revision_on(&quality().await).await;
}

pub(super) async fn a_review_links_hypotheses_and_keeps_every_revision_on(ts: &TestService) {
    // Given a failed order and a hypothesis in the register
    let story = failed_order(ts).await;
    let m = manager(ts);
    let new = NewHypothesis {
        statement: "Workers with two jobs a day miss the second".into(),
        tags: vec!["Scheduling".into()],
    };
    let hypothesis = m.add_hypothesis(&new).await.unwrap();
    assert_eq!(hypothesis.tags, vec!["scheduling".to_owned()]);

    // When a manager writes the order's review supporting it
    let review = m
        .write_review(story.order, &form(vec![hypothesis.id]), Some("review-1"))
        .await
        .unwrap();

    // Then it is revision 1, the order is reviewed in the queue, the hypothesis names it
    assert_eq!((review.head.revision, review.revisions.len()), (1, 1));
    assert_eq!(review.hypotheses, vec![hypothesis.id]);
    let reviewed = m
        .queue(&QueueQuery {
            reviewed: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reviewed[0].review_id, Some(review.head.id));
    assert!(
        m.queue(&QueueQuery {
            reviewed: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    let supported = m.hypothesis(hypothesis.id).await.unwrap();
    assert_eq!(supported.reviews, vec![review.head.id]);
    // And the same request with the same key writes nothing more
    let again = m
        .write_review(story.order, &form(vec![hypothesis.id]), Some("review-1"))
        .await
        .unwrap();
    assert_eq!(again, review);

    // When it is edited from revision 1
    let mut changed = form(vec![]);
    changed.verdict = Verdict::ProcessProblem;
    let edit = ReviewEdit {
        from_revision: 1,
        review: changed,
    };
    let edited = m.edit_review(review.head.id, &edit).await.unwrap();

    // Then revision 2 is the latest and revision 1 stays as written; the link stays
    assert_eq!(edited.head.revision, 2);
    assert_eq!(edited.revisions[0].verdict, Verdict::WorkerAtFault);
    assert_eq!(edited.revisions[1].verdict, Verdict::ProcessProblem);
    assert_eq!(edited.hypotheses, vec![hypothesis.id]);
    // And an edit from the old revision is refused as stale
    let stale = m.edit_review(review.head.id, &edit).await.unwrap_err();
    assert_eq!(refusal(&stale), (409, Some("stale_revision"), None));
    // And a second review of the same order is refused
    let second = m
        .write_review(story.order, &form(vec![]), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(&second), (409, Some("review_exists"), None));
    // And the order shows its review
    assert_eq!(
        m.order(story.order).await.unwrap().review.unwrap().id,
        review.head.id
    );
}

#[tokio::test]
async fn bad_review_forms_are_refused_naming_the_field_and_change_nothing() {
    // Given a failed order
    let ts = quality().await;
    let story = failed_order(&ts).await;
    let m = manager(&ts);
    // When a form names an unknown hypothesis, leaves out how the client was contacted,
    // or is about an order Quality never heard of
    let unknown = m
        .write_review(story.order, &form(vec![uuid::Uuid::now_v7()]), None)
        .await
        .unwrap_err();
    let mut silent = form(vec![]);
    silent.client_contact = String::new();
    let silent = m
        .write_review(story.order, &silent, None)
        .await
        .unwrap_err();
    let nowhere = m
        .write_review(OrderId::new(), &form(vec![]), None)
        .await
        .unwrap_err();
    // Then each is 422 naming the field, and the order has no review
    assert_eq!(
        refusal(&unknown),
        (422, Some("validation_failed"), Some("hypotheses"))
    );
    assert_eq!(
        refusal(&silent),
        (422, Some("validation_failed"), Some("client_contact"))
    );
    assert_eq!(
        refusal(&nowhere),
        (422, Some("validation_failed"), Some("order_id"))
    );
    assert!(m.order(story.order).await.unwrap().review.is_none());
    let bad_verdict = m
        .0
        .post::<_, serde_json::Value>(
            &format!("/orders/{}/review", story.order),
            &serde_json::json!({"what_happened": "x", "client_contacted": false, "verdict": "maybe"}),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&bad_verdict).0, 422);
}

#[tokio::test]
async fn hypotheses_are_browsed_by_tag_and_retagged() {
    hypotheses_are_browsed_by_tag_and_retagged_on(&quality().await).await;
}

pub(super) async fn hypotheses_are_browsed_by_tag_and_retagged_on(ts: &TestService) {
    // Given two hypotheses with different tags
    let m = manager(ts);
    let a = m
        .add_hypothesis(&NewHypothesis {
            statement: "A".into(),
            tags: vec!["supply".into()],
        })
        .await
        .unwrap();
    m.add_hypothesis(&NewHypothesis {
        statement: "B".into(),
        tags: vec!["pricing".into()],
    })
    .await
    .unwrap();
    // When browsed by tag / Then only the tagged one
    let supply = m
        .hypotheses(&HypothesisQuery {
            tag: Some("Supply".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(supply.iter().map(|h| h.id).collect::<Vec<_>>(), vec![a.id]);
    // When retagged / Then found by the new tag only
    let retagged = m
        .tag(
            a.id,
            &Tags {
                tags: vec!["kits".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(retagged.tags, vec!["kits".to_owned()]);
    let supply = m
        .hypotheses(&HypothesisQuery {
            tag: Some("supply".into()),
            limit: None,
        })
        .await
        .unwrap();
    assert!(supply.is_empty());
    assert_eq!(
        m.hypotheses(&HypothesisQuery::default())
            .await
            .unwrap()
            .len(),
        2
    );
    // And a bad statement is refused naming it
    let bad = m
        .add_hypothesis(&NewHypothesis {
            statement: "".into(),
            tags: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&bad),
        (422, Some("validation_failed"), Some("statement"))
    );
}

/// A failed order reviewed by a manager: the manager's client and the review's id.
async fn reviewed_failed_order(ts: &TestService) -> (QualityClient, uuid::Uuid) {
    let story = failed_order(ts).await;
    let m = manager(ts);
    let review = m
        .write_review(story.order, &form(vec![]), None)
        .await
        .unwrap();
    (m, review.head.id)
}

/// The worker's cleaning skill lowered by 10.
fn lower_cleaning() -> AdjustmentIn {
    AdjustmentIn {
        skill: "cleaning".into(),
        delta: -10,
    }
}

/// The adjustments review `id` keeps now.
async fn adjustments_of(m: &QualityClient, id: uuid::Uuid) -> Vec<WorkerAdjustment> {
    m.review(id).await.unwrap().adjustments
}

#[tokio::test]
async fn adjusting_while_matching_does_not_answer_is_a_503_and_changes_nothing() {
    // Given Matching nowhere to be reached, and a reviewed failed order
    let nowhere = client::Client::new("http://127.0.0.1:9/api/matching");
    let ts = TestService::builder(&crate::SPEC)
        .section(serde_json::json!({"call_attempts": 2, "call_backoff_ms": 0}))
        .peers(service::Peers::fixed([("matching", nowhere)]))
        .start()
        .await;
    let (m, review) = reviewed_failed_order(&ts).await;

    // When a manager lowers the worker's skill from the review
    let lower = lower_cleaning();
    let e = m.adjust(review, &lower).await.unwrap_err();

    // Then 503 matching_unavailable, and no adjustment is kept (one may try again)
    assert_eq!(refusal(&e), (503, Some("matching_unavailable"), None));
    assert!(adjustments_of(&m, review).await.is_empty());
    // And a bad change is refused before anything is called
    let zero = AdjustmentIn {
        skill: "cleaning".into(),
        delta: 0,
    };
    let e = m.adjust(review, &zero).await.unwrap_err();
    assert_eq!(refusal(&e), (422, Some("validation_failed"), Some("delta")));
    let e = m.adjust(uuid::Uuid::now_v7(), &lower).await.unwrap_err();
    assert_eq!(refusal(&e), (404, Some("not_found"), None));
}

#[tokio::test]
async fn a_refusal_from_matching_is_a_409_and_changes_nothing() {
    // Given Matching in this process, which does not accept Quality's test tokens (each
    // test service mints its own), and a reviewed failed order
    let matching = TestService::start(&matching::SPEC, serde_json::json!({})).await;
    let ts = TestService::builder(&crate::SPEC)
        .peers(service::Peers::fixed([("matching", matching.client())]))
        .start()
        .await;
    let (m, review) = reviewed_failed_order(&ts).await;

    // When a manager lowers the worker's skill from the review
    let lower = lower_cleaning();
    let e = m.adjust(review, &lower).await.unwrap_err();

    // Then Matching's refusal is passed on as 409 matching_refused, not retried into a 503,
    // and no adjustment is kept: the manager may try again
    assert_eq!(refusal(&e), (409, Some("matching_refused"), None));
    assert!(e.problem().unwrap().detail.contains("401"), "{e}");
    assert!(adjustments_of(&m, review).await.is_empty());
}
