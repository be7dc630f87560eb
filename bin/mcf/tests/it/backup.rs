//! Backups of an embedded system: `mcf backup` asks the running `mcf up` for a copy of every
//! database as of one moment while the business is driven, `mcf restore` brings it back into
//! a new data dir, and the system started on it passes the chaos checker: every operation
//! acknowledged before the backup is there, nothing is phantom or doubled, the ledger
//! balances, no outbox is stuck and nothing is dead-lettered.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chaos::workload::{self, BusinessTime, History, Op, Outcome, Pace};

/// `mcf <args>`, waited for off the async workers.
async fn mcf(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mcf"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the mcf binary runs")
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

pub async fn a_backup_under_load_restores_to_a_consistent_system() {
    let mut system = chaos::System::start(chaos::Mode::Embedded, env!("CARGO_BIN_EXE_mcf").into())
        .await
        .expect("the system starts");
    let actors = workload::Actors::set_up(&system, 4)
        .await
        .expect("the workload's people");
    let base = system.iam_base();
    let admin = actors.admin.token().unwrap().to_owned();
    let scratch = tempfile::tempdir().unwrap();

    // Only admins may ask, for an absolute path.
    let http = reqwest::Client::new();
    let ask = |token: Option<&str>, to: &str| {
        let mut r = http
            .post(format!("{base}/ops/backup"))
            .json(&serde_json::json!({ "to": to }));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let elsewhere = path(&scratch.path().join("refused"));
    assert_eq!(ask(None, &elsewhere).await.unwrap().status(), 401);
    let client = actors.client.token().unwrap();
    assert_eq!(ask(Some(client), &elsewhere).await.unwrap().status(), 403);
    let r = ask(Some(&admin), "relative/dir").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "refusals are problems"
    );
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["field"], "to", "{problem}");
    assert!(!scratch.path().join("refused").exists());

    // The workload drives the business; the backup is taken in the middle of it. What the
    // workload was told before the backup was asked for must be in it; answers that came
    // later may or may not be. Business time stays put: a billing cycle's bank operation
    // after the backup would be outside the copy (a restore rewinds the system, not the
    // bank), which is not what this test is about. The workload's clock task moves it after
    // each `clock_every` unless stopped by then: the workload is stopped before, and ends
    // at it.
    let pace = Pace {
        clock_every: Duration::from_secs(40),
        ..Pace::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let time = BusinessTime::default();
    let work = workload::start(&system, &actors, pace, &time, stop.clone());
    tokio::time::sleep(Duration::from_secs(15)).await;
    let asked = Instant::now();
    let backup = scratch.path().join("backup");
    let out = mcf(vec![
        "backup".into(),
        "--to".into(),
        path(&backup),
        "--url".into(),
        base.clone(),
        "--token".into(),
        admin.clone(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("writers paused"), "{printed}");
    let manifest: mcf::backup::Manifest =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    for db in mcf::system::SERVICES
        .iter()
        .map(|s| format!("{s}.sqlite"))
        .chain(["bus.sqlite".to_owned()])
    {
        assert!(
            manifest.files.iter().any(|f| f.path == db),
            "{db} is not in the backup: {manifest:?}"
        );
    }
    assert!(manifest.files.iter().any(|f| f.path == "service-secret"));
    println!("backup under load: {}", manifest.summary());

    // The load goes on a little after the backup, then the system stops.
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let told = work.await.unwrap();
    system.kill9(0);

    let restored = scratch.path().join("restored");
    let restore = |force: bool| {
        let mut args = vec![
            "restore".to_owned(),
            "--from".into(),
            path(&backup),
            "--data-dir".into(),
            path(&restored),
        ];
        if force {
            args.push("--force".into());
        }
        mcf(args)
    };
    let out = restore(false).await;
    assert!(out.status.success(), "{}", text(&out));
    // Once there, a second restore onto it is refused without --force, and allowed with.
    let out = restore(false).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    let out = restore(true).await;
    assert!(out.status.success(), "{}", text(&out));

    // The system starts on the restored dir in its data dir's place (the chaos system's
    // data dir sits beside its mail dir).
    let data = system.mail_dir().with_file_name("data");
    std::fs::rename(&data, scratch.path().join("data-before-restore")).unwrap();
    std::fs::rename(&restored, &data).unwrap();
    system
        .revive(0)
        .expect("the system starts on the restored data");

    // What was acknowledged before the backup must hold; later answers may or may not.
    let acknowledged = |op: &Op| matches!(op.outcome, Outcome::Acknowledged { .. });
    let before = told
        .of("order")
        .filter(|op| op.at < asked && acknowledged(op))
        .count();
    let after = told
        .of("order")
        .filter(|op| op.at > asked && acknowledged(op))
        .count();
    let history = History {
        ops: told
            .ops
            .iter()
            .map(|op| match op.at < asked {
                true => op.clone(),
                false => Op {
                    outcome: Outcome::Unknown,
                    ..op.clone()
                },
            })
            .collect(),
    };
    let findings =
        chaos::checker::check(&system, &actors, &history, &time, Duration::from_secs(120)).await;
    let shown = serde_json::to_string_pretty(&findings).unwrap();
    assert!(findings.clean(), "{shown}");
    // A run that did nothing proves nothing: orders were acknowledged before the backup,
    // and while and after it was taken (it was taken under load).
    assert!(
        before >= 10,
        "{before} orders acknowledged before the backup"
    );
    assert!(
        after >= 1,
        "no order acknowledged after the backup was asked for"
    );
}
