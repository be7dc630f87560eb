//! Bets in-process (`service::testing`) against a real Ordering (in-process, called with
//! Bets' service token, as Bets calls it) and a fake Billing that books each key once and
//! can be down, lose its answers, or refuse a manager. Written given / when / then; every
//! answer of Bets is checked against its OpenAPI document by the kit.

mod access;
mod bets;
mod faults;
mod stakes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as Atomic};
use std::sync::{Arc, Mutex};

use auth::Role;
use bytes::Bytes;
use chrono::Duration;
use client::{Client, ClientError, Sending, Transport};
use contracts::bets::Outcome;
use contracts::{AccountId, BetId, Money, OrderId, WorkerId};
use ordering::client::{CancelRequest, CheckInRequest, CompleteRequest, OrderingClient};
use ordering::domain::order::OrderRequest;
use ordering::domain::service_type::NewServiceType;
use serde_json::{Value, json};
use service::testing::{ADMIN_ID, RouterTransport, TestService};
use service::{Clock, Peers};

use crate::client::{BetsClient, NewBet};
use crate::domain::{NewStake, Stake};
use crate::{App, BetsConfig};

/// A one-pixel PNG, base64: a check-in photo and a signed report.
const PHOTO: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";

/// Bets' own account (its service token's subject).
const BETS_ID: &str = "00000000-0000-7000-8000-0000000000b5";

/// What the fake Billing booked and how it behaves.
#[derive(Default)]
struct Ledger {
    /// No answer at all (connection refused): nothing booked.
    down: AtomicBool,
    /// Books, then the answer is lost (connection reset).
    lose_answers: AtomicBool,
    /// Managers without a payment account: their stakes are refused (409 `no_account`).
    refused: Mutex<BTreeSet<String>>,
    /// Idempotency-Key -> (path, body), each booked once.
    booked: Mutex<BTreeMap<String, (String, Value)>>,
    /// Every request that reached it, booked or replayed.
    calls: AtomicUsize,
}

impl Ledger {
    /// What was booked at `path` (`/bets/stakes`, `/bets/payouts`, `/bets/unwon`).
    fn booked(&self, path: &str) -> Vec<Value> {
        self.booked
            .lock()
            .unwrap()
            .values()
            .filter(|(p, _)| p.ends_with(path))
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Booked winnings per manager, and the unwon pool.
    fn paid(&self) -> (BTreeMap<String, i64>, i64) {
        let mut winnings = BTreeMap::new();
        for p in self.booked("/bets/payouts") {
            *winnings
                .entry(p["manager_id"].as_str().unwrap().to_owned())
                .or_insert(0) += p["amount"].as_i64().unwrap();
        }
        let unwon = self
            .booked("/bets/unwon")
            .iter()
            .map(|p| p["amount"].as_i64().unwrap())
            .sum();
        (winnings, unwon)
    }
}

fn answer(status: u16, body: Value, problem: bool) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    let media = if problem {
        "application/problem+json"
    } else {
        "application/json"
    };
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static(media));
    response
}

/// The fake Billing: the three routes Bets calls.
#[derive(Clone)]
struct FakeBilling(Arc<Ledger>);

