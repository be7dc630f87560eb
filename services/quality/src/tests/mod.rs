//! Quality's routes in-process (`service::testing`): events delivered to the timeline's
//! consumer as the bus would, then the API as managers use it; each refusal with its
//! status, code and field, written given / when / then. Every answer is also checked
//! against Quality's OpenAPI document by the kit.

mod access;
mod reviews;
mod timeline;

use std::sync::Arc;

use auth::Role;
use chrono::{DateTime, Duration, Utc};
use client::ClientError;
use contracts::inventory::{KitAssembled, KitIssued};
use contracts::matching::{StepScore, WorkerAssigned};
use contracts::ordering::{
    OrderActivated, OrderCanceled, OrderCompleted, OrderFacts, OrderFailed, OrderRequested,
};
use contracts::{AccountId, Envelope, Event, KitId, Money, OrderId, ServiceTypeId, WorkerId};
use messaging::Consumer;
use service::testing::TestService;

use crate::client::QualityClient;
use crate::events::{OnOrderEvent, consumer_name};

async fn quality() -> TestService {
    TestService::start(&crate::SPEC, serde_json::json!({})).await
}

fn as_role(ts: &TestService, role: Role) -> QualityClient {
    QualityClient(ts.client_as(AccountId::new(), &[role]))
}

fn manager(ts: &TestService) -> QualityClient {
    as_role(ts, Role::Manager)
}

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

/// The timeline's consumer of `source`'s stream, as `build` makes it (inbox and all).
fn consumer(ts: &TestService, source: &str) -> Consumer {
    ts.ctx()
        .consumer(&consumer_name(source), Arc::new(OnOrderEvent))
}

/// Hands `event` to the timeline consumer of its stream, as the bus would.
async fn hear(ts: &TestService, event: &Envelope) {
    service::testing::deliver(&consumer(ts, &event.source), event).await;
}

/// One order's events as its contexts publish them.
struct Story {
    order: OrderId,
    client: AccountId,
    worker: WorkerId,
    service_type: ServiceTypeId,
    kit: KitId,
    scheduled_at: DateTime<Utc>,
}

impl Story {
    fn new() -> Story {
        Story {
            order: OrderId::new(),
            client: AccountId::new(),
            worker: WorkerId::new(),
            service_type: ServiceTypeId::new(),
            kit: KitId::new(),
            scheduled_at: "2026-11-30T12:00:00Z".parse().unwrap(),
        }
    }

    fn facts(&self) -> OrderFacts {
        OrderFacts {
            order_id: self.order,
            client_id: self.client,
            worker_id: Some(self.worker),
            price: Some(Money::from_minor(100)),
            service_type_id: self.service_type,
            service_type_name: "Cleaning".into(),
            scheduled_at: self.scheduled_at,
            duration_minutes: 60,
            rebook_of: None,
        }
    }

    fn envelope<E: Event>(event: &E) -> Envelope {
        Envelope::new(event, 1, None)
    }

    fn requested(&self) -> Envelope {
        Self::envelope(&OrderRequested {
            order_id: self.order,
            client_id: self.client,
            service_type_id: self.service_type,
            service_type_name: "Cleaning".into(),
            skill: "cleaning".into(),
            description: "Kitchen".into(),
            scheduled_at: self.scheduled_at,
            duration_minutes: 60,
            base_price: Money::from_minor(120),
            rebook_of: None,
            excluded_workers: vec![],
        })
    }

    fn assigned(&self) -> Envelope {
        Self::envelope(&WorkerAssigned {
            order_id: self.order,
            worker_id: self.worker,
            price: Money::from_minor(100),
            fallback: false,
            candidates: 2,
            explanation: vec![StepScore {
                step: "skill".into(),
                kind: "score".into(),
                passed: true,
                score: 0.8,
                weight: 1.0,
                note: None,
            }],
        })
    }

    fn activated(&self) -> Envelope {
        Self::envelope(&OrderActivated {
            order_id: self.order,
            client_id: self.client,
            worker_id: self.worker,
            price: Money::from_minor(100),
            service_type_id: self.service_type,
            scheduled_at: self.scheduled_at,
            service_type_name: "Cleaning".into(),
            duration_minutes: 60,
            rebook_of: None,
            description: "Kitchen".into(),
            client_name: Some("Kim".into()),
            worker_name: Some("Tom".into()),
        })
    }

