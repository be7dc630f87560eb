//! Matching's routes in process (`service::testing`): validation, refusals, idempotency
//! and the audit, through the typed client; every answer is checked against the OpenAPI
//! document.

use std::collections::{BTreeMap, BTreeSet};

use auth::Role;
use client::ClientError;
use contracts::{AccountId, AdjustmentId, OrderId, WorkerId};
use serde_json::json;
use service::testing::TestService;

use crate::client::{AdjustmentRequest, AdjustmentsPage, MatchingClient, NormalSampleIn};
use crate::domain::adjustments::MAX_SKILLS;

async fn start() -> TestService {
    TestService::start(&crate::SPEC, json!({})).await
}

fn manager(ts: &TestService) -> (AccountId, MatchingClient) {
    let id = AccountId::new();
    (id, MatchingClient(ts.client_as(id, &[Role::Manager])))
}

fn profile(name: &str, skills: &[(&str, i64)]) -> NormalSampleIn {
    NormalSampleIn {
        id: None,
        name: name.into(),
        available: true,
        skills: skills.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
    }
}

fn adjustment(
    skill: &str,
    level: Option<i64>,
    delta: Option<i64>,
    reason: &str,
) -> AdjustmentRequest {
    AdjustmentRequest {
        skill: Some(skill.into()),
        level,
        delta,
        reason: Some(reason.into()),
    }
}

fn refusal(e: &ClientError) -> (Option<u16>, Option<&str>, Option<&str>) {
    (e.status().map(|s| s.as_u16()), e.code(), e.field())
}

#[tokio::test]
async fn given_bad_profiles_when_submitted_then_each_is_refused_naming_the_field() {
    let ts = start().await;
    let (_, m) = manager(&ts);
    let many: Vec<(String, i64)> = (0..=MAX_SKILLS).map(|i| (format!("s{i}"), 5)).collect();
    let many: Vec<(&str, i64)> = many.iter().map(|(s, l)| (s.as_str(), *l)).collect();
    for (bad, field) in [
        (profile("", &[]), "name"),
        (profile("Ann\nBob", &[]), "name"),
        (profile("Many", &many), "skills"),
        (profile("Ann", &[(" ", 5)]), "skills"),
        (profile("Ann", &[("cleaning", 101)]), "skills.cleaning"),
    ] {
        let e = m.register(&bad, None).await.unwrap_err();
        assert_eq!(
            refusal(&e),
            (Some(422), Some("validation_failed"), Some(field))
        );
    }
    // Replacing: the id must match the path, and the worker must exist.
    let (_, ann) = m.register(&profile("Ann", &[]), None).await.unwrap();
    let other = NormalSampleIn {
        id: Some(WorkerId::new()),
        ..profile("Ann", &[])
    };
    let e = m.update(ann.id, &other).await.unwrap_err();
    assert_eq!(
        refusal(&e),
        (Some(422), Some("validation_failed"), Some("id"))
    );
    let e = m
        .update(WorkerId::new(), &profile("Nobody", &[]))
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (Some(404), Some("not_found"), None));
    assert!(m.list().await.unwrap().iter().all(|s| s.name == "Ann"));
}

#[tokio::test]
async fn given_unknown_or_malformed_ids_then_404_or_422_naming_the_parameter() {
    let ts = start().await;
    let (_, m) = manager(&ts);
    for e in [
        m.profile(WorkerId::new()).await.unwrap_err(),
        m.assignment(OrderId::new()).await.unwrap_err(),
        m.adjustments(WorkerId::new(), &AdjustmentsPage::default())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(refusal(&e), (Some(404), Some("not_found"), None));
    }
    let e =
        m.0.get::<serde_json::Value>("/normal-samples/not-a-uuid")
            .await
            .unwrap_err();
    assert_eq!(
        refusal(&e),
        (Some(422), Some("validation_failed"), Some("id"))
    );
    let e =
        m.0.get::<serde_json::Value>("/reference-samples/not-a-uuid")
            .await
            .unwrap_err();
    assert_eq!(
        refusal(&e),
        (Some(422), Some("validation_failed"), Some("order_id"))
    );
}

#[tokio::test]
async fn given_a_client_or_a_manager_then_only_staff_read_and_only_admins_count() {
    let ts = start().await;
    let (_, m) = manager(&ts);
    let client = MatchingClient(ts.client_as(AccountId::new(), &[Role::Client]));
    assert_eq!(
        client
            .list()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(403)
    );
    assert_eq!(
        m.counts().await.unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    assert_eq!(
        m.roster().await.unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    let admin = MatchingClient(ts.client_as(AccountId::new(), &[Role::Admin]));
    assert_eq!(admin.counts().await.unwrap(), BTreeMap::new());
    // The roster over HTTP: the manager's worker, no bookings.
    m.register(&profile("Ann", &[("cleaning", 50)]), None)
        .await
        .unwrap();
    let roster = admin.roster().await.unwrap();
    assert_eq!((roster.samples_count, roster.bookings_count), (1, 0));
    assert_eq!(roster.samples[0].skills["cleaning"], 50);
    assert_eq!(roster.digest.len(), 64);
}

#[tokio::test]
async fn given_a_keyed_registration_when_retried_then_the_first_worker_is_answered() {
    let ts = start().await;
    let (_, m) = manager(&ts);
    let ann = profile("Ann", &[("cleaning", 50)]);
    let (created, first) = m.register(&ann, Some("ann-1")).await.unwrap();
    assert!(created);
    // The same request again (no id given, so a second one would be a new worker).
    let (created, again) = m.register(&ann, Some("ann-1")).await.unwrap();
    assert!(!created);
    assert_eq!(again, first);
    assert_eq!(m.list().await.unwrap().len(), 1);
    // The key with another profile is refused.
    let e = m
        .register(&profile("Bob", &[]), Some("ann-1"))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (
            Some(422),
            Some("idempotency_key_reused"),
            Some("Idempotency-Key")
        )
    );
    let e =
        m.0.request(client::Method::POST, "/normal-samples")
            .json(&ann)
            .header("idempotency-key", "  ")
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        refusal(&e),
        (
            Some(422),
            Some("validation_failed"),
            Some("Idempotency-Key")
        )
    );
}

