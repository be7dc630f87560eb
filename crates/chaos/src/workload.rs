//! The workload: concurrent tasks driving the business over HTTP with the services' typed
//! clients while the nemesis works. Every write carries an idempotency key or is safe to
//! repeat, is retried a few times when the answer is lost, and lands in the [`History`] as
//! what the system said: acknowledged, refused (a 4xx with its code) or unknown (no answer).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use bets::client::{BetView, BetsClient, NewBet};
use bets::domain::stake::{NewStake, Stake};
use billing::client::BillingClient;
use billing::domain::awards::NewAward;
use client::{Client, ClientError};
use contracts::bets::Outcome as BetOutcome;
use contracts::{Money, OrderId, WorkerId};
use inventory::client::InventoryClient;
use inventory::domain::KitState;
use ordering::client::{
    CancelRequest, CheckInRequest, CompleteRequest, JobsQuery, OrderListQuery, OrderingClient,
    RebookRequest,
};
use ordering::domain::order::{Order, OrderRequest};
use quality::QueueQuery;
use quality::client::QualityClient;
use quality::domain::review::{ReviewForm, Verdict};
use rand::Rng;
use serde::Serialize;

use crate::system::{ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT, System};

/// What the system answered to one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Done, with the id of what it made or touched.
    Acknowledged { id: String },
    /// Refused with this status and problem code: nothing may have changed.
    Refused { status: u16, code: String },
    /// No answer (a crash, a timeout): it may or may not have happened.
    Unknown,
}

/// One operation of the workload.
#[derive(Debug, Clone, Serialize)]
pub struct Op {
    /// `order`, `cancel`, `award`, `issue`, `check_in`, `complete`, `bet`, `stake`,
    /// `close`, `clock`, `rebook` or `review`.
    pub kind: &'static str,
    /// Its idempotency key (orders, awards, stakes), the id it acts on (cancels, kit issues,
    /// check-ins, closes, rebooks: the failed order, reviews: the order) or, for `clock`,
    /// the offset set and the process.
    pub key: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// When the answer came (a backup test keeps to what was acknowledged before it).
    #[serde(skip)]
    pub at: std::time::Instant,
}

/// Everything the workload was told, in the order it was told.
#[derive(Debug, Default, Clone, Serialize)]
pub struct History {
    pub ops: Vec<Op>,
}

impl History {
    /// The operations of `kind`.
    pub fn of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Op> + 'a {
        self.ops.iter().filter(move |o| o.kind == kind)
    }

    /// How many operations of each kind ended in each outcome (refusals by their code).
    pub fn tally(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut tally: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for op in &self.ops {
            let outcome = match &op.outcome {
                Outcome::Acknowledged { .. } => "acknowledged".to_owned(),
                Outcome::Refused { status, code } => format!("refused {status} {code}"),
                Outcome::Unknown => "unknown".to_owned(),
            };
            *tally
                .entry(op.kind.to_owned())
                .or_default()
                .entry(outcome)
                .or_default() += 1;
        }
        tally
    }
}

/// The people and catalog the workload uses, made before the nemesis starts.
#[derive(Clone)]
pub struct Actors {
    pub admin: Client,
    pub client: Client,
    pub clerk: Client,
    /// Managers who bet on today's orders.
    pub managers: Vec<Client>,
    /// The client's account id (its ledger account is `client:<id>`).
    pub client_id: String,
    pub service_type: contracts::ServiceTypeId,
    /// Workers who can sign in (IAM) and be matched (Matching) under one id, so Billing
    /// opens their accounts from IAM's announcement and they check in themselves.
    pub workers: Vec<(WorkerId, Client)>,
    /// Business time when the run began: orders are scheduled from there, an hour apart.
    pub start: chrono::DateTime<chrono::Utc>,
}

impl Actors {
    /// A typed client of `service` in `system` as `who`.
    pub fn at(system: &System, service: &str, who: &Client) -> Client {
        Actors::at_url(system.api(service), who)
    }

    /// A client of the API at `url` as `who`.
    pub fn at_url(url: String, who: &Client) -> Client {
        let token = who.token().unwrap_or_default().to_owned();
        Client::new(url).with_token(token)
    }

