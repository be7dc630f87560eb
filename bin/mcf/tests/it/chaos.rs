//! The chaos soak, short: the whole business driven concurrently while processes are
//! killed (distributed: also NATS nodes in turn and PostgreSQL restarted, the contractor's
//! and the bank's faults switched), then checked: nothing lost, phantom or doubled, the
//! ledger balanced, projections equal to their source and to a rebuild from the streams, Matching's
//! roster equal to a fresh load after a restart;
//! meanwhile business time moves across a week's and a month's end. `soak` runs it for
//! longer.

use std::time::Duration;

use crate::harness::Mode;

pub async fn nothing_is_lost_phantom_or_doubled(mode: Mode) {
    let settings = chaos::Settings {
        mode: match mode {
            Mode::Embedded => chaos::Mode::Embedded,
            Mode::Distributed => chaos::Mode::Distributed,
        },
        mcf: env!("CARGO_BIN_EXE_mcf").into(),
        duration: Duration::from_secs(45),
        fault_every: Duration::from_secs(3),
        settle: Duration::from_secs(120),
        workers: 6,
        pace: chaos::Pace::default(),
    };
    let report = chaos::run(&settings).await.expect("the soak runs");
    let shown = serde_json::to_string_pretty(&report).unwrap();
    assert!(report.ok, "{shown}");
    // A run that did nothing proves nothing: every kind of write was acknowledged some
    // times, orders many, and faults were injected.
    let acknowledged = |kind: &str| {
        report
            .operations
            .get(kind)
            .and_then(|o| o.get("acknowledged"))
            .copied()
            .unwrap_or(0)
    };
    assert!(acknowledged("order") >= 20, "{shown}");
    for kind in [
        "cancel", "award", "issue", "check_in", "complete", "bet", "stake", "close", "clock",
        "rebook", "review", "apply", "take", "hire", "decline",
    ] {
        assert!(acknowledged(kind) >= 1, "no {kind} acknowledged: {shown}");
    }
    // Business time crossed a week's and a month's end: Billing collected from the client
    // and paid the workers at the bank (the checker compared both books), and workers
    // left jobs undone that Ordering declared no-shows.
    let seen = |what: &str| report.findings.seen.get(what).copied().unwrap_or(0);
    assert!(seen("bank operations") >= 2, "{shown}");
    assert!(seen("no-shows") >= 1, "{shown}");
    // Quality's timeline was rebuilt from the streams and every order read as it did live.
    assert!(seen("quality files rebuilt") >= 20, "{shown}");
    // Every Matching process restarted and loaded the same roster it held live (workers
    // registered, some of them booked).
    let matching = match mode {
        Mode::Embedded => 1,
        Mode::Distributed => 2,
    };
    assert_eq!(seen("matching roster rebuilt"), matching, "{shown}");
    assert!(seen("matching roster samples") >= 6, "{shown}");
    assert!(report.nemesis.actions.len() >= 5, "{shown}");
}
