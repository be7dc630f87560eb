//! The timeline, the queue it feeds, the samples, the figures and the rebuild.

use contracts::OrderId;

use super::*;
use crate::domain::{GroupBy, QueueReason, Status};
use crate::routes::{DrawRequest, FiguresQuery, OrderQuery, QueueQuery};

#[tokio::test]
async fn a_failed_order_is_in_the_queue_with_its_whole_timeline() {
    a_failed_order_is_in_the_queue_with_its_whole_timeline_on(&quality().await).await;
}

pub(super) async fn a_failed_order_is_in_the_queue_with_its_whole_timeline_on(ts: &TestService) {
    // Given a failed order's events, each heard twice (a redelivery)
    let story = Story::new();
    for event in story.failing() {
        hear(ts, &event).await;
        hear(ts, &event).await;
    }
    // And Billing's penalty of the worker
    hear(ts, &story.penalized()).await;

    // When a manager opens the queue and the order
    let queue = manager(ts).queue(&QueueQuery::default()).await.unwrap();
    let view = manager(ts).order(story.order).await.unwrap();

    // Then it is in the queue as failed, not reviewed
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].order_id, queue[0].reason),
        (story.order, QueueReason::Failed)
    );
    assert_eq!(queue[0].review_id, None);
    // And its timeline has each event once, with why the worker was picked and the kit
    assert_eq!(view.timeline.len(), 7, "{:?}", view.timeline);
    assert_eq!(view.file.status, Status::Failed);
    assert_eq!(
        view.file.explanation.as_ref().unwrap().steps[0].step,
        "skill"
    );
    let kit = view.file.kit.as_ref().unwrap();
    assert_eq!(kit.kit_id, story.kit);
    assert!(kit.responsible_id.is_some() && kit.issued_at.is_some());
    assert!(view.file.failure.as_ref().unwrap().worker_at_fault);
    assert_eq!(view.file.price, Some(contracts::Money::from_minor(100)));
    assert_eq!(view.queue.unwrap().reason, QueueReason::Failed);
    // And the money Billing booked
    let money: Vec<_> = view.file.money.iter().map(|m| (m.kind, m.amount)).collect();
    assert_eq!(
        money,
        vec![(
            crate::domain::timeline::MoneyKind::WorkerPenalized,
            contracts::Money::from_minor(50)
        )]
    );
}

#[tokio::test]
async fn a_canceled_order_enters_the_queue_and_searches_find_orders_by_each_filter() {
    a_canceled_order_enters_the_queue_and_searches_find_orders_by_each_filter_on(&quality().await)
        .await;
}