    /// Signs in, makes a service type, `workers` workers, a client and a supply clerk.
    pub async fn set_up(system: &System, workers: usize) -> anyhow::Result<Actors> {
        let base = system.iam_base();
        let admin_token =
            mcf::login::access_token(&base, ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT).await?;
        let admin = Client::new(system.api("iam")).with_token(admin_token);
        let mut people = vec![
            ("chaos-client".to_owned(), "client"),
            ("chaos-clerk".to_owned(), "supply"),
            ("chaos-manager-0".to_owned(), "manager"),
            ("chaos-manager-1".to_owned(), "manager"),
        ];
        people.extend((0..workers).map(|i| (format!("chaos-worker-{i}"), "worker")));
        let mut tokens = Vec::new();
        for (name, role) in &people {
            let email = format!("{name}@chaos.test");
            let password = format!("password-of-{name}");
            let body = serde_json::json!({"email": email, "name": name, "roles": [role],
                "password": password});
            let _: serde_json::Value = admin
                .post_keyed("/accounts", &body, Some(name))
                .await
                .with_context(|| format!("creating {name}"))?;
            tokens.push(mcf::login::access_token(&base, &email, &password, REDIRECT).await?);
        }
        let client = Client::new("").with_token(tokens[0].clone());
        let clerk = Client::new("").with_token(tokens[1].clone());
        let managers = tokens[2..4]
            .iter()
            .map(|t| Client::new("").with_token(t.clone()))
            .collect();
        let ordering = OrderingClient(Actors::at(system, "ordering", &admin));
        let new = ordering::domain::service_type::NewServiceType {
            name: "Chaos cleaning".into(),
            description: String::new(),
            skill: None,
            price: Money::from_minor(120),
            duration_minutes: 60,
        };
        let service_type = ordering
            .add_service_type(&new, Some("chaos-type"))
            .await?
            .id;
        let start = ordering.clock().await?.now;
        let matching = matching::client::MatchingClient(Actors::at(system, "matching", &admin));
        let mut ids = Vec::new();
        for (i, token) in tokens[4..].iter().enumerate() {
            let sample = matching::client::NormalSampleIn {
                id: Some(account_id(token)?.parse()?),
                name: format!("chaos worker {i}"),
                available: true,
                skills: [("cleaning".to_owned(), 50 + i as i64)].into(),
            };
            let id = matching.register(&sample, None).await?.1.id;
            ids.push((id, Client::new("").with_token(token.clone())));
        }
        // Bank details, so the cycles move money: the client pays by a payment method
        // registered at the bank, each worker is paid into an account there.
        let card = system
            .bank
            .register_payment_method("chaos client", false)
            .token;
        let mut details = vec![(
            tokens[0].clone(),
            billing::client::BankDetailsView {
                payment_method: Some(card),
                payout_account: None,
            },
        )];
        for (i, token) in tokens[4..].iter().enumerate() {
            let number = system
                .bank
                .open_account(&format!("chaos worker {i}"))
                .number;
            details.push((
                token.clone(),
                billing::client::BankDetailsView {
                    payment_method: None,
                    payout_account: Some(number),
                },
            ));
        }
        for (token, details) in &details {
            let billing =
                BillingClient(Client::new(system.api("billing")).with_token(token.clone()));
            // Billing opens the account when IAM's announcement arrives: until then, wait.
            let mut tries = 0;
            while let Err(e) = billing.set_my_bank(details).await {
                tries += 1;
                if tries > 60 {
                    return Err(e).context("giving Billing bank details");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Ok(Actors {
            client_id: account_id(&tokens[0])?,
            admin,
            client,
            clerk,
            managers,
            service_type,
            workers: ids,
            start,
        })
    }
}

/// The account id (`sub`) a token speaks for.
fn account_id(token: &str) -> anyhow::Result<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1).context("a JWT")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    claims["sub"]
        .as_str()
        .map(str::to_owned)
        .context("a subject")
}

/// How hard the workload pushes.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Between two order requests of the one ordering task.
    pub order_every: Duration,
    /// Between two awards.
    pub award_every: Duration,
    /// How often the clerk looks for kits ready to issue.
    pub issue_every: Duration,
    /// The share of acknowledged orders the client cancels, 0..=1.
    pub cancel_share: f64,
    /// How often each worker looks for jobs to check in to and complete.
    pub work_every: Duration,
    /// How often the managers open, stake on and close bets.
    pub bet_every: Duration,
    /// How often business time moves on (a day, to the next Monday or the next month's
    /// first, in turn).
    pub clock_every: Duration,
    /// How often the client rebooks its failed orders.
    pub rebook_every: Duration,
    /// How often a manager reviews an order of Quality's queue.
    pub review_every: Duration,
    /// The share of jobs the workers never show up for, 0..=1: once business time passes
    /// their deadline, Ordering declares the no-show and the client rebooks.
    pub no_show_share: f64,
    /// Between two candidates' applications.
    pub apply_every: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            order_every: Duration::from_millis(400),
            award_every: Duration::from_millis(1500),
            issue_every: Duration::from_millis(500),
            cancel_share: 0.2,
            work_every: Duration::from_millis(700),
            bet_every: Duration::from_millis(1000),
            clock_every: Duration::from_secs(12),
            rebook_every: Duration::from_millis(1500),
            review_every: Duration::from_millis(2000),
            no_show_share: 0.1,
            apply_every: Duration::from_secs(3),
        }
    }
}

