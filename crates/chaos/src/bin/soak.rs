//! `soak`: runs the chaos soak for a duration and prints its report as JSON; exits 1 when
//! the checker found anything. See docs/chaos.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chaos::{Mode, Pace, Settings};
use clap::Parser;

#[derive(Parser)]
#[command(about = "MCF chaos soak: workload + nemesis + checker; prints a JSON report")]
struct Args {
    #[arg(long, value_enum, default_value = "distributed")]
    mode: Mode,
    /// How long the workload and the nemesis run: `90s`, `10m`.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    duration: Duration,
    /// Between two faults: `3s`.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    fault_every: Duration,
    /// How long the system may take to settle after the nemesis stops.
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    settle: Duration,
    /// The `mcf` binary (default: the one next to this program).
    #[arg(long)]
    mcf: Option<PathBuf>,
    /// Milliseconds between two order requests (the checker lists up to 1000 orders per
    /// status, and moving business time fails many orders, each rebooked once: keep
    /// duration / this under about 500).
    #[arg(long, default_value_t = 1500)]
    order_every_ms: u64,
}

/// `90s`, `10m`, `1h` or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("not a duration: {s}"))?;
    let seconds = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    };
    seconds
        .map(Duration::from_secs)
        .ok_or_else(|| format!("not a duration: {s} (say 90s, 10m or 1h)"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mcf = match args.mcf {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("the soak binary's directory")?
            .join("mcf"),
    };
    let settings = Settings {
        mode: args.mode,
        mcf,
        duration: args.duration,
        fault_every: args.fault_every,
        settle: args.settle,
        workers: 8,
        pace: Pace {
            order_every: Duration::from_millis(args.order_every_ms),
            ..Pace::default()
        },
    };
    let report = chaos::run(&settings).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.ok {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_are_read_in_seconds_minutes_or_hours() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("m").is_err());
    }
}
