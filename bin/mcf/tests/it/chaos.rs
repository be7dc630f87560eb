//! The chaos soak, short: the whole business driven concurrently while processes are
//! killed (distributed: also NATS nodes in turn and PostgreSQL restarted, the contractor's
//! and the bank's faults switched), then checked: nothing lost, phantom or doubled, the
//! ledger balanced, projections equal to their source. `soak` runs it for longer.

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
    // A run that did nothing proves nothing: orders were acknowledged and faults injected.
    let orders = report
        .operations
        .get("order")
        .and_then(|o| o.get("acknowledged"));
    assert!(orders.is_some_and(|&n| n >= 20), "{shown}");
    assert!(report.nemesis.actions.len() >= 5, "{shown}");
}