/// Business time as the workload set it on every Ordering and Billing process: its offset
/// from the system clock, and how many moves were made (orders are scheduled anew from each
/// move on).
#[derive(Clone, Default)]
pub struct BusinessTime {
    offset_s: Arc<AtomicI64>,
    moves: Arc<AtomicU64>,
}

impl BusinessTime {
    /// Now, in business time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.offset_s.load(AtomicOrdering::Relaxed))
    }

    /// The offset set last (seconds ahead of the system clock).
    pub fn offset_seconds(&self) -> i64 {
        self.offset_s.load(AtomicOrdering::Relaxed)
    }

    fn moves(&self) -> u64 {
        self.moves.load(AtomicOrdering::Relaxed)
    }
}

/// Where the `n`th move takes business time from `now`: the next Monday, the next month's
/// first, a day on, in turn (Mondays and firsts an hour past midnight UTC: the week or the
/// month before has ended in Billing's default `week_time_zone`, UTC, and Billing runs
/// its cycle).
fn next_stop(now: chrono::DateTime<chrono::Utc>, n: u64) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, TimeZone};
    let at_one = |d: chrono::NaiveDate| {
        chrono::Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).unwrap_or_default())
    };
    let today = now.date_naive();
    match n % 3 {
        0 => {
            let days = 7 - i64::from(today.weekday().num_days_from_monday());
            at_one(today + chrono::Duration::days(days))
        }
        1 => {
            let (y, m) = if today.month() == 12 {
                (today.year() + 1, 1)
            } else {
                (today.year(), today.month() + 1)
            };
            at_one(chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(today))
        }
        _ => now + chrono::Duration::days(1),
    }
}

/// Moves business time to its next stop on every Ordering and Billing process (each keeps
/// its own clock): "set the offset to X", which a retry or a second process of one clock
/// accepts without moving further.
async fn move_clock(
    time: &BusinessTime,
    ordering: &[OrderingClient],
    billing: &[BillingClient],
    record: &impl Fn(&'static str, String, Outcome),
) {
    let target = next_stop(time.now(), time.moves());
    let offset = (target - chrono::Utc::now()).num_seconds() + 1;
    let offset = offset.max(time.offset_seconds());
    let shown = |v: &service::clock::ClockView| v.offset_seconds.to_string();
    for (i, o) in ordering.iter().enumerate() {
        let outcome = attempt(ATTEMPTS, shown, || o.set_clock_offset(offset)).await;
        record("clock", format!("{offset}@ordering-{i}"), outcome);
    }
    for (i, b) in billing.iter().enumerate() {
        let outcome = attempt(ATTEMPTS, shown, || b.set_clock_offset(offset)).await;
        record("clock", format!("{offset}@billing-{i}"), outcome);
    }
    time.offset_s.store(offset, AtomicOrdering::Relaxed);
    time.moves.fetch_add(1, AtomicOrdering::Relaxed);
}

/// Whether the workers leave `order` undone (the same answer every time): a share of
/// `share` of the orders, picked by their id.
fn no_show(order: OrderId, share: f64) -> bool {
    let id = order.to_string();
    // FNV-1a over the id's text: spread evenly, no state, stable across rounds.
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 1000) as f64 / 1000.0 < share
}