pub(super) async fn a_canceled_order_enters_the_queue_and_searches_find_orders_by_each_filter_on(
    ts: &TestService,
) {
    // Given a canceled, a failed and a completed order
    let canceled = Story::new();
    for event in [canceled.requested(), canceled.canceled()] {
        hear(ts, &event).await;
    }
    let failed = failed_order(ts).await;
    let completed = completed_order(ts).await;
    let m = manager(ts);

    // When the queue is read / Then the canceled and failed ones are in it, not the completed
    let queued: Vec<OrderId> = m
        .queue(&QueueQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|q| q.order_id)
        .collect();
    assert_eq!(queued.len(), 2);
    assert!(queued.contains(&canceled.order) && queued.contains(&failed.order));

    // When searched by status, client, worker, service type and date
    let by = |q: OrderQuery| {
        let m = m.clone();
        async move {
            m.orders(&q)
                .await
                .unwrap()
                .iter()
                .map(|f| f.order_id)
                .collect::<Vec<_>>()
        }
    };
    // Then each finds its own
    let status = by(OrderQuery {
        status: Some(Status::Completed),
        ..Default::default()
    })
    .await;
    assert_eq!(status, vec![completed.order]);
    let client = by(OrderQuery {
        client_id: Some(failed.client),
        ..Default::default()
    })
    .await;
    assert_eq!(client, vec![failed.order]);
    let worker = by(OrderQuery {
        worker_id: Some(completed.worker),
        ..Default::default()
    })
    .await;
    assert_eq!(worker, vec![completed.order]);
    let kind = by(OrderQuery {
        service_type_id: Some(canceled.service_type),
        ..Default::default()
    })
    .await;
    assert_eq!(kind, vec![canceled.order]);
    let id = by(OrderQuery {
        order_id: Some(failed.order),
        ..Default::default()
    })
    .await;
    assert_eq!(id, vec![failed.order]);
    let none = by(OrderQuery {
        to: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());
    // And pages follow one another without overlap
    let first = by(OrderQuery {
        limit: Some(2),
        ..Default::default()
    })
    .await;
    let rest = by(OrderQuery {
        after: first.last().copied(),
        ..Default::default()
    })
    .await;
    assert_eq!((first.len(), rest.len()), (2, 1));
    assert!(!first.contains(&rest[0]));
}

#[tokio::test]
async fn bad_queries_are_refused_naming_the_parameter() {
    // Given the service and a manager
    let ts = quality().await;
    let m = manager(&ts);
    // When searching with a bad limit, a range the wrong way round, an unknown status
    let limit = m
        .orders(&OrderQuery {
            limit: Some(0),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let range = m
        .orders(&OrderQuery {
            from: Some("2026-12-01T00:00:00Z".parse().unwrap()),
            to: Some("2026-11-01T00:00:00Z".parse().unwrap()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let status =
        m.0.get::<serde_json::Value>("/orders?status=lost")
            .await
            .unwrap_err();
    let unknown =
        m.0.get::<serde_json::Value>("/orders?colour=red")
            .await
            .unwrap_err();
    // Then each is 422 naming it
    assert_eq!(
        refusal(&limit),
        (422, Some("validation_failed"), Some("limit"))
    );
    assert_eq!(
        refusal(&range),
        (422, Some("validation_failed"), Some("to"))
    );
    assert_eq!(refusal(&status).0, 422);
    assert_eq!(refusal(&status).2, Some("status"));
    assert_eq!(refusal(&unknown).0, 422);
    let figures =
        m.0.get::<serde_json::Value>(
            "/figures?by=week&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        )
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&figures),
        (422, Some("validation_failed"), Some("to"))
    );
}

#[tokio::test]
async fn a_sample_draws_completed_orders_once_and_is_recorded() {
    a_sample_draws_completed_orders_once_and_is_recorded_on(&quality().await).await;
}

pub(super) async fn a_sample_draws_completed_orders_once_and_is_recorded_on(ts: &TestService) {
    // Given three completed orders and a failed one
    let mut completed = Vec::new();
    for _ in 0..3 {
        completed.push(completed_order(ts).await.order);
    }
    failed_order(ts).await;
    let m = manager(ts);

    // When a manager draws two with a key, and retries with the same key
    let ask = DrawRequest {
        size: 2,
        seed: Some(7),
    };
    let drawn = m.draw(&ask, Some("draw-1")).await.unwrap();
    let again = m.draw(&ask, Some("draw-1")).await.unwrap();

    // Then two completed orders were drawn once, recorded with the seed and candidates
    assert_eq!(drawn, again);
    assert_eq!(drawn.orders.len(), 2);
    assert_eq!((drawn.seed, drawn.candidates), (7, 3));
    assert!(drawn.orders.iter().all(|o| completed.contains(o)));
    assert_eq!(m.sample(drawn.id).await.unwrap(), drawn);
    let sampled = m
        .queue(&QueueQuery {
            reason: Some(QueueReason::Sampled),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sampled.len(), 2);
    assert!(sampled.iter().all(|q| q.draw_id == Some(drawn.id)));

    // When another sample is drawn / Then only the one never drawn is a candidate
    let next = m
        .draw(
            &DrawRequest {
                size: 5,
                seed: None,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(next.candidates, 1);
    assert!(!drawn.orders.contains(&next.orders[0]));
    assert_eq!(m.draws().await.unwrap().len(), 2);

    // And a size out of bounds, or the same key for another draw, is refused
    let zero = m
        .draw(
            &DrawRequest {
                size: 0,
                seed: None,
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&zero),
        (422, Some("validation_failed"), Some("size"))
    );
    let reused = m
        .draw(
            &DrawRequest {
                size: 1,
                seed: Some(7),
            },
            Some("draw-1"),
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&reused).1, Some("idempotency_key_reused"));
}

#[tokio::test]
async fn figures_give_failure_and_cancellation_rates() {
    // Given one failed and one completed order of the same worker's kind
    let ts = quality().await;
    failed_order(&ts).await;
    completed_order(&ts).await;
    // When grouped by week
    let query = FiguresQuery {
        by: GroupBy::Week,
        from: Some("2026-11-01T00:00:00Z".parse().unwrap()),
        to: Some("2026-12-31T00:00:00Z".parse().unwrap()),
    };
    let weeks = manager(&ts).figures(&query).await.unwrap();
    // Then one week, half failed
    assert_eq!(weeks.len(), 1);
    assert_eq!(
        (weeks[0].orders, weeks[0].failed, weeks[0].failure_rate),
        (2, 1, 0.5)
    );
}

#[tokio::test]
async fn a_rebuilt_timeline_equals_the_live_one() {
    a_rebuilt_timeline_equals_the_live_one_on(&quality().await).await;
}

pub(super) async fn a_rebuilt_timeline_equals_the_live_one_on(ts: &TestService) {
    // Given a failed and a completed order heard live, and what managers see of them
    let (failed, completed) = (Story::new(), Story::new());
    let mut events = failed.failing();
    events.extend([
        completed.requested(),
        completed.assigned(),
        completed.activated(),
        completed.completed(),
    ]);
    for e in &events {
        hear(ts, e).await;
    }
    let m = manager(ts);
    let mut live = Vec::new();
    for order in [failed.order, completed.order] {
        live.push(m.order(order).await.unwrap());
    }

    // When the projection is reset (nothing is left of it)
    let reset = crate::rebuild::reset(&ts.ctx().db, &ts.ctx().bus)
        .await
        .unwrap();
    assert_eq!((reset.files, reset.entries, reset.inbox), (2, 10, 10));
    let gone = m.order(failed.order).await.unwrap_err();
    assert_eq!(refusal(&gone).0, 404);
    // And the same events are delivered again, the other way round
    events.reverse();
    for e in &events {
        hear(ts, e).await;
    }

    // Then every order reads as it did live, and its place in the queue was kept
    for before in &live {
        let after = m.order(before.file.order_id).await.unwrap();
        assert_eq!(&after, before);
    }
}