#[tokio::test]
async fn adjustments_are_audited_validated_and_idempotent() {
    let ts = start().await;
    let (who, m) = manager(&ts);
    let (_, w) = m
        .register(&profile("Ann", &[("cleaning", 50), ("ironing", 20)]), None)
        .await
        .unwrap();
    let (new, a) = m
        .adjust(
            w.id,
            &adjustment("cleaning", Some(80), None, "review 12"),
            None,
        )
        .await
        .unwrap();
    assert!(new);
    assert_eq!(
        (a.from, a.to, a.actor.as_str()),
        (Some(50), Some(80), who.to_string().as_str())
    );
    let keyed = adjustment("cleaning", None, Some(30), "review 13");
    let (_, a) = m.adjust(w.id, &keyed, Some("k1")).await.unwrap();
    assert_eq!((a.from, a.to), (Some(80), Some(100)), "clamped to 100");
    // A retry with the same key is not applied twice.
    let (new, again) = m.adjust(w.id, &keyed, Some("k1")).await.unwrap();
    assert!(!new);
    assert_eq!(again.id, a.id);
    // The same key with another delta is refused.
    let e = m
        .adjust(
            w.id,
            &adjustment("cleaning", None, Some(-10), "review 13"),
            Some("k1"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("Idempotency-Key"));
    // A new skill starts from nothing.
    let (_, a) = m
        .adjust(w.id, &adjustment("windows", None, Some(-10), "tried"), None)
        .await
        .unwrap();
    assert_eq!((a.from, a.to), (None, Some(0)));

    // Bad input names the field; an unknown worker is 404.
    let bad = [
        ("", Some(1), None, "r", "skill"),
        ("cleaning", None, None, "r", "level"),
        ("cleaning", Some(101), None, "r", "level"),
        ("cleaning", Some(5), Some(5), "r", "delta"),
        ("cleaning", None, Some(0), "r", "delta"),
        ("cleaning", Some(5), None, "  ", "reason"),
    ];
    for (skill, level, delta, reason, expected) in bad {
        let e = m
            .adjust(w.id, &adjustment(skill, level, delta, reason), None)
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some(expected));
    }
    let e = m
        .adjust(
            WorkerId::new(),
            &adjustment("cleaning", Some(5), None, "r"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refusal(&e), (Some(404), Some("not_found"), None));

    // Replacing the profile audits each changed level.
    let replaced = NormalSampleIn {
        id: Some(w.id),
        ..profile("Ann", &[("cleaning", 100), ("cooking", 75)])
    };
    let (created, _) = m.register(&replaced, None).await.unwrap();
    assert!(!created);
    let page = |limit, after| AdjustmentsPage { limit, after };
    let audit = m.adjustments(w.id, &page(Some(200), None)).await.unwrap();
    // Pages of 4 then the rest, by cursor, are the whole audit in the same order.
    let first = m.adjustments(w.id, &page(Some(4), None)).await.unwrap();
    let rest = m
        .adjustments(w.id, &page(Some(4), Some(first[3].id)))
        .await
        .unwrap();
    let paged: Vec<_> = first.iter().chain(&rest).map(|a| a.id).collect();
    assert_eq!(paged, audit.iter().map(|a| a.id).collect::<Vec<_>>());
    for (bad, field) in [
        (page(Some(0), None), "limit"),
        (page(Some(201), None), "limit"),
        (page(None, Some(AdjustmentId::new())), "after"),
    ] {
        let e = m.adjustments(w.id, &bad).await.unwrap_err();
        assert_eq!(e.field(), Some(field));
    }
    let replaced_rows: BTreeSet<_> = audit
        .iter()
        .filter(|a| a.reason == "profile replaced")
        .map(|a| (a.skill.as_str(), a.from, a.to))
        .collect();
    assert_eq!(
        replaced_rows,
        [
            ("cooking", None, Some(75)),
            ("ironing", Some(20), None),
            ("windows", Some(0), None)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        audit.len(),
        3 + 3,
        "three adjustments, three replaced levels"
    );
    let p = m.profile(w.id).await.unwrap();
    assert_eq!(p.sample.skills, replaced.skills);
    assert_eq!(p.strengths, ["cleaning", "cooking"]);

    // A full profile takes no new skill by adjustment (an existing one still changes).
    let full: Vec<(String, i64)> = (0..MAX_SKILLS)
        .map(|i| (format!("skill-{i}"), 50))
        .collect();
    let full: Vec<(&str, i64)> = full.iter().map(|(s, l)| (s.as_str(), *l)).collect();
    let (_, f) = m.register(&profile("Full", &full), None).await.unwrap();
    let e = m
        .adjust(f.id, &adjustment("one-more", Some(5), None, "r"), None)
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("skill"));
    m.adjust(f.id, &adjustment("skill-0", Some(5), None, "r"), None)
        .await
        .unwrap();
}
