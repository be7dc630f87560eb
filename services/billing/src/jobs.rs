//! Billing's loop: the cycles.

use std::time::Duration;

use messaging::Task;
use messaging::tasks::{Pace, Progress, repeat};

use crate::domain::period::PeriodKind;
use crate::{App, app};

/// The cycles job: runs every ended week and month that has not run (each once, whatever
/// the replicas: the period's row is claimed in the unit of work that issues its invoices),
/// then asks the bank for the invoices due; looks again every `cycle_every_ms` (at once
/// while there was work). Every replica runs it.
pub fn cycles(app: App) -> Task {
    Task::new("cycles", move || {
        let app = app.clone();
        async move {
            let every = Duration::from_millis(app.config.cycle_every_ms);
            let pace = Pace::polling(every).backoff(every, every * 8);
            repeat("billing cycles", app.ctx.shutdown.clone(), pace, || async {
                let ran = app::run_cycles(&app).await.map_err(|e| {
                    metrics::counter!("mcf_billing_cycle_failures_total").increment(1);
                    anyhow::Error::new(e).context("running the billing cycles")
                })?;
                // Periods this replica ran (each runs once across replicas).
                for period in &ran {
                    let cycle = match period.kind {
                        PeriodKind::Week => "week",
                        PeriodKind::Month => "month",
                    };
                    metrics::counter!("mcf_billing_cycle_runs_total", "cycle" => cycle)
                        .increment(1);
                }
                let settled = app::settle_due(&app)
                    .await
                    .map_err(|e| anyhow::Error::new(e).context("settling invoices at the bank"))?;
                Ok(if ran.len() + settled > 0 {
                    Progress::Busy
                } else {
                    Progress::Idle
                })
            })
            .await
        }
    })
}