impl Transport for FakeBilling {
    fn send(&self, request: http::Request<Bytes>) -> Sending<'_> {
        let ledger = self.0.clone();
        Box::pin(async move {
            ledger.calls.fetch_add(1, Atomic::SeqCst);
            if ledger.down.load(Atomic::SeqCst) {
                return Err("connection refused".into());
            }
            let path = request.uri().path().to_owned();
            let key = request
                .headers()
                .get("idempotency-key")
                .and_then(|k| k.to_str().ok())
                .ok_or("no Idempotency-Key")?
                .to_owned();
            let body: Value = serde_json::from_slice(request.body()).map_err(|e| e.to_string())?;
            let manager = body["manager_id"].as_str().unwrap_or_default().to_owned();
            if path.ends_with("/bets/stakes") && ledger.refused.lock().unwrap().contains(&manager) {
                let problem = json!({"type": "about:blank", "title": "Conflict", "status": 409,
                    "code": "no_account", "detail": "the manager has no payment account"});
                return Ok(answer(409, problem, true));
            }
            let first = {
                let mut booked = ledger.booked.lock().unwrap();
                let entry = booked
                    .entry(key.clone())
                    .or_insert((path.clone(), body.clone()));
                entry.1 == body
            };
            if !first {
                let problem = json!({"type": "about:blank", "title": "Unprocessable Entity",
                    "status": 422, "code": "idempotency_key_reused", "detail": "reused"});
                return Ok(answer(422, problem, true));
            }
            if ledger.lose_answers.load(Atomic::SeqCst) {
                return Err("connection reset after the request was read".into());
            }
            // Billing's BetBooking, as its typed client reads it.
            let kind = match path.rsplit('/').next() {
                Some("stakes") => "bet_stake",
                Some("payouts") => "bet_winning",
                _ => "bet_unwon",
            };
            let booking = json!({"entry_id": format!("{kind}:{key}"), "kind": kind,
                "bet_id": body["bet_id"], "amount": body["amount"],
                "booked_at": "2026-11-30T09:00:00Z"});
            Ok(answer(201, booking, false))
        })
    }
}

/// A transport that can be switched off (the peer down: no answer).
#[derive(Clone)]
struct Switch {
    inner: RouterTransport,
    down: Arc<AtomicBool>,
}

impl Transport for Switch {
    fn send(&self, request: http::Request<Bytes>) -> Sending<'_> {
        Box::pin(async move {
            if self.down.load(Atomic::SeqCst) {
                return Err("connection refused".into());
            }
            self.inner.send(request).await
        })
    }
}

/// Bets with its peers: a real Ordering in-process and the fake Billing.
struct World {
    bets: TestService,
    ordering: TestService,
    billing: Arc<Ledger>,
    ordering_down: Arc<AtomicBool>,
}

impl World {
    async fn new() -> World {
        let ordering = TestService::builder(&ordering::SPEC).start().await;
        let ordering_down = Arc::new(AtomicBool::new(false));
        let to_ordering = Client::over(
            ordering.ctx().public_url.clone(),
            Switch {
                inner: RouterTransport::new(ordering.router()),
                down: ordering_down.clone(),
            },
        )
        .with_token(ordering.token(BETS_ID, &[Role::Service]));
        let billing = Arc::new(Ledger::default());
        let to_billing = Client::over(
            "http://billing.test/api/billing",
            FakeBilling(billing.clone()),
        );
        let bets = TestService::builder(&crate::SPEC)
            .clock(Clock::adjustable())
            // Fast retries: the tests' peers are in this process.
            .section(json!({"call_attempts": 2, "call_backoff_ms": 0}))
            .peers(Peers::fixed([
                ("ordering", to_ordering),
                ("billing", to_billing),
            ]))
            .start()
            .await;
        World {
            bets,
            ordering,
            billing,
            ordering_down,
        }
    }

    fn manager(&self, id: AccountId) -> BetsClient {
        BetsClient(self.bets.client_as(id, &[Role::Manager]))
    }

    fn as_role(&self, role: Role) -> BetsClient {
        BetsClient(self.bets.client_as(AccountId::new(), &[role]))
    }

    fn admin(&self) -> BetsClient {
        BetsClient(self.bets.client_as(ADMIN_ID, &[Role::Admin]))
    }

    /// The use cases' state, as `build` makes it (for the sweep).
    fn app(&self) -> App {
        App {
            ctx: self.bets.ctx().clone(),
            config: Arc::new(BetsConfig {
                call_attempts: 2,
                call_backoff_ms: 0,
                ..BetsConfig::default()
            }),
        }
    }

    fn ordering_admin(&self) -> OrderingClient {
        OrderingClient(self.ordering.client_as(ADMIN_ID, &[Role::Admin]))
    }