    fn kit_assembled(&self) -> Envelope {
        Self::envelope(&KitAssembled {
            kit_id: self.kit,
            order_id: self.order,
            assembled_at: self.scheduled_at - Duration::hours(2),
            responsible_id: Some(AccountId::new()),
            responsible_reason: "least loaded: 0 open kits; 1 supply staff".into(),
            items: vec![],
        })
    }

    fn kit_issued(&self) -> Envelope {
        Self::envelope(&KitIssued {
            kit_id: self.kit,
            order_id: self.order,
            issued_by: AccountId::new(),
            issued_at: self.scheduled_at - Duration::hours(1),
            items: vec![],
        })
    }

    fn failed(&self) -> Envelope {
        Self::envelope(&OrderFailed {
            order: self.facts(),
            from_status: "active".into(),
            reason: "no_show".into(),
            worker_at_fault: Some(true),
            deadline: self.scheduled_at + Duration::minutes(30),
            failed_at: self.scheduled_at + Duration::minutes(31),
        })
    }

    fn completed(&self) -> Envelope {
        Self::envelope(&OrderCompleted {
            order: self.facts(),
            checked_in_at: self.scheduled_at,
            completed_at: self.scheduled_at + Duration::hours(1),
            report_photo: format!("orders/{}/report", self.order),
        })
    }

    fn canceled(&self) -> Envelope {
        Self::envelope(&OrderCanceled {
            order: self.facts(),
            from_status: "active".into(),
            canceled_at: self.scheduled_at - Duration::hours(3),
            canceled_by: self.client,
            reason: Some("plans changed".into()),
        })
    }

    fn penalized(&self) -> Envelope {
        Self::envelope(&contracts::billing::WorkerPenalized {
            entry_id: format!("worker_penalty:{}", self.order),
            order_id: self.order,
            worker_id: self.worker,
            amount: Money::from_minor(50),
            failure_reason: "no_show".into(),
            booked_at: self.scheduled_at + Duration::minutes(32),
        })
    }

    /// Every event of a failed order, in the order they are published.
    fn failing(&self) -> Vec<Envelope> {
        vec![
            self.requested(),
            self.assigned(),
            self.activated(),
            self.kit_assembled(),
            self.kit_issued(),
            self.failed(),
        ]
    }
}

/// A failed order heard whole: its story.
async fn failed_order(ts: &TestService) -> Story {
    let story = Story::new();
    for event in story.failing() {
        hear(ts, &event).await;
    }
    story
}

/// A completed order heard whole.
async fn completed_order(ts: &TestService) -> Story {
    let story = Story::new();
    for event in [
        story.requested(),
        story.assigned(),
        story.activated(),
        story.completed(),
    ] {
        hear(ts, &event).await;
    }
    story
}

/// Quality on a throw-away PostgreSQL (its SQL must run alike on both backends). A cluster
/// that cannot start fails the test: one that skipped would pass without testing
/// PostgreSQL at all.
async fn on_postgres(pg: &testing::Postgres, db: &str) -> TestService {
    TestService::builder(&crate::SPEC)
        .database(pg.url(db))
        .start()
        .await
}

#[tokio::test]
async fn the_timeline_queue_samples_reviews_and_rebuild_work_on_postgres() {
    let pg = testing::Postgres::start().expect("PostgreSQL for tests (scripts/setup installs it)");
    timeline::a_failed_order_is_in_the_queue_with_its_whole_timeline_on(
        &on_postgres(&pg, "quality_timeline").await,
    )
    .await;
    timeline::a_canceled_order_enters_the_queue_and_searches_find_orders_by_each_filter_on(
        &on_postgres(&pg, "quality_search").await,
    )
    .await;
    timeline::a_sample_draws_completed_orders_once_and_is_recorded_on(
        &on_postgres(&pg, "quality_sample").await,
    )
    .await;
    timeline::a_rebuilt_timeline_equals_the_live_one_on(&on_postgres(&pg, "quality_rebuild").await)
        .await;
    reviews::a_review_links_hypotheses_and_keeps_every_revision_on(
        &on_postgres(&pg, "quality_review").await,
    )
    .await;
    reviews::hypotheses_are_browsed_by_tag_and_retagged_on(&on_postgres(&pg, "quality_tags").await)
        .await;
}