/// The test every candidate takes: one question, whose right answer is choice 1.
fn chaos_test() -> hiring::domain::TestSpec {
    hiring::domain::TestSpec {
        name: "Chaos dishes".into(),
        characteristic: "cleaning".into(),
        pass_mark: 50,
        questions: vec![hiring::domain::Question {
            text: "Which water for greasy pans?".into(),
            choices: vec!["cold".into(), "hot".into()],
            answer: 1,
        }],
    }
}

/// Candidate `i`'s e-mail address: the key the checker finds their application and
/// account by.
pub fn candidate_email(i: u64) -> String {
    format!("candidate-{i}@chaos.test")
}

/// The link of the mail to `to` written since `since` that contains `path` (Mail writes
/// `.eml` files), waiting up to 30 s for it.
async fn mailed_link(
    dir: &std::path::Path,
    to: &str,
    path: &str,
    since: std::time::SystemTime,
) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        // The newest such mail: a test assigned again (a retry) replaces the earlier link.
        let mut newest: Option<(std::time::SystemTime, String)> = None;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            if modified + Duration::from_secs(2) < since {
                continue;
            }
            let eml = std::fs::read_to_string(entry.path()).unwrap_or_default();
            // Undo quoted-printable: soft line breaks and the encoded '='.
            let eml = eml
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
            if !eml.contains(to) {
                continue;
            }
            if let Some(link) = eml
                .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
                .find(|w| w.starts_with("http") && w.contains(path))
                && newest.as_ref().is_none_or(|(t, _)| *t <= modified)
            {
                newest = Some((modified, link.to_owned()));
            }
        }
        if let Some((_, link)) = newest {
            return Some(link);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

/// Candidate `i` applies with a photo, the manager assigns the test, the candidate takes it
/// from the mailed link and the manager accepts (even `i`) or declines (odd `i`).
async fn hire(
    i: u64,
    public: &hiring::client::HiringClient,
    manager: &hiring::client::HiringClient,
    test: contracts::TestId,
    mail_dir: &std::path::Path,
    record: &impl Fn(&'static str, String, Outcome),
) {
    let email = candidate_email(i);
    let form = hiring::domain::ApplicationForm {
        name: format!("Chaos candidate {i}"),
        age: 3,
        breed: "Chaos".into(),
        coat_colour: "grey".into(),
        email: email.clone(),
        photo: PHOTO.into(),
        language: None,
    };
    let key = format!("apply-{i}");
    let outcome = attempt(
        ATTEMPTS,
        |a: &hiring::Applied| a.id.to_string(),
        || public.apply(&form, Some(&key)),
    )
    .await;
    record("apply", email.clone(), outcome.clone());
    let Outcome::Acknowledged { id } = outcome else {
        return;
    };
    let Ok(app) = id.parse::<contracts::ApplicationId>() else {
        return;
    };
    let since = std::time::SystemTime::now();
    let tests = [test];
    let outcome = attempt(
        ATTEMPTS,
        |a: &hiring::Assigned| a.application.to_string(),
        || manager.assign_tests(app, &tests),
    )
    .await;
    let assigned = matches!(outcome, Outcome::Acknowledged { .. });
    record("assign", id.clone(), outcome);
    if !assigned {
        return;
    }
    let Some(link) = mailed_link(mail_dir, &email, "token=", since).await else {
        record("take", id, Outcome::Unknown);
        return;
    };
    let token = link.split("token=").nth(1).unwrap_or_default().to_owned();
    let answers = hiring::TestAnswers {
        token,
        test_id: test,
        answers: vec![1],
    };
    let outcome = attempt(
        ATTEMPTS,
        |_: &hiring::Recorded| id.clone(),
        || public.take(&answers),
    )
    .await;
    let taken = matches!(outcome, Outcome::Acknowledged { .. });
    record("take", id.clone(), outcome);
    if !taken {
        return;
    }
    if i.is_multiple_of(2) {
        let outcome = attempt(
            ATTEMPTS,
            |a: &hiring::Accepted| a.worker_id.to_string(),
            || manager.accept(app),
        )
        .await;
        record("hire", email, outcome);
    } else {
        let outcome = attempt(
            ATTEMPTS,
            |d: &hiring::Decided| d.application.to_string(),
            || manager.decline(app, "chaos: not this time"),
        )
        .await;
        record("decline", email, outcome);
    }
}

/// Orders the workload schedules inside today's check-in window (a quarter of an hour apart from
/// half an hour on: less than a day).
const SOON_ORDERS: i64 = 90;

/// The photo a worker checks in and completes with (a PNG's signature).
const PHOTO: &str = "iVBORw0KGgoAAAAAAAAAAA==";

/// One round of a worker: checks in to every active job scheduled before `until` (inside
/// the check-in window) whose kit was issued, completes every job in progress.
async fn work(
    worker: &OrderingClient,
    until: chrono::DateTime<chrono::Utc>,
    no_show_share: f64,
    record: &impl Fn(&'static str, String, Outcome),
) {
    let order_id = |o: &Order| o.id.to_string();
    for status in ["active", "in_progress"] {
        let query = JobsQuery {
            status: Some(status.into()),
            ..Default::default()
        };
        // A process being restarted may not answer: the next round looks again.
        let jobs = worker.jobs(&query).await.unwrap_or_default();
        for job in jobs.into_iter().filter(|j| j.scheduled_at < until) {
            if status == "active" {
                if no_show(job.id, no_show_share) {
                    continue;
                }
                if !worker.order(job.id).await.is_ok_and(|v| v.kit_issued) {
                    continue;
                }
                let req = CheckInRequest {
                    photo: PHOTO.into(),
                };
                let outcome = attempt(ATTEMPTS, order_id, || worker.check_in(job.id, &req)).await;
                let done = matches!(outcome, Outcome::Acknowledged { .. });
                record("check_in", job.id.to_string(), outcome);
                if !done {
                    continue;
                }
            }
            let req = CompleteRequest {
                report_photo: PHOTO.into(),
            };
            let outcome = attempt(ATTEMPTS, order_id, || worker.complete(job.id, &req)).await;
            record("complete", job.id.to_string(), outcome);
        }
    }
}

/// The managers' bets: what they opened and on which order, and what they closed.
#[derive(Default)]
struct Bets {
    /// Orders a bet was asked for (acknowledged or not: one try per order, its key the
    /// order's id).
    asked: std::collections::BTreeSet<OrderId>,
    /// Open bets by id, with their order.
    open: BTreeMap<contracts::BetId, OrderId>,
}

impl Bets {
    /// Opens a bet on one of today's active orders that has none, has each manager stake
    /// on it once, closes the bets whose orders ended.
    async fn round(
        &mut self,
        ordering: &OrderingClient,
        managers: &[BetsClient],
        actors: &Actors,
        time: &BusinessTime,
        record: &impl Fn(&'static str, String, Outcome),
    ) {
        let until = time.now() + chrono::Duration::days(1);
        let active = OrderListQuery {
            client_id: Some(actors.client_id.clone()),
            status: Some("active".into()),
            limit: Some(1000),
        };
        let orders = ordering.orders(&active).await.unwrap_or_default();
        if let Some(order) = orders
            .iter()
            .find(|o| o.scheduled_at < until && !self.asked.contains(&o.id))
        {
            self.asked.insert(order.id);
            let new = NewBet {
                order_id: order.id,
                stakes_close_at: None,
            };
            let key = format!("bet-{}", order.id);
            let outcome = attempt(
                ATTEMPTS,
                |b: &BetView| b.bet.id.to_string(),
                || managers[0].open(&new, Some(&key)),
            )
            .await;
            if let Outcome::Acknowledged { id } = &outcome
                && let Ok(bet) = id.parse()
            {
                self.open.insert(bet, order.id);
                for manager in managers {
                    let stake = {
                        let mut rng = rand::rng();
                        NewStake {
                            outcome: BetOutcome::ALL[rng.random_range(0..BetOutcome::ALL.len())],
                            amount: Money::from_minor(rng.random_range(1..=100)),
                        }
                    };
                    let key = uuid::Uuid::now_v7().to_string();
                    let outcome = attempt(
                        ATTEMPTS,
                        |s: &Stake| format!("{bet}/{}", s.id),
                        || manager.stake(bet, &stake, &key),
                    )
                    .await;
                    record("stake", key, outcome);
                }
            }
            record("bet", key, outcome);
        }
        let mut closed = Vec::new();
        for (&bet, &order) in &self.open {
            let ended = ordering.order(order).await.is_ok_and(|v| {
                matches!(
                    serde_json::to_value(v.order.status)
                        .ok()
                        .as_ref()
                        .and_then(|s| s.as_str()),
                    Some("completed" | "canceled" | "failed")
                )
            });
            if ended {
                let outcome = attempt(
                    ATTEMPTS,
                    |b: &BetView| b.bet.id.to_string(),
                    || managers[1].close(bet),
                )
                .await;
                if matches!(outcome, Outcome::Acknowledged { .. }) {
                    closed.push(bet);
                }
                record("close", bet.to_string(), outcome);
            }
        }
        for bet in closed {
            self.open.remove(&bet);
        }
    }
}

/// How often a write is sent while its answer is lost: half a second apart, enough to
/// outlast a process being restarted.
const ATTEMPTS: usize = 12;

/// Sends one write up to `attempts` times while the answer is lost (the same key each
/// time), and says what the system finally told.
async fn attempt<T, F, Fut>(attempts: usize, id: impl Fn(&T) -> String, mut call: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    for _ in 0..attempts {
        match call().await {
            Ok(v) => return Outcome::Acknowledged { id: id(&v) },
            Err(e) => match e.status() {
                Some(s) if s.is_client_error() && s.as_u16() != 429 => {
                    return Outcome::Refused {
                        status: s.as_u16(),
                        code: e.code().unwrap_or_default().to_owned(),
                    };
                }
                // A 5xx, a 429 or no answer: the same request again after a moment.
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            },
        }
    }
    Outcome::Unknown
}

/// Starts the workload's tasks against `system`'s first processes; they run until `stop`
/// is set, and the handle then gives what they were told. Nothing here borrows the system,
/// so the nemesis may kill and restart its processes meanwhile.
pub fn start(
    system: &System,
    actors: &Actors,
    pace: Pace,
    time: &BusinessTime,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<History> {
    let history = Arc::new(Mutex::new(History::default()));
    let record = {
        let history = history.clone();
        move |kind: &'static str, key: String, outcome: Outcome| {
            if let Ok(mut h) = history.lock() {
                h.ops.push(Op {
                    kind,
                    key,
                    outcome,
                    at: std::time::Instant::now(),
                });
            }
        }
    };
    let client = OrderingClient(Actors::at(system, "ordering", &actors.client));
    let billing = BillingClient(Actors::at(system, "billing", &actors.admin));
    let clerk = InventoryClient(Actors::at(system, "inventory", &actors.clerk));

    let orders = {
        let (stop, record, actors) = (stop.clone(), record.clone(), actors.clone());
        let time = time.clone();
        tokio::spawn(async move {
            let (mut slot, mut soon, mut moves) = (0i64, 0i64, 0u64);
            let mut from = time.now();
            while !stop.load(AtomicOrdering::Relaxed) {
                // Business time moved: schedule from the new now.
                if time.moves() != moves {
                    (slot, soon, moves, from) = (0, 0, time.moves(), time.now());
                }
                let key = uuid::Uuid::now_v7().to_string();
                // Every fourth order today, a quarter of an hour apart, while the day has room:
                // inside the check-in window, for the workers to do. The others an hour
                // apart from tomorrow on, so most orders find a free worker (those of
                // an earlier move still ahead may take some: they fail unmatched and are
                // rebooked).
                let scheduled_at = if slot % 4 == 0 && soon < SOON_ORDERS {
                    soon += 1;
                    from + chrono::Duration::minutes(30 + 15 * soon)
                } else {
                    from + chrono::Duration::days(1) + chrono::Duration::minutes(61 * slot)
                };
                slot += 1;
                let req = OrderRequest {
                    service_type_id: actors.service_type,
                    description: format!("chaos {key}"),
                    scheduled_at,
                };
                let outcome = attempt(
                    ATTEMPTS,
                    |o: &ordering::domain::order::Order| o.id.to_string(),
                    || client.request(&req, Some(&key)),
                )
                .await;
                let cancel = match &outcome {
                    Outcome::Acknowledged { id } if rand::rng().random_bool(pace.cancel_share) => {
                        id.parse::<OrderId>().ok()
                    }
                    _ => None,
                };
                record("order", key, outcome);
                if let Some(id) = cancel {
                    let req = CancelRequest {
                        reason: Some("chaos".into()),
                    };
                    let outcome = attempt(
                        ATTEMPTS,
                        |o: &ordering::domain::order::Order| o.id.to_string(),
                        || client.cancel(id, &req),
                    )
                    .await;
                    record("cancel", id.to_string(), outcome);
                }
                tokio::time::sleep(pace.order_every).await;
            }
        })
    };

    let awards = {
        let (stop, record, actors) = (stop.clone(), record.clone(), actors.clone());
        tokio::spawn(async move {
            while !stop.load(AtomicOrdering::Relaxed) {
                let key = uuid::Uuid::now_v7().to_string();
                let (worker, amount) = {
                    let mut rng = rand::rng();
                    (
                        actors.workers[rng.random_range(0..actors.workers.len())].0,
                        rng.random_range(1..=500),
                    )
                };
                let award = NewAward {
                    worker_id: worker,
                    amount: Money::from_minor(amount),
                    reason: format!("chaos award {key}"),
                };
                let outcome = attempt(
                    ATTEMPTS,
                    |a: &billing::domain::awards::Award| a.id.to_string(),
                    || billing.award(&award, &key),
                )
                .await;
                record("award", key, outcome);
                tokio::time::sleep(pace.award_every).await;
            }
        })
    };

    let issues = {
        let (stop, record) = (stop.clone(), record.clone());
        tokio::spawn(async move {
            while !stop.load(AtomicOrdering::Relaxed) {
                // A process being restarted may not answer: the next round looks again.
                let ready = clerk.kits(Some(KitState::Ready)).await.unwrap_or_default();
                for kit in ready {
                    let id = kit.kit.id;
                    let outcome = attempt(
                        3,
                        |k: &inventory::KitView| k.kit.id.to_string(),
                        || clerk.issue(id),
                    )
                    .await;
                    record("issue", id.to_string(), outcome);
                }
                tokio::time::sleep(pace.issue_every).await;
            }
        })
    };

    let bets = {
        let (stop, record, actors) = (stop.clone(), record.clone(), actors.clone());
        let time = time.clone();
        let ordering = OrderingClient(Actors::at(system, "ordering", &actors.admin));
        let managers: Vec<BetsClient> = actors
            .managers
            .iter()
            .map(|m| BetsClient(Actors::at(system, "bets", m)))
            .collect();
        tokio::spawn(async move {
            let mut bets = Bets::default();
            while !stop.load(AtomicOrdering::Relaxed) {
                bets.round(&ordering, &managers, &actors, &time, &record)
                    .await;
                tokio::time::sleep(pace.bet_every).await;
            }
        })
    };

    let clock = {
        let (stop, record, time) = (stop.clone(), record.clone(), time.clone());
        let ordering: Vec<OrderingClient> = system
            .apis_of("ordering")
            .into_iter()
            .map(|url| OrderingClient(Actors::at_url(url, &actors.admin)))
            .collect();
        let billing: Vec<BillingClient> = system
            .apis_of("billing")
            .into_iter()
            .map(|url| BillingClient(Actors::at_url(url, &actors.admin)))
            .collect();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(pace.clock_every).await;
                if stop.load(AtomicOrdering::Relaxed) {
                    break;
                }
                move_clock(&time, &ordering, &billing, &record).await;
            }
        })
    };

    let rebooks = {
        let (stop, record, time) = (stop.clone(), record.clone(), time.clone());
        let client = OrderingClient(Actors::at(system, "ordering", &actors.client));
        let query = OrderListQuery {
            client_id: Some(actors.client_id.clone()),
            status: Some("failed".into()),
            limit: Some(1000),
        };
        tokio::spawn(async move {
            // Failed orders the client has had an answer about (a copy, or a refusal).
            let mut answered = std::collections::BTreeSet::new();
            let mut n = 0i64;
            while !stop.load(AtomicOrdering::Relaxed) {
                let failed = client.orders(&query).await.unwrap_or_default();
                let open: Vec<&Order> = failed
                    .iter()
                    // Originals only: a copy failing again stays failed (a chain of copies
                    // through every move of business time would outgrow the run).
                    .filter(|o| {
                        o.rebooked_as.is_none()
                            && o.rebook_of.is_none()
                            && !answered.contains(&o.id)
                    })
                    .take(10)
                    .collect();
                for order in open {
                    n += 1;
                    let req = RebookRequest {
                        scheduled_at: time.now()
                            + chrono::Duration::days(1)
                            + chrono::Duration::minutes(7 * (n % 200)),
                    };
                    // Asking again returns the copy made before: safe to retry.
                    let outcome = attempt(
                        ATTEMPTS,
                        |o: &Order| o.id.to_string(),
                        || client.rebook(order.id, &req),
                    )
                    .await;
                    if !matches!(outcome, Outcome::Unknown) {
                        answered.insert(order.id);
                    }
                    record("rebook", order.id.to_string(), outcome);
                }
                tokio::time::sleep(pace.rebook_every).await;
            }
        })
    };

    let reviews = {
        let (stop, record) = (stop.clone(), record.clone());
        let quality = QualityClient(Actors::at(system, "quality", &actors.managers[0]));
        tokio::spawn(async move {
            let mut answered = std::collections::BTreeSet::new();
            let query = QueueQuery {
                reviewed: Some(false),
                reason: None,
                limit: Some(50),
            };
            while !stop.load(AtomicOrdering::Relaxed) {
                let queue = quality.queue(&query).await.unwrap_or_default();
                if let Some(entry) = queue.iter().find(|e| !answered.contains(&e.order_id)) {
                    let order = entry.order_id;
                    let form = ReviewForm {
                        what_happened: format!("chaos review of order {order}"),
                        client_contacted: false,
                        client_contact: String::new(),
                        findings: "none".into(),
                        verdict: Verdict::Inconclusive,
                        hypotheses: Vec::new(),
                    };
                    let key = format!("review-{order}");
                    let outcome = attempt(
                        ATTEMPTS,
                        |r: &quality::ReviewView| r.head.id.to_string(),
                        || quality.write_review(order, &form, Some(&key)),
                    )
                    .await;
                    if !matches!(outcome, Outcome::Unknown) {
                        answered.insert(order);
                    }
                    record("review", order.to_string(), outcome);
                }
                tokio::time::sleep(pace.review_every).await;
            }
        })
    };

    let hiring = {
        let (stop, record) = (stop.clone(), record.clone());
        let public = hiring::client::HiringClient(Client::new(system.api("hiring")));
        let manager =
            hiring::client::HiringClient(Actors::at(system, "hiring", &actors.managers[1]));
        let mail_dir = system.mail_dir();
        tokio::spawn(async move {
            let spec = chaos_test();
            let test = attempt(
                ATTEMPTS,
                |t: &hiring::domain::Test| t.id.to_string(),
                || manager.create_test(&spec, Some("chaos-test")),
            )
            .await;
            let Some(test) = (match &test {
                Outcome::Acknowledged { id } => id.parse::<contracts::TestId>().ok(),
                _ => None,
            }) else {
                record("test", "chaos-test".into(), test);
                return;
            };
            record(
                "test",
                "chaos-test".into(),
                Outcome::Acknowledged {
                    id: test.to_string(),
                },
            );
            let mut i = 0u64;
            while !stop.load(AtomicOrdering::Relaxed) {
                hire(i, &public, &manager, test, &mail_dir, &record).await;
                i += 1;
                tokio::time::sleep(pace.apply_every).await;
            }
        })
    };

    let mut tasks = vec![
        orders, awards, issues, bets, clock, rebooks, reviews, hiring,
    ];
    for (_, token) in &actors.workers {
        let worker = OrderingClient(Actors::at(system, "ordering", token));
        let (stop, record, time) = (stop.clone(), record.clone(), time.clone());
        let share = pace.no_show_share;
        tasks.push(tokio::spawn(async move {
            while !stop.load(AtomicOrdering::Relaxed) {
                let until = time.now() + chrono::Duration::days(1);
                work(&worker, until, share, &record).await;
                tokio::time::sleep(pace.work_every).await;
            }
        }));
    }
    tokio::spawn(async move {
        for task in tasks {
            let _ = task.await;
        }
        history.lock().map(|h| h.clone()).unwrap_or_default()
    })
}
