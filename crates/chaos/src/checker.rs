//! The checker: after the nemesis stopped and the system settled, reads the final state of
//! every context and of the outside simulators and compares it with what the workload was
//! told. Each finding names what it is about, so a report leads straight to the order, the
//! award or the kit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bets::client::{BetQuery, BetsClient};
use billing::client::BillingClient;
use billing::domain::ledger::LedgerAccount;
use contracts::OrderId;
use inventory::client::InventoryClient;
use matching::client::{MatchingClient, RosterView};
use ordering::client::{OrderListQuery, OrderingClient};
use ordering::domain::order::Order;
use quality::client::QualityClient;
use serde::Serialize;
use serde_json::Value;

use crate::system::System;
use crate::workload::{Actors, BusinessTime, History, Outcome};

/// What the checker found. A clean run has every list empty and `imbalance` zero.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    /// Acknowledged but absent (an order, a cancel, an award, an issued kit).
    pub lost: Vec<String>,
    /// Present but never requested.
    pub phantom: Vec<String>,
    /// One request with two effects: two orders for one key, two ledger lines of one kind
    /// for one cause on one account, two cookies for one kit, two mails with one
    /// Message-ID, an event applied more often than it was published.
    pub duplicated: Vec<String>,
    /// Outboxes not drained, events published but not applied, orders still waiting.
    pub stuck: Vec<String>,
    /// Dead letters per service.
    pub dead_letters: BTreeMap<String, i64>,
    /// The trial balance's total (minor units): zero when the ledger balances.
    pub imbalance: i64,
    /// Billing's bank accounts against the bank's own statement.
    pub bank_differences: Vec<String>,
    /// Projections that disagree with the context they follow (Quality's order files and
    /// Matching's assignments against Ordering's orders).
    pub projections: Vec<String>,
    /// Matching's in-memory roster against itself and its sources: replicas holding
    /// different rosters, a roster that differs once Matching restarted (loaded afresh from
    /// its tables), a booking whose order Ordering does not show active for that worker, or
    /// an active order missing from its worker's bookings.
    pub roster_mismatch: Vec<String>,
    /// Checks that could not run (a service not answering after the settle time).
    pub unchecked: Vec<String>,
    /// What the checker saw, for the report (orders per status, no-shows, rebooked copies,
    /// invoices, bank operations, reviews): figures, not findings.
    pub seen: BTreeMap<String, usize>,
}

impl Findings {
    /// True when nothing was lost, phantom, doubled, stuck, dead, unbalanced or unequal.
    pub fn clean(&self) -> bool {
        self.lost.is_empty()
            && self.phantom.is_empty()
            && self.duplicated.is_empty()
            && self.stuck.is_empty()
            && self.dead_letters.values().all(|&n| n == 0)
            && self.imbalance == 0
            && self.bank_differences.is_empty()
            && self.projections.is_empty()
            && self.roster_mismatch.is_empty()
            && self.unchecked.is_empty()
    }
}

/// Ordering's statuses, to list every order of the run.
const STATUSES: &[&str] = &[
    "requested",
    "active",
    "in_progress",
    "completed",
    "canceled",
    "failed",
];

/// Waits (up to `within`) until every outbox is drained and no order waits for a worker,
/// then checks everything.
pub async fn check(
    system: &System,
    actors: &Actors,
    history: &History,
    time: &BusinessTime,
    within: Duration,
) -> Findings {
    settle(system, actors, within).await;
    let mut f = Findings::default();
    // Without the whole list the order checks would call every order lost: they are
    // skipped, and the run is not ok (`unchecked`).
    let listed = all_orders(system, actors).await;
    if let Err(e) = &listed {
        f.unchecked.push(format!("orders: {e}"));
    }
    let orders = listed.as_deref().unwrap_or_default();
    for o in orders {
        *f.seen
            .entry(format!("orders {}", status_of(o)))
            .or_default() += 1;
        if o.reason.as_deref() == Some("no_show") {
            *f.seen.entry("no-shows".into()).or_default() += 1;
        }
    }
    if listed.is_ok() {
        check_orders(&mut f, history, orders);
        check_rebooks(&mut f, history, orders);
        check_overdue(&mut f, time, orders);
    }
    check_reviews(&mut f, system, actors, history).await;
    check_clocks(&mut f, system, actors, history).await;
    check_hiring(&mut f, system, actors, history).await;
    check_messaging(&mut f, system, actors).await;
    check_ledger(&mut f, system, actors, history).await;
    check_kits(&mut f, system, actors, history).await;
    check_bets(&mut f, system, actors, history).await;
    check_cookies(&mut f, system);
    check_mail(&mut f, system);
    check_projections(&mut f, system, actors, orders).await;
    f
}

