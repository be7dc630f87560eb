//! The README's quick start, run as written: its shell block is taken from README.md and run
//! with bash against a fresh `mcf up`, so the walkthrough a newcomer follows cannot rot.

use std::process::{Command, Stdio};
use std::time::Duration;

/// The first ```sh block after the "Quick start" heading.
fn quick_start_script() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block in the quick start");
    block.to_owned()
}

pub async fn quick_start_runs_as_written() {
    let dir = tempfile::Builder::new()
        .prefix("mcf-readme-")
        .tempdir()
        .unwrap();
    let port = testing::free_port();
    let url = format!("http://127.0.0.1:{port}");
    // The README's placeholder is the password the first start prints; choose it instead.
    let mut up = Command::new(env!("CARGO_BIN_EXE_mcf"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("MCF_IAM__BOOTSTRAP_ADMIN_PASSWORD", "the-printed-password")
        // Its own sandbox cookie contractor delivers at once instead of after 30 s.
        .env("MCF_EMBEDDED__COOKIE_DELAY_S", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("{url}/api/iam/health"))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "mcf up did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let script = quick_start_script();
    assert!(
        script.contains("MCF=\"cargo run"),
        "the block starts with MCF=..."
    );
    // Run with the binary under test instead of `cargo run`, against this port.
    let script: String = script
        .lines()
        .map(|line| {
            if line.starts_with("MCF=") {
                format!("MCF={}", env!("CARGO_BIN_EXE_mcf"))
            } else if line.starts_with("URL=") {
                format!("URL={url}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let check = "\ncurl -sf $API/ordering/orders/$ORDER -H \"authorization: Bearer $CLIENT\" \
                 | jq -e '.status == \"completed\"'\n";
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &format!("{script}{check}")])
            .current_dir(dir.path())
            .output(),
    )
    .await
    .expect("the quick start finishes")
    .unwrap();
    let _ = up.kill();
    let _ = up.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the quick start failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("\"in_progress\""), "checked in: {stdout}");
    assert!(
        !stdout.contains("\"code\":"),
        "no step of the quick start was refused: {stdout}"
    );
    let mails = std::fs::read_dir(dir.path().join("mcf-data/mail"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(mails >= 1, "the order's confirmation mail was written");
}
