//! Input that used to kill the process or burn a candidate's attempt, and limits: a business
//! clock moved out of range, impossible test answers, oversized profiles, the adjustment
//! audit paged. The system is started the way the CLI documents it, with `MCF_CONFIG` and
//! `MCF_PASSWORD` set (both once stopped `mcf` from starting).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Cluster, Mode};
use crate::hiring::{apply, assign, cleaning_test};

pub async fn bad_input_is_refused_and_the_system_keeps_serving(mode: Mode) {
    // The clock is made adjustable by the file MCF_CONFIG names: proof that it was read.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mcf.toml");
    std::fs::write(&file, "[clock]\nadjustable = true\n").unwrap();
    let mut c = Cluster::start_with(
        mode,
        vec![
            ("MCF_CONFIG".into(), file.display().to_string()),
            ("MCF_PASSWORD".into(), "not-configuration".into()),
        ],
        None,
    )
    .await;
    let (status, clock) = c.get("ordering", "/ops/clock").await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["adjustable"], true, "{clock}");

    clock_moves_out_of_range_are_refused(&mut c).await;
    every_task_runs_without_restarts(&mut c).await;
    impossible_answers_record_nothing(&mut c).await;
    profiles_and_their_audit_are_bounded(&mut c).await;

    // Logs written to a file carry no terminal colour codes (they broke searching).
    let role = c.procs[0].role;
    let log = c.log(role);
    assert!(
        log.contains("clock.adjustable"),
        "the warning is logged: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escapes in {role}.log: {log:?}"
    );
}

async fn clock_moves_out_of_range_are_refused(c: &mut Cluster) {
    // Ten years and a second; 285,000 years (the sweep panicked on it); past what a
    // TimeDelta holds; a float.
    for seconds in [
        json!(10 * 366 * 24 * 3600 + 1),
        json!(9_000_000_000_000_i64),
        json!(9_000_000_000_000_000_000_i64),
        json!(9e18),
    ] {
        let (status, body) = c
            .post("ordering", "/ops/clock", json!({ "seconds": seconds }))
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("seconds")),
            "{seconds}: {body}"
        );
    }
    let (_, clock) = c.get("ordering", "/ops/clock").await;
    assert_eq!(clock["offset_seconds"], 0, "nothing changed: {clock}");
    // A sane move still works (and runs the sweep at once).
    let (status, clock) = c
        .post("ordering", "/ops/clock", json!({"seconds": 3600}))
        .await;
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["offset_seconds"], 3600, "{clock}");
    // The process that died about a second after such a request now keeps serving.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for p in c.procs.iter_mut() {
        assert!(!p.exited(), "mcf {} exited", p.role);
    }
    let (status, clock) = c.get("ordering", "/ops/clock").await;
    assert_eq!(status, 200, "{clock}");
}

async fn every_task_runs_without_restarts(c: &mut Cluster) {
    let client = c.token_for("tina", "client").await;
    for &service in mcf::system::SERVICES {
        let start = Instant::now();
        loop {
            let (status, tasks) = c.get(service, "/ops/tasks").await;
            assert_eq!(status, 200, "{service}: {tasks}");
            let tasks = tasks.as_array().unwrap().clone();
            assert!(
                tasks.iter().any(|t| t["name"] == "relay"),
                "{service}: {tasks:?}"
            );
            assert!(
                tasks.iter().all(|t| t["restarts"] == 0),
                "{service}: {tasks:?}"
            );
            if tasks.iter().all(|t| t["running"] == true) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{service}: not every task runs: {tasks:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, _) = c.get_as(&client, service, "/ops/tasks").await;
        assert_eq!(status, 403, "{service}: admins only");
    }
    let (_, tasks) = c.get("ordering", "/ops/tasks").await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "no-show sweep"),
        "{tasks}"
    );
}

async fn impossible_answers_record_nothing(c: &mut Cluster) {
    let boss = c.token_for("bea", "manager").await;
    let test_id = cleaning_test(c, &boss, "Pans").await;
    let application = apply(c, "Ivy", "ivy@cats.test").await;
    let token = assign(c, &boss, &application, &test_id).await;
    let take = format!("{}/take", c.api("hiring"));
    for (answers, field) in [
        (json!([7, 9]), "answers[0]"),
        (json!([1, 2]), "answers[1]"),
        (json!([1]), "answers"),
        (json!([1, 1, 1]), "answers"),
    ] {
        let r = c
            .http
            .post(&take)
            .json(&json!({"token": token, "test_id": test_id, "answers": answers}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{answers}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["field"], field, "{answers}: {body}");
    }
    // Nothing was recorded: the real answers count.
    let r = c
        .http
        .post(&take)
        .json(&json!({"token": token, "test_id": test_id, "answers": [1, 1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, detail) = c
        .get_as(&boss, "hiring", &format!("/applications/{application}"))
        .await;
    assert_eq!(detail["tests"][0]["score"], 100, "{detail}");
}

async fn profiles_and_their_audit_are_bounded(c: &mut Cluster) {
    let skills: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!("skill-{i}"), json!(50)))
        .collect();
    let (status, body) = c
        .post(
            "matching",
            "/normal-samples",
            json!({"name": "Many", "skills": skills}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("skills")),
        "{body}"
    );

    let worker = c.register_worker("Paged", 40).await;
    let path = format!("/normal-samples/{worker}/adjustments");
    for level in [50, 60, 70] {
        let (status, body) = c
            .post(
                "matching",
                &path,
                json!({"skill": "cleaning", "level": level, "reason": "review"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, first) = c.get("matching", &format!("{path}?limit=2")).await;
    assert_eq!(status, 200, "{first}");
    let first = first.as_array().unwrap();
    let levels: Vec<_> = first.iter().map(|a| a["to"].as_i64()).collect();
    assert_eq!(levels, [Some(70), Some(60)]);
    let after = first[1]["id"].as_str().unwrap();
    let (status, rest) = c
        .get("matching", &format!("{path}?limit=2&after={after}"))
        .await;
    assert_eq!(status, 200, "{rest}");
    let levels: Vec<_> = rest
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["to"].as_i64())
        .collect();
    assert_eq!(levels, [Some(50)]);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("after=0190aaaa-0000-7000-8000-000000000000", "after"),
    ] {
        let (status, body) = c.get("matching", &format!("{path}?{query}")).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{query}: {body}"
        );
    }
}