    /// Given a client's order in 10 minutes (check-in open): still requested.
    async fn requested_order(&self) -> (OrderId, OrderingClient) {
        let new = NewServiceType {
            name: format!("Cleaning {}", uuid_tail()),
            description: String::new(),
            skill: None,
            price: Money::from_minor(100),
            duration_minutes: 60,
        };
        let st = self
            .ordering_admin()
            .add_service_type(&new, None)
            .await
            .unwrap();
        let client = OrderingClient(self.ordering.client_as(AccountId::new(), &[Role::Client]));
        let at = self.ordering.ctx().clock.now() + Duration::minutes(10);
        let req = OrderRequest {
            service_type_id: st.id,
            description: "dishes".into(),
            scheduled_at: at,
        };
        (client.request(&req, None).await.unwrap().id, client)
    }

    /// Given an active order (Matching assigned a worker): its id, its client, its worker.
    async fn active_order(&self) -> (OrderId, OrderingClient, WorkerId) {
        let (order, client) = self.requested_order().await;
        let worker = WorkerId::new();
        let assigned = contracts::matching::WorkerAssigned {
            order_id: order,
            worker_id: worker,
            price: Money::from_minor(100),
            fallback: false,
            candidates: 1,
            explanation: vec![],
        };
        let handler = Arc::new(ordering::events::OnWorkerAssigned {
            clock: self.ordering.ctx().clock.clone(),
        });
        let consumer = self
            .ordering
            .ctx()
            .consumer(ordering::events::ON_ASSIGNMENT, handler);
        let event = contracts::Envelope::new(&assigned, 1, None);
        service::testing::deliver(&consumer, &event).await;
        (order, client, worker)
    }

    /// The order's client cancels it.
    async fn cancel(&self, client: &OrderingClient, order: OrderId) {
        client
            .cancel(order, &CancelRequest { reason: None })
            .await
            .unwrap();
    }

    /// The order's worker checks in (its kit issued) and completes it.
    async fn complete(&self, order: OrderId, worker: WorkerId) {
        let issued = contracts::inventory::KitIssued {
            kit_id: contracts::KitId::new(),
            order_id: order,
            issued_by: AccountId::new(),
            issued_at: self.ordering.ctx().clock.now(),
            items: vec![],
        };
        let consumer = self.ordering.ctx().consumer(
            ordering::events::ON_KIT_ISSUED,
            Arc::new(ordering::events::OnKitIssued),
        );
        service::testing::deliver(&consumer, &contracts::Envelope::new(&issued, 2, None)).await;
        let worker = OrderingClient(self.ordering.client_as(worker, &[Role::Worker]));
        let photo = CheckInRequest {
            photo: PHOTO.into(),
        };
        worker.check_in(order, &photo).await.unwrap();
        let report = CompleteRequest {
            report_photo: PHOTO.into(),
        };
        worker.complete(order, &report).await.unwrap();
    }

    /// Given an open bet on an active order: the bet, the order, its client and worker.
    async fn open_bet(&self) -> (BetId, OrderId, OrderingClient, WorkerId) {
        let (order, client, worker) = self.active_order().await;
        let new = NewBet {
            order_id: order,
            stakes_close_at: None,
        };
        let bet = self
            .manager(AccountId::new())
            .open(&new, None)
            .await
            .unwrap();
        (bet.bet.id, order, client, worker)
    }

    /// Rows of Bets' table `table`.
    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        storage::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.bets.ctx().db.pool())
            .await
            .unwrap()
    }
}

fn uuid_tail() -> String {
    AccountId::new().to_string()[24..].to_owned()
}

fn stake(outcome: Outcome, amount: i64) -> NewStake {
    NewStake {
        outcome,
        amount: Money::from_minor(amount),
    }
}

fn refusal(e: &ClientError) -> (u16, Option<&str>, Option<&str>) {
    let status = e.status().map_or(0, |s| s.as_u16());
    (status, e.code(), e.field())
}

/// `manager` stakes under a fresh key.
async fn place(w: &World, manager: AccountId, bet: BetId, new: &NewStake) -> Stake {
    w.manager(manager)
        .stake(bet, new, &format!("stake-{}", uuid_tail()))
        .await
        .unwrap()
}