/// Waits until no outbox holds an event, every consumer applied every event of its types
/// that was published, and no order waits for a worker; or until `within` passed (the
/// checks then report what is left).
async fn settle(system: &System, actors: &Actors, within: Duration) {
    let start = Instant::now();
    while start.elapsed() < within {
        let mut probe = Findings::default();
        check_messaging(&mut probe, system, actors).await;
        let ordering = OrderingClient(Actors::at(system, "ordering", &actors.admin));
        let waiting = ordering
            .counts()
            .await
            .map_or(true, |c| c.get("requested").copied().unwrap_or(0) > 0);
        // Invoices whose bank answer was lost are asked about again on Billing's schedule.
        let billing = BillingClient(Actors::at(system, "billing", &actors.admin));
        let in_doubt = billing.ops_bank().await.map_or(true, |v| v.in_doubt != 0);
        if probe.stuck.is_empty() && probe.unchecked.is_empty() && !waiting && !in_doubt {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn messaging_stats(system: &System, actors: &Actors, service: &str) -> Option<Value> {
    Actors::at(system, service, &actors.admin)
        .get::<Value>("/ops/messaging")
        .await
        .ok()
}

async fn all_orders(system: &System, actors: &Actors) -> Result<Vec<Order>, String> {
    let ordering = OrderingClient(Actors::at(system, "ordering", &actors.admin));
    let mut all = Vec::new();
    for status in STATUSES {
        let query = OrderListQuery {
            client_id: Some(actors.client_id.clone()),
            status: Some((*status).to_owned()),
            limit: Some(1000),
        };
        let page = ordering
            .orders(&query)
            .await
            .map_err(|e| format!("{status}: {e}"))?;
        if page.len() >= 1000 {
            return Err(format!(
                "more than 1000 {status} orders: the run is too long"
            ));
        }
        all.extend(page);
    }
    Ok(all)
}

/// The id an operation was acknowledged with.
fn acknowledged(outcome: &Outcome) -> Option<&str> {
    match outcome {
        Outcome::Acknowledged { id } => Some(id),
        _ => None,
    }
}

/// An order's status as its API names it (`active`).
fn status_of(o: &Order) -> String {
    serde_json::to_value(o.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn check_orders(f: &mut Findings, history: &History, orders: &[Order]) {
    let mut by_key: BTreeMap<&str, Vec<&Order>> = BTreeMap::new();
    // A rebooked copy keeps its original's description (and so its key): it is checked
    // against the rebooks asked for (check_rebooks).
    for o in orders.iter().filter(|o| o.rebook_of.is_none()) {
        let key = o
            .description
            .strip_prefix("chaos ")
            .unwrap_or(&o.description);
        by_key.entry(key).or_default().push(o);
    }
    let requested: BTreeMap<&str, &Outcome> = history
        .of("order")
        .map(|op| (op.key.as_str(), &op.outcome))
        .collect();
    for (key, outcome) in &requested {
        let found = by_key.get(key).map(Vec::as_slice).unwrap_or_default();
        match (outcome, found) {
            (Outcome::Acknowledged { id }, []) => f.lost.push(format!("order {id} (key {key})")),
            (Outcome::Acknowledged { id }, [o]) if o.id.to_string() != *id => f.duplicated.push(
                format!("order key {key}: acknowledged {id}, stored {}", o.id),
            ),
            (Outcome::Refused { .. }, [o, ..]) => f
                .phantom
                .push(format!("order {} of refused key {key}", o.id)),
            _ => {}
        }
        if found.len() > 1 {
            f.duplicated
                .push(format!("{} orders for key {key}", found.len()));
        }
    }
    for (key, found) in &by_key {
        if !requested.contains_key(key) {
            for o in found {
                f.phantom.push(format!("order {} never requested", o.id));
            }
        }
    }
    let by_id: BTreeMap<String, &Order> = orders.iter().map(|o| (o.id.to_string(), o)).collect();
    for op in history.of("cancel") {
        if acknowledged(&op.outcome).is_some() {
            let status = by_id.get(&op.key).map(|o| status_of(o));
            if status.as_deref() != Some("canceled") {
                f.lost
                    .push(format!("cancel of order {} (now {status:?})", op.key));
            }
        }
    }
    // A check-in or completion the worker was told of sticks.
    for (kind, after) in [
        ("check_in", &["in_progress", "completed"][..]),
        ("complete", &["completed"][..]),
    ] {
        for op in history.of(kind) {
            if acknowledged(&op.outcome).is_some() {
                let status = by_id.get(&op.key).map(|o| status_of(o)).unwrap_or_default();
                if !after.contains(&status.as_str()) {
                    f.lost
                        .push(format!("{kind} of order {} (now {status:?})", op.key));
                }
            }
        }
    }
    for o in orders {
        if status_of(o) == "requested" {
            f.stuck
                .push(format!("order {} still waits for a worker", o.id));
        }
    }
}

/// Rebooked copies: each acknowledged rebook's copy present, linked to its original, one
/// copy per failed order, no copy nobody asked for.
fn check_rebooks(f: &mut Findings, history: &History, orders: &[Order]) {
    let asked: BTreeSet<&str> = history.of("rebook").map(|op| op.key.as_str()).collect();
    let by_id: BTreeMap<String, &Order> = orders.iter().map(|o| (o.id.to_string(), o)).collect();
    let mut copies: BTreeMap<String, Vec<&Order>> = BTreeMap::new();
    for o in orders {
        if let Some(original) = o.rebook_of {
            copies.entry(original.to_string()).or_default().push(o);
        }
    }
    *f.seen.entry("rebooked copies".into()).or_default() +=
        copies.values().map(Vec::len).sum::<usize>();
    for op in history.of("rebook") {
        let Some(id) = acknowledged(&op.outcome) else {
            continue;
        };
        match by_id.get(id) {
            None => f
                .lost
                .push(format!("rebook of order {}: copy {id}", op.key)),
            Some(copy) if copy.rebook_of.map(|o| o.to_string()).as_deref() != Some(&op.key) => {
                f.lost.push(format!(
                    "rebook of order {}: copy {id} is linked to {:?}",
                    op.key, copy.rebook_of
                ))
            }
            Some(_) => {}
        }
        if by_id
            .get(&op.key)
            .is_some_and(|o| o.rebooked_as.map(|c| c.to_string()).as_deref() != Some(id))
        {
            f.lost.push(format!(
                "rebook of order {}: the original does not name its copy {id}",
                op.key
            ));
        }
    }
    for (original, found) in &copies {
        if !asked.contains(original.as_str()) {
            for o in found {
                f.phantom
                    .push(format!("copy {} of order {original} never asked for", o.id));
            }
        }
        if found.len() > 1 {
            f.duplicated
                .push(format!("{} copies of failed order {original}", found.len()));
        }
    }
}

/// Orders whose deadline passed in business time (their scheduled time plus Ordering's
/// default grace of 30 minutes, and a margin for the sweep) but still active: the no-show
/// sweep missed them.
fn check_overdue(f: &mut Findings, time: &BusinessTime, orders: &[Order]) {
    let now = time.now();
    for o in orders {
        if status_of(o) == "active" && o.scheduled_at + chrono::Duration::minutes(45) < now {
            f.stuck.push(format!(
                "order {} still active {} min after its time",
                o.id,
                (now - o.scheduled_at).num_minutes()
            ));
        }
    }
}

/// Quality's projection against a rebuild from the streams: every order's view (file,
/// timeline, queue place, review) read live, Quality's timeline rebuilt as an operator
/// does (`mcf quality rebuild`, Quality stopped and started again, replaying every
/// stream), then each view read again until it equals the live one or `within` passed;
/// the differences land in `projections`. Run on a settled system, after [`check`].
pub async fn check_rebuild(
    f: &mut Findings,
    system: &mut System,
    actors: &Actors,
    within: Duration,
) {
    let orders = match all_orders(system, actors).await {
        Ok(orders) => orders,
        Err(e) => {
            f.unchecked.push(format!("orders for the rebuild: {e}"));
            return;
        }
    };
    let quality = QualityClient(Actors::at(system, "quality", &actors.admin));
    let mut live = BTreeMap::new();
    for o in &orders {
        match quality.order(o.id).await {
            Ok(view) => {
                live.insert(o.id, view);
            }
            Err(e) => f
                .unchecked
                .push(format!("quality's order {} before the rebuild: {e}", o.id)),
        }
    }
    match tokio::task::block_in_place(|| system.rebuild_quality()) {
        Ok(_) => {}
        Err(e) => {
            f.unchecked.push(format!("rebuilding quality: {e:#}"));
            return;
        }
    }
    let quality = QualityClient(Actors::at(system, "quality", &actors.admin));
    let start = Instant::now();
    let mut differ: BTreeMap<OrderId, String> = BTreeMap::new();
    let mut pending: Vec<OrderId> = live.keys().copied().collect();
    loop {
        differ.clear();
        for &id in &pending {
            match quality.order(id).await {
                Ok(view) if view == live[&id] => {}
                Ok(view) => {
                    let shown =
                        |v: &quality::OrderView| serde_json::to_string(&v.file).unwrap_or_default();
                    differ.insert(
                        id,
                        format!(
                            "quality rebuilt: order {id} reads {}, live read {}",
                            shown(&view),
                            shown(&live[&id])
                        ),
                    );
                }
                Err(e) => {
                    differ.insert(id, format!("quality rebuilt: order {id}: {e}"));
                }
            }
        }
        pending = differ.keys().copied().collect();
        if pending.is_empty() || start.elapsed() > within {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    f.seen
        .insert("quality files rebuilt".into(), live.len() - differ.len());
    f.projections.extend(differ.into_values());
}

/// Matching's in-memory roster against a rebuild: every Matching process's roster read
/// (`GET /ops/roster`, each brought up to date from the change log as a decision would be),
/// the replicas compared with each other and every booking with Ordering's orders, then
/// Matching restarted (every process down, then up: each loads its roster whole from its
/// tables) and each roster read again until it equals the one read before or `within`
/// passed. Differences land in `roster_mismatch`. Run on a settled system, after
/// [`check`].
///
/// Business time still runs, so Ordering may fail a no-show meanwhile and Matching release
/// the booking: a roster whose `seq` moved on is of another database state, not wrong. The
/// bookings are compared again until they agree, and the restart is tried again (three
/// times at most) when the log moved during it.
pub async fn check_roster_rebuild(
    f: &mut Findings,
    system: &mut System,
    actors: &Actors,
    within: Duration,
) {
    let urls = system.apis_of("matching");
    let start = Instant::now();
    let read_all = async |when: &str| -> Result<Vec<RosterView>, String> {
        let mut views = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let view = MatchingClient(Actors::at_url(url.clone(), &actors.admin))
                .roster()
                .await
                .map_err(|e| format!("matching-{i}'s roster {when}: {e}"))?;
            views.push(view);
        }
        Ok(views)
    };
    // Live: the replicas agree with each other and the bookings with Ordering.
    let mut live;
    let mut found;
    loop {
        live = match read_all("before the restart").await {
            Ok(views) if !views.is_empty() => views,
            Ok(_) => {
                f.unchecked
                    .push("no matching process to read a roster of".into());
                return;
            }
            Err(e) => {
                f.unchecked.push(e);
                return;
            }
        };
        found = Vec::new();
        for (i, other) in live.iter().enumerate().skip(1) {
            if other != &live[0] {
                found.push(format!(
                    "matching-{i}'s roster differs from matching-0's: {}",
                    roster_differences(other, &live[0])
                ));
            }
        }
        match all_orders(system, actors).await {
            Ok(orders) => compare_bookings(&mut found, &live[0], &orders),
            Err(e) => {
                f.unchecked
                    .push(format!("orders for the roster's bookings: {e}"));
            }
        }
        if found.is_empty() || start.elapsed() > within {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    f.roster_mismatch.append(&mut found);
    f.seen
        .insert("matching roster samples".into(), live[0].samples_count);
    f.seen
        .insert("matching roster bookings".into(), live[0].bookings_count);
    // Rebuilt: each process's reloaded roster equals its live one.
    let mut differ: BTreeMap<usize, String> = BTreeMap::new();
    for attempt in 1..=3 {
        if attempt > 1 {
            match read_all("before the restart").await {
                Ok(views) => live = views,
                Err(e) => {
                    f.unchecked.push(e);
                    return;
                }
            }
        }
        if let Err(e) = tokio::task::block_in_place(|| system.restart("matching")) {
            f.unchecked.push(format!("restarting matching: {e:#}"));
            return;
        }
        let waiting = Instant::now();
        let moved = loop {
            differ.clear();
            let mut moved = false;
            for (i, url) in urls.iter().enumerate() {
                match MatchingClient(Actors::at_url(url.clone(), &actors.admin))
                    .roster()
                    .await
                {
                    Ok(view) if view == live[i] => {}
                    Ok(view) => {
                        moved |= view.seq != live[i].seq;
                        differ.insert(
                            i,
                            format!(
                                "matching-{i}'s roster reloaded from its tables differs from \
                                 the live one at the same change (seq {}): {}",
                                view.seq,
                                roster_differences(&view, &live[i])
                            ),
                        );
                    }
                    Err(e) => {
                        differ.insert(i, format!("matching-{i}'s roster after the restart: {e}"));
                    }
                }
            }
            if differ.is_empty() || moved || waiting.elapsed() > within {
                break moved;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        if !moved {
            break;
        }
        differ.clear();
        if attempt == 3 {
            f.unchecked.push(
                "matching's roster: its change log moved on during each of three restarts".into(),
            );
            return;
        }
    }
    f.seen
        .insert("matching roster rebuilt".into(), urls.len() - differ.len());
    f.roster_mismatch.extend(differ.into_values());
}

/// Every booking in the roster is an order Ordering shows active or in progress for that
/// worker (Matching releases a booking on the order's completion, cancel or failure), and
/// every such order of Ordering's is among its worker's bookings.
fn compare_bookings(found: &mut Vec<String>, roster: &RosterView, orders: &[Order]) {
    let by_id: BTreeMap<OrderId, &Order> = orders.iter().map(|o| (o.id, o)).collect();
    let mut booked = BTreeSet::new();
    for s in &roster.samples {
        for b in &s.bookings {
            booked.insert((s.worker_id, b.order_id));
            match by_id.get(&b.order_id) {
                None => found.push(format!(
                    "matching books {} for order {}, which ordering does not have",
                    s.worker_id, b.order_id
                )),
                Some(o) => {
                    let status = status_of(o);
                    let active = matches!(status.as_str(), "active" | "in_progress");
                    if !active || o.worker_id != Some(s.worker_id) {
                        found.push(format!(
                            "matching books {} for order {}, which ordering shows {status} \
                             for {:?}",
                            s.worker_id, b.order_id, o.worker_id
                        ));
                    }
                }
            }
        }
    }
    for o in orders {
        let status = status_of(o);
        if let (Some(worker), "active" | "in_progress") = (o.worker_id, status.as_str())
            && !booked.contains(&(worker, o.id))
        {
            found.push(format!(
                "order {} is {status} for {worker}, but matching's roster does not book it",
                o.id
            ));
        }
    }
}

/// What differs between two roster views, briefly: the digests and counts, and the first
/// few samples that are not equal (by worker id).
fn roster_differences(a: &RosterView, b: &RosterView) -> String {
    let index = |v: &RosterView| -> BTreeMap<String, String> {
        v.samples
            .iter()
            .map(|s| {
                (
                    s.worker_id.to_string(),
                    serde_json::to_string(s).unwrap_or_default(),
                )
            })
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let ids: BTreeSet<&String> = ia.keys().chain(ib.keys()).collect();
    let samples: Vec<String> = ids
        .into_iter()
        .filter(|id| ia.get(*id) != ib.get(*id))
        .take(5)
        .map(|id| {
            format!(
                "{id}: {} vs {}",
                ia.get(id).map_or("absent", String::as_str),
                ib.get(id).map_or("absent", String::as_str)
            )
        })
        .collect();
    format!(
        "digest {} vs {}, {} vs {} samples, {} vs {} bookings; {}",
        a.digest,
        b.digest,
        a.samples_count,
        b.samples_count,
        a.bookings_count,
        b.bookings_count,
        samples.join("; ")
    )
}

/// Business time: every Ordering and Billing process at least where it was last
/// acknowledged to be set, though processes were killed and restarted since (each resumes
/// the offset its database keeps).
async fn check_clocks(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let mut set: BTreeMap<&str, i64> = BTreeMap::new();
    for op in history.of("clock") {
        if acknowledged(&op.outcome).is_none() {
            continue;
        }
        if let Some((offset, process)) = op.key.split_once('@')
            && let Ok(offset) = offset.parse::<i64>()
        {
            let at = set.entry(process).or_default();
            *at = (*at).max(offset);
        }
    }
    for service in ["ordering", "billing"] {
        for (i, url) in system.apis_of(service).into_iter().enumerate() {
            let process = format!("{service}-{i}");
            let expected = set.get(process.as_str()).copied().unwrap_or(0);
            let view = Actors::at_url(url, &actors.admin)
                .get::<service::clock::ClockView>("/ops/clock")
                .await;
            match view {
                Ok(v) if v.offset_seconds >= expected => {}
                Ok(v) => f.lost.push(format!(
                    "business clock of {process} {} s ahead, set to {expected}",
                    v.offset_seconds
                )),
                Err(e) => f.unchecked.push(format!("clock of {process}: {e}")),
            }
        }
    }
}

/// Hiring: each acknowledged application present under its candidate's address; each
/// acknowledged hire an IAM account (the worker's id, worker role) and a Matching profile,
/// once; no account for a candidate nobody hired.
async fn check_hiring(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let hiring = hiring::client::HiringClient(Actors::at(system, "hiring", &actors.admin));
    for op in history.of("apply") {
        let Some(id) = acknowledged(&op.outcome) else {
            continue;
        };
        let Ok(app) = id.parse() else {
            f.lost.push(format!("application {id} (not an id)"));
            continue;
        };
        match hiring.application(app).await {
            Ok(d) if d.application.email == op.key => {}
            Ok(d) => f.lost.push(format!(
                "application {id} of {} is {}'s",
                op.key, d.application.email
            )),
            Err(e) => f.lost.push(format!("application {id} of {}: {e}", op.key)),
        }
    }
    let iam = iam::client::IamClient(Actors::at(system, "iam", &actors.admin));
    let accounts = match iam.accounts().await {
        Ok(a) => a,
        Err(e) => {
            f.unchecked.push(format!("iam's accounts: {e}"));
            return;
        }
    };
    let matching = MatchingClient(Actors::at(system, "matching", &actors.admin));
    let samples = match matching.list().await {
        Ok(s) => s,
        Err(e) => {
            f.unchecked.push(format!("matching's samples: {e}"));
            return;
        }
    };
    let mut hired = 0;
    for op in history.of("hire") {
        let Some(worker) = acknowledged(&op.outcome) else {
            continue;
        };
        hired += 1;
        let theirs: Vec<_> = accounts.iter().filter(|a| a.email == op.key).collect();
        match theirs.as_slice() {
            [] => f
                .lost
                .push(format!("account of hired {} ({worker})", op.key)),
            [a] if a.id.to_string() != worker => f.lost.push(format!(
                "account of hired {} is {}, hired as {worker}",
                op.key, a.id
            )),
            [a] if !serde_json::to_string(&a.roles)
                .unwrap_or_default()
                .contains("\"worker\"") =>
            {
                f.lost
                    .push(format!("account of hired {} lacks the worker role", op.key))
            }
            [_] => {}
            more => f
                .duplicated
                .push(format!("{} accounts for hired {}", more.len(), op.key)),
        }
        match samples
            .iter()
            .filter(|s| s.id.to_string() == worker)
            .count()
        {
            0 => f
                .lost
                .push(format!("matching profile of hired {} ({worker})", op.key)),
            1 => {}
            n => f
                .duplicated
                .push(format!("{n} matching profiles of hired {}", op.key)),
        }
    }
    f.seen.insert("hired".into(), hired);
    // An account for a candidate is made by a hire only: one acknowledged, or whose answer
    // was lost.
    let may_exist: BTreeSet<&str> = history
        .of("hire")
        .filter(|op| !matches!(op.outcome, Outcome::Refused { .. }))
        .map(|op| op.key.as_str())
        .collect();
    for a in &accounts {
        if a.email.starts_with("candidate-") && !may_exist.contains(a.email.as_str()) {
            f.phantom
                .push(format!("account {} of {} never hired", a.id, a.email));
        }
    }
}

/// Reviews: each acknowledged one present, on its order; none nobody wrote.
async fn check_reviews(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let quality = QualityClient(Actors::at(system, "quality", &actors.admin));
    for op in history.of("review") {
        let Some(id) = acknowledged(&op.outcome) else {
            continue;
        };
        let Ok(uuid) = id.parse() else {
            f.lost.push(format!("review {id} (not an id)"));
            continue;
        };
        match quality.review(uuid).await {
            Ok(r) if r.head.order_id.to_string() == op.key => {}
            Ok(r) => f.lost.push(format!(
                "review {id} is of order {}, written for {}",
                r.head.order_id, op.key
            )),
            Err(e) => f.lost.push(format!("review {id} of order {}: {e}", op.key)),
        }
    }
    let asked: BTreeSet<&str> = history.of("review").map(|op| op.key.as_str()).collect();
    let reviewed = quality::QueueQuery {
        reviewed: Some(true),
        reason: None,
        limit: Some(500),
    };
    match quality.queue(&reviewed).await {
        Ok(entries) => {
            f.seen.insert("reviews".into(), entries.len());
            for e in entries {
                if !asked.contains(e.order_id.to_string().as_str()) {
                    f.phantom
                        .push(format!("review of order {} never written", e.order_id));
                }
            }
        }
        Err(e) => f.unchecked.push(format!("quality's queue: {e}")),
    }
}

async fn check_messaging(f: &mut Findings, system: &System, actors: &Actors) {
    let mut stats = Vec::new();
    for service in mcf::system::SERVICES {
        match messaging_stats(system, actors, service).await {
            Some(s) => stats.push(((*service).to_owned(), s)),
            None => f
                .unchecked
                .push(format!("{service}: /ops/messaging does not answer")),
        }
    }
    let m = compare_messaging(&stats);
    f.stuck.extend(m.stuck);
    f.duplicated.extend(m.duplicated);
    f.dead_letters.extend(m.dead_letters);
}

/// What every service's `GET /ops/messaging` (`(service, body)` pairs) says together.
#[derive(Debug, Default)]
pub struct Messaging {
    /// Outboxes holding events, consumers that applied fewer events of a type than were
    /// published (not yet, or never).
    pub stuck: Vec<String>,
    /// Consumers that applied more events of a type than were published: one applied twice.
    pub duplicated: Vec<String>,
    /// Dead letters waiting, per service.
    pub dead_letters: BTreeMap<String, i64>,
}

/// Compares what was published (every outbox, by event type) with what each consumer
/// applied (its inbox holds each event id once). Also used by the end-to-end crash tests to
/// wait for a quiet system.
pub fn compare_messaging(stats: &[(String, Value)]) -> Messaging {
    let mut m = Messaging::default();
    let mut published: BTreeMap<String, i64> = BTreeMap::new();
    let mut applied: Vec<(String, String, i64)> = Vec::new();
    for (service, stats) in stats {
        let pending = stats["outbox_pending"].as_i64().unwrap_or(-1);
        if pending != 0 {
            m.stuck
                .push(format!("{service}: {pending} events in the outbox"));
        }
        m.dead_letters.insert(
            service.clone(),
            stats["dead_letters_pending"].as_i64().unwrap_or(-1),
        );
        for (ty, n) in stats["outbox_by_type"].as_object().into_iter().flatten() {
            *published.entry(ty.clone()).or_default() += n.as_i64().unwrap_or(0);
        }
        for (k, n) in stats["inbox_by_consumer"].as_object().into_iter().flatten() {
            if let Some((consumer, ty)) = k.split_once('/') {
                applied.push((consumer.to_owned(), ty.to_owned(), n.as_i64().unwrap_or(0)));
            }
        }
    }
    for (consumer, ty, n) in applied {
        let Some(&p) = published.get(&ty) else {
            continue;
        };
        if n > p {
            m.duplicated
                .push(format!("{consumer} applied {n} {ty} of {p} published"));
        } else if n < p {
            m.stuck
                .push(format!("{consumer} applied {n} {ty} of {p} published"));
        }
    }
    m
}

async fn check_ledger(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let billing = BillingClient(Actors::at(system, "billing", &actors.admin));
    let balance = match billing.trial_balance().await {
        Ok(b) => b,
        Err(e) => {
            f.unchecked.push(format!("trial balance: {e}"));
            return;
        }
    };
    f.imbalance = balance.total.minor();
    let mut awards: BTreeMap<String, usize> = BTreeMap::new();
    for line in &balance.accounts {
        if !matches!(
            line.account,
            LedgerAccount::Client(_) | LedgerAccount::Worker(_) | LedgerAccount::Manager(_)
        ) {
            continue;
        }
        let statement = match billing.statement(line.account).await {
            Ok(s) => s,
            Err(e) => {
                f.unchecked
                    .push(format!("statement of {}: {e}", line.account));
                continue;
            }
        };
        let mut effects: BTreeMap<String, usize> = BTreeMap::new();
        for l in &statement.lines {
            let cause = serde_json::to_value(&l.cause).unwrap_or_default();
            let kind = serde_json::to_value(l.kind).unwrap_or_default();
            let what = format!("{kind} for {} {}", cause["kind"], cause["id"]);
            *effects.entry(what).or_default() += 1;
            if cause["kind"] == "award" {
                *awards
                    .entry(cause["id"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        for (what, n) in effects {
            if n > 1 {
                f.duplicated
                    .push(format!("{}: {n} lines of {what}", line.account));
            }
        }
    }
    let acked: BTreeSet<&str> = history
        .of("award")
        .filter_map(|op| acknowledged(&op.outcome))
        .collect();
    for id in &acked {
        if !awards.contains_key(*id) {
            f.lost.push(format!("award {id}"));
        }
    }
    // An award whose answer was lost may exist: only more than those is a phantom.
    let unknown = history
        .of("award")
        .filter(|op| op.outcome == Outcome::Unknown)
        .count();
    let others = awards
        .keys()
        .filter(|id| !acked.contains(id.as_str()))
        .count();
    if others > unknown {
        f.phantom.push(format!(
            "{others} awards booked that were not acknowledged ({unknown} unanswered)"
        ));
    }
    check_bank(f, &billing, system).await;
}

/// The bank's operations against Billing's invoices: one operation per invoice at most,
/// each one an invoice Billing knows of, and no invoice left in doubt.
async fn check_bank(f: &mut Findings, billing: &BillingClient, system: &System) {
    let (invoices, view) = match (billing.invoices().await, billing.ops_bank().await) {
        (Ok(i), Ok(v)) => (serde_json::to_string(&i).unwrap_or_default(), v),
        (Err(e), _) | (_, Err(e)) => {
            f.unchecked.push(format!("billing's invoices: {e}"));
            return;
        }
    };
    if view.in_doubt != 0 {
        f.stuck
            .push(format!("{} invoices in doubt at the bank", view.in_doubt));
    }
    let mut per_reference: BTreeMap<String, usize> = BTreeMap::new();
    let statement = system.bank.statement(&Default::default());
    f.seen.insert("bank operations".into(), statement.len());
    for op in statement {
        *per_reference.entry(op.reference.clone()).or_default() += 1;
        // The listing holds the newest invoices only: ask for an older one by its id (the
        // operation's reference).
        if !invoices.contains(&op.reference)
            && !invoices.contains(&op.key)
            && billing.invoice(&op.reference).await.is_err()
        {
            f.bank_differences.push(format!(
                "bank operation {} ({} minor units, {}) unknown to Billing",
                op.operation_id, op.amount, op.reference
            ));
        }
    }
    for (reference, n) in per_reference {
        if n > 1 {
            f.duplicated
                .push(format!("{n} bank operations for {reference}"));
        }
    }
}

/// Bets: each one asked for, each acknowledged stake confirmed and once, each
/// acknowledged close settled.
async fn check_bets(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let bets = BetsClient(Actors::at(system, "bets", &actors.admin));
    let all = match bets.bets(&BetQuery::default()).await {
        Ok(all) => all,
        Err(e) => {
            f.unchecked.push(format!("bets: {e}"));
            return;
        }
    };
    let asked: BTreeSet<String> = history
        .of("bet")
        .map(|op| op.key.trim_start_matches("bet-").to_owned())
        .collect();
    let mut per_order: BTreeMap<String, usize> = BTreeMap::new();
    for b in &all {
        let order = b.bet.order_id.to_string();
        if !asked.contains(&order) {
            f.phantom
                .push(format!("bet {} on order {order} never asked for", b.bet.id));
        }
        *per_order.entry(order).or_default() += 1;
    }
    for (order, n) in per_order {
        if n > 1 {
            f.duplicated.push(format!("{n} bets on order {order}"));
        }
    }
    let by_id: BTreeMap<String, &bets::BetView> =
        all.iter().map(|b| (b.bet.id.to_string(), b)).collect();
    for op in history.of("bet") {
        if let Some(id) = acknowledged(&op.outcome)
            && !by_id.contains_key(id)
        {
            f.lost.push(format!("bet {id}"));
        }
    }
    for op in history.of("close") {
        if acknowledged(&op.outcome).is_none() {
            continue;
        }
        let state = by_id
            .get(&op.key)
            .and_then(|b| serde_json::to_value(b.bet.state).ok());
        if state.as_ref().and_then(Value::as_str) != Some("settled") {
            f.stuck.push(format!("bet {} closed but {state:?}", op.key));
        }
    }
    let mut stakes_of: BTreeMap<String, Vec<bets::domain::stake::Stake>> = BTreeMap::new();
    for b in &all {
        match bets.stakes_of(b.bet.id).await {
            Ok(stakes) => {
                let mut per_manager: BTreeMap<String, usize> = BTreeMap::new();
                for s in &stakes {
                    *per_manager.entry(s.manager_id.to_string()).or_default() += 1;
                }
                for (manager, n) in per_manager {
                    if n > 1 {
                        f.duplicated.push(format!(
                            "{n} stakes of manager {manager} on bet {} (each staked once)",
                            b.bet.id
                        ));
                    }
                }
                stakes_of.insert(b.bet.id.to_string(), stakes);
            }
            Err(e) => f.unchecked.push(format!("stakes of bet {}: {e}", b.bet.id)),
        }
    }
    for op in history.of("stake") {
        let Some((bet, stake)) = acknowledged(&op.outcome).and_then(|id| id.split_once('/')) else {
            continue;
        };
        let confirmed = stakes_of.get(bet).is_some_and(|stakes| {
            stakes.iter().any(|s| {
                s.id.to_string() == stake
                    && serde_json::to_value(s.status)
                        .ok()
                        .as_ref()
                        .and_then(Value::as_str)
                        == Some("confirmed")
            })
        });
        if !confirmed {
            f.lost.push(format!(
                "stake {stake} on bet {bet} (acknowledged, not confirmed)"
            ));
        }
    }
}

async fn check_kits(f: &mut Findings, system: &System, actors: &Actors, history: &History) {
    let clerk = InventoryClient(Actors::at(system, "inventory", &actors.clerk));
    for op in history.of("issue") {
        let Some(id) = acknowledged(&op.outcome) else {
            continue;
        };
        let Ok(kit_id) = id.parse() else {
            continue;
        };
        match clerk.kit(kit_id).await {
            Ok(k) if serde_json::to_value(k.kit.state).unwrap_or_default() == "issued" => {}
            Ok(k) => f
                .lost
                .push(format!("issue of kit {id} (now {:?})", k.kit.state)),
            Err(e) => f.lost.push(format!("issued kit {id}: {e}")),
        }
    }
}

fn check_cookies(f: &mut Findings, system: &System) {
    let mut per_kit: BTreeMap<String, usize> = BTreeMap::new();
    for cookie in system.cookies.baked() {
        *per_kit.entry(cookie.key).or_default() += 1;
    }
    for (kit, n) in per_kit {
        if n > 1 {
            f.duplicated
                .push(format!("{n} cookies baked for kit {kit}"));
        }
    }
}

fn check_mail(f: &mut Findings, system: &System) {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(system.mail_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID:").map(str::trim))
        {
            *ids.entry(id.to_owned()).or_default() += 1;
        }
    }
    for (id, n) in ids {
        if n > 1 {
            f.duplicated.push(format!("{n} mails with Message-ID {id}"));
        }
    }
}

async fn check_projections(f: &mut Findings, system: &System, actors: &Actors, orders: &[Order]) {
    let quality = QualityClient(Actors::at(system, "quality", &actors.admin));
    let matching = MatchingClient(Actors::at(system, "matching", &actors.admin));
    for o in orders {
        let id: OrderId = o.id;
        let status = status_of(o);
        match quality.order(id).await {
            Ok(view) => {
                let seen = serde_json::to_value(view.file.status).unwrap_or_default();
                if seen != status.as_str() {
                    f.projections.push(format!(
                        "quality: order {id} is {seen}, ordering says {status}"
                    ));
                }
            }
            Err(e) => f
                .projections
                .push(format!("quality: order {id} missing ({e})")),
        }
        if let Some(worker) = o.worker_id {
            match matching.assignment(id).await {
                Ok(a) if a.worker_id == Some(worker) => {}
                Ok(a) => f.projections.push(format!(
                    "matching: order {id} assigned to {:?}, ordering says {worker}",
                    a.worker_id
                )),
                Err(e) => f
                    .projections
                    .push(format!("matching: order {id} has no assignment ({e})")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WORKER: &str = "00000000-0000-4000-8000-000000000001";
    const OTHER: &str = "00000000-0000-4000-8000-000000000002";
    const ORDER: &str = "00000000-0000-4000-8000-0000000000a1";

    fn order(status: &str, worker: &str) -> Order {
        serde_json::from_value(json!({
            "id": ORDER, "client_id": "00000000-0000-4000-8000-0000000000c1",
            "service_type_id": "00000000-0000-4000-8000-0000000000d1",
            "service_type_name": "Cleaning", "skill": "cleaning", "description": "dishes",
            "scheduled_at": "2026-12-01T10:00:00Z", "duration_minutes": 60,
            "status": status, "worker_id": worker, "price": 100, "approximate_price": 120,
            "version": 2, "requested_at": "2026-11-30T10:00:00Z",
            "activated_at": null, "checked_in_at": null, "completed_at": null,
            "canceled_at": null, "failed_at": null, "check_in_photo": null,
            "report_photo": null, "reason": null, "rebook_of": null, "rebooked_as": null,
            "excluded_workers": []
        }))
        .expect("an order")
    }

    fn roster(bookings: &[&str]) -> RosterView {
        let bookings: Vec<Value> = bookings
            .iter()
            .map(
                |o| json!({"order_id": o, "start_micros": 1, "end_micros": 2, "state": "assigned"}),
            )
            .collect();
        serde_json::from_value(json!({
            "seq": 7, "digest": "d", "samples_count": 1, "bookings_count": bookings.len(),
            "samples": [{"worker_id": WORKER, "name": "Tom", "available": true,
                         "skills": {"cleaning": 80}, "completed": 0, "failed": 0,
                         "bookings": bookings}]
        }))
        .expect("a roster view")
    }

    fn findings(roster: &RosterView, orders: &[Order]) -> Vec<String> {
        let mut found = Vec::new();
        compare_bookings(&mut found, roster, orders);
        found
    }

    #[test]
    fn given_an_active_order_booked_for_its_worker_then_nothing_is_found() {
        assert_eq!(
            findings(&roster(&[ORDER]), &[order("active", WORKER)]),
            Vec::<String>::new()
        );
        assert_eq!(
            findings(&roster(&[ORDER]), &[order("in_progress", WORKER)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn given_a_booking_ordering_ended_or_gave_another_worker_then_it_is_found() {
        let ended = findings(&roster(&[ORDER]), &[order("completed", WORKER)]);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert!(ended[0].contains("completed"), "{ended:?}");
        // Booked for Tom, active for another: the booking is wrong and the order unbooked.
        let moved = findings(&roster(&[ORDER]), &[order("active", OTHER)]);
        assert_eq!(moved.len(), 2, "{moved:?}");
        let unknown = findings(&roster(&[ORDER]), &[]);
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].contains("does not have"), "{unknown:?}");
    }

    #[test]
    fn given_an_active_order_the_roster_does_not_book_then_it_is_found() {
        let missing = findings(&roster(&[]), &[order("active", WORKER)]);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].contains("does not book"), "{missing:?}");
    }

    #[test]
    fn differing_rosters_name_the_sample_that_differs() {
        let (a, b) = (roster(&[ORDER]), roster(&[]));
        let said = roster_differences(&a, &b);
        assert!(said.contains(WORKER), "{said}");
        assert!(said.contains("1 vs 0 bookings"), "{said}");
        assert!(!roster_differences(&a, &a).contains(WORKER));
    }
}
