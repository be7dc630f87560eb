//! Order quality across services: an order fails and is in Quality's review queue with
//! its whole timeline (Matching's explanation, the kit, the failure); a manager opens a
//! completed order's photos through Quality (fetched from Ordering with the manager's
//! token), writes the failed order's review with a hypothesis and lowers the worker's
//! skill in Matching, whose audit names the manager and the review; a random sample of
//! completed orders is drawn and recorded; and the timeline, rebuilt from the streams by
//! the operator's `mcf quality rebuild`, equals the live one.

use std::time::Duration;

use contracts::{OrderId, ServiceTypeId, WorkerId};
use matching::client::{AdjustmentsPage, MatchingClient};
use ordering::client::{CompleteRequest, PhotoKind};
use quality::client::QualityClient;
use quality::domain::timeline::MoneyKind;
use quality::domain::{AdjustmentIn, NewHypothesis, ReviewForm, Status, Verdict};
use quality::{DrawRequest, OrderQuery, OrderView, QueueQuery};

use crate::harness::{Mode, account_id};
use crate::hiring::PHOTO;
use crate::lifecycle::{advance, business_now, order, ordering, photo, start, wait_status, worker};

/// Order `id` as Quality shows it once `ready` holds.
async fn quality_order(
    q: &QualityClient,
    id: OrderId,
    ready: impl Fn(&OrderView) -> bool,
) -> OrderView {
    let start = std::time::Instant::now();
    loop {
        let last = match q.order(id).await {
            Ok(view) if ready(&view) => return view,
            Ok(view) => format!("{view:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Quality did not show order {id} as expected: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn a_failed_order_is_reviewed_and_its_worker_adjusted(mode: Mode) {
    // Given a client, a worker (cleaning 90) and a manager
    let mut c = start(mode).await;
    let service_type: ServiceTypeId = c.service_type().await.parse().unwrap();
    let client = c.token_for("quinn", "client").await;
    let (tom_token, tom) = worker(&mut c, "tom", 90).await;
    let manager = c.token_for("mia", "manager").await;
    let q = QualityClient(c.client("quality", &manager));

    // And an order the worker completed, with photos
    let now = business_now(&mut c).await;
    let done = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::minutes(20),
    )
    .await;
    wait_status(&mut c, done, "active").await;
    c.issue_kit(&done.to_string()).await;
    let tom_ordering = ordering(&mut c, &tom_token);
    tom_ordering.check_in(done, &photo()).await.unwrap();
    let report = CompleteRequest {
        report_photo: PHOTO.into(),
    };
    tom_ordering.complete(done, &report).await.unwrap();

    // When another order of his fails: his kit was issued, he did not come
    let failed = order(
        &mut c,
        &client,
        service_type,
        now + chrono::Duration::hours(3),
    )
    .await;
    wait_status(&mut c, failed, "active").await;
    c.issue_kit(&failed.to_string()).await;
    advance(&mut c, chrono::Duration::minutes(211)).await;
    wait_status(&mut c, failed, "failed").await;

    // Then it is in Quality's review queue with its whole timeline: why Matching picked
    // the worker, the kit, the failure
    let view = quality_order(&q, failed, |v| {
        v.file.status == Status::Failed
            && v.file.explanation.is_some()
            && v.file
                .kit
                .as_ref()
                .is_some_and(|k| k.assembled_at.is_some() && k.issued_at.is_some())
    })
    .await;
    let kinds: Vec<&str> = view
        .timeline
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    for kind in [
        "ordering.order.requested",
        "matching.worker.assigned",
        "ordering.order.activated",
        "inventory.kit.assembled",
        "inventory.kit.issued",
        "ordering.order.failed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let explanation = view.file.explanation.as_ref().unwrap();
    assert_eq!(explanation.worker_id.to_string(), tom);
    assert!(!explanation.steps.is_empty());
    assert!(view.file.failure.as_ref().unwrap().worker_at_fault);
    let kit = view.file.kit.as_ref().unwrap();
    assert!(
        kit.assembled_at.is_some() && kit.issued_at.is_some(),
        "{kit:?}"
    );
    assert!(
        kit.responsible_reason.is_some(),
        "who was responsible, and why: {kit:?}"
    );
    let open = q
        .queue(&QueueQuery {
            reviewed: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.iter().any(|e| e.order_id == failed), "{open:?}");

    // And the completed order's photos come through Quality from Ordering
    // And, with the money Billing booked for it: the client charged, the worker credited
    let completed = quality_order(&q, done, |v| {
        let kinds: Vec<MoneyKind> = v.file.money.iter().map(|m| m.kind).collect();
        v.file.status == Status::Completed
            && kinds.contains(&MoneyKind::ClientCharged)
            && kinds.contains(&MoneyKind::WorkerCredited)
    })
    .await;
    assert_eq!(completed.file.photos, ["check-in", "report"]);
    let (bytes, media) = q.photo(done, PhotoKind::Report).await.unwrap();
    assert_eq!(media, "image/png");
    assert!(!bytes.is_empty());

    // When the manager writes the failed order's review with a hypothesis
    let hypothesis = q
        .add_hypothesis(&NewHypothesis {
            statement: "Workers booked far ahead forget the job".into(),
            tags: vec!["no-show".into()],
        })
        .await
        .unwrap();
    let form = ReviewForm {
        what_happened: "Tom did not come; the kit was issued to him".into(),
        client_contacted: true,
        client_contact: "Phoned Quinn, who rebooked".into(),
        findings: "No answer from Tom".into(),
        verdict: Verdict::WorkerAtFault,
        hypotheses: vec![hypothesis.id],
    };
    let review = q
        .write_review(failed, &form, Some("review-1"))
        .await
        .unwrap();
    assert_eq!(review.hypotheses, vec![hypothesis.id]);

    // And lowers the worker's cleaning level from it (twice: the same adjustment)
    let lower = AdjustmentIn {
        skill: "cleaning".into(),
        delta: -10,
    };
    let (made, adjusted) = q.adjust(review.head.id, &lower).await.unwrap();
    let (again, same) = q.adjust(review.head.id, &lower).await.unwrap();

    // Then Matching applied it once, and its audit names the manager and the review
    assert!(made && !again);
    assert_eq!(same, adjusted);
    assert_eq!(
        (adjusted.level_from, adjusted.level_to),
        (Some(90), Some(80))
    );
    let tom_id: WorkerId = tom.parse().unwrap();
    let matching = MatchingClient(c.client("matching", &manager));
    let audit = matching
        .adjustments(tom_id, &AdjustmentsPage::default())
        .await
        .unwrap();
    let change = audit
        .iter()
        .find(|a| a.reason.contains(&review.head.id.to_string()))
        .unwrap_or_else(|| panic!("no audited change from the review: {audit:?}"));
    assert_eq!(change.actor, account_id(&manager));
    assert_eq!((change.from, change.to), (Some(90), Some(80)));
    assert_eq!(
        audit.iter().filter(|a| a.reason == change.reason).count(),
        1,
        "applied once: {audit:?}"
    );
    let profile = matching.profile(tom_id).await.unwrap();
    assert_eq!(profile.sample.skills.get("cleaning"), Some(&80));
    assert_eq!(
        q.review(review.head.id).await.unwrap().adjustments,
        vec![adjusted]
    );

    // When a random sample of completed orders is drawn
    let drawn = q
        .draw(
            &DrawRequest {
                size: 1,
                seed: None,
            },
            Some("sample-1"),
        )
        .await
        .unwrap();

    // Then the completed order is drawn, recorded with who drew it, and queued
    assert_eq!(drawn.orders, vec![done]);
    assert_eq!(
        (drawn.candidates, drawn.drawn_by.to_string()),
        (1, account_id(&manager))
    );
    assert_eq!(q.sample(drawn.id).await.unwrap(), drawn);
    let sampled = q.queue(&QueueQuery::default()).await.unwrap();
    assert!(
        sampled
            .iter()
            .any(|e| e.order_id == done && e.draw_id == Some(drawn.id))
    );
    let by_worker = q
        .orders(&OrderQuery {
            worker_id: Some(tom_id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_worker.len(), 2);

    // When the operator rebuilds Quality's timeline from the streams
    let live = [q.order(done).await.unwrap(), q.order(failed).await.unwrap()];
    let said = c.offline("quality", &["quality", "rebuild"]);
    assert!(said.contains("timeline reset"), "{said}");

    // Then, replayed, every order reads as it did live (its queue place and review kept)
    let q = QualityClient(c.client("quality", &manager));
    for before in &live {
        let after = quality_order(&q, before.file.order_id, |v| v == before).await;
        assert_eq!(&after, before);
    }
}
