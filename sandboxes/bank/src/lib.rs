//! The bank "Gold Hat", as a real HTTP server for development and tests.
//!
//! The model, as simple as a real bank's API for a merchant that also pays its contractors:
//!
//! - A **payment method** belongs to someone who pays (a client): they register it at the bank
//!   (`POST /payment-methods`) and give MCF its token (`pm_...`). MCF collects from it: `POST
//!   /collections` with the token, an amount and a reference. A payment method registered with
//!   `declines: true` declines every collection (an empty card).
//! - An **account** belongs to someone who is paid (a worker): they open it at the bank
//!   (`POST /accounts`) and give MCF its number (`GH...`). MCF pays out to it: `POST
//!   /payouts` with the number, an amount and a reference; the account's balance grows.
//! - `GET /statement` lists every executed operation, oldest first, filtered by time
//!   (`since`, `until`: RFC 3339, `since` included, `until` not), by `key` and by `kind`
//!   (`collection` or `payout`): what a caller reconciles against when an answer was lost.
//!
//! Amounts are integer minor units (1 to [`MAX_AMOUNT`]); there is one currency. Both
//! operations take an `Idempotency-Key`: the same key with the same body executes nothing new
//! and answers the same operation again (201, header `Idempotent-Replayed: true`); the same key
//! with another body is refused (422 `idempotency_key_reused`). A refusal (declined, unknown
//! token, 503) executes nothing and keeps nothing under the key, so the key may be tried again.
//!
//! People use the bank's own pages ([`pages`]): a client adds a card and a worker opens an
//! account there, and the browser returns to the shop with the token or number.
//!
//! Faults can be switched on by flags or at run time (`PUT /faults`): a timeout after
//! executing, 500 after executing, a closed connection after executing, 503 before executing,
//! declined collections.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use sandbox_http::{Cut, Problem, problem};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// The largest amount one operation moves (minor units): far beyond any invoice, and small
/// enough that no balance can overflow before memory runs out.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The longest holder name or reference taken.
const MAX_TEXT: usize = 200;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// Money taken from a payment method.
    Collection,
    /// Money paid to an account.
    Payout,
}

/// Switchable faults. Those of the answer apply to the next `times` operations of the kind
/// `only` names (both kinds when absent), or to every one while `times` is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Execute, then wait this long before answering (longer than the caller's timeout: the
    /// caller sees a timeout although the money moved).
    pub slow_ms: u64,
    /// Execute, then answer 500: the money moved, the answer says it failed.
    pub error_after_work: bool,
    /// Execute, then close the connection without any answer.
    pub reset: bool,
    /// Answer 503 `unavailable` before executing anything.
    pub unavailable: bool,
    /// Decline collections (402 `declined`), nothing executed.
    pub decline: bool,
    /// The kind of operation the faults apply to (absent: both).
    pub only: Option<OperationKind>,
    /// How many more operations the faults apply to (absent: all, until switched off).
    pub times: Option<u32>,
}

impl Faults {
    /// Whether a fault is switched on for an operation of `kind` (a decline is one only for
    /// collections).
    fn apply_to(&self, kind: OperationKind) -> bool {
        let some = self.slow_ms > 0
            || self.error_after_work
            || self.reset
            || self.unavailable
            || (self.decline && kind == OperationKind::Collection);
        some && self.only.is_none_or(|k| k == kind)
    }
}

/// How the bank runs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The faults switched on at start.
    pub faults: Faults,
}

/// An account money is paid out to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its number (`GH` and 12 digits): what the holder gives MCF.
    pub number: String,
    pub holder: String,
    /// Everything paid in (minor units).
    pub balance: i64,
    pub opened_at: DateTime<Utc>,
}

/// A payment method money is collected from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// Its token (`pm_...`): what the holder gives MCF.
    pub token: String,
    pub holder: String,
    /// Declines every collection.
    pub declines: bool,
    /// Everything collected from it (minor units).
    pub collected: i64,
    pub registered_at: DateTime<Utc>,
}

/// `POST /accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub holder: String,
}

/// `POST /payment-methods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentMethod {
    pub holder: String,
    #[serde(default)]
    pub declines: bool,
}

/// `POST /collections`: take `amount` from `payment_method`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    pub payment_method: String,
    pub amount: i64,
    /// The caller's reference (say, the invoice), shown in the statement.
    pub reference: String,
}

/// `POST /payouts`: pay `amount` to `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payout {
    pub account: String,
    pub amount: i64,
    /// The caller's reference (say, the invoice), shown in the statement.
    pub reference: String,
}

/// An executed operation, as answered and as listed in the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub operation_id: String,
    pub kind: OperationKind,
    /// The caller's `Idempotency-Key`.
    pub key: String,
    pub amount: i64,
    /// The payment method collected from (collections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// The account paid to (payouts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub reference: String,
    pub executed_at: DateTime<Utc>,
}

/// `GET /statement`'s filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatementQuery {
    /// Executed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Executed before.
    pub until: Option<DateTime<Utc>>,
    pub key: Option<String>,
    pub kind: Option<OperationKind>,
}

impl StatementQuery {
    fn matches(&self, op: &Operation) -> bool {
        self.since.is_none_or(|t| op.executed_at >= t)
            && self.until.is_none_or(|t| op.executed_at < t)
            && self.key.as_ref().is_none_or(|k| &op.key == k)
            && self.kind.is_none_or(|k| op.kind == k)
    }
}

/// What an operation asked for: kept under its key to tell a replay from a reused key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Collection(Collection),
    Payout(Payout),
}

impl Asked {
    fn kind(&self) -> OperationKind {
        match self {
            Asked::Collection(_) => OperationKind::Collection,
            Asked::Payout(_) => OperationKind::Payout,
        }
    }
}

#[derive(Default)]
struct Book {
    accounts: BTreeMap<String, Account>,
    payment_methods: BTreeMap<String, PaymentMethod>,
    /// Executed operations, in the order executed.
    operations: Vec<Operation>,
    /// What each key asked for and the index of its operation.
    by_key: HashMap<String, (Asked, usize)>,
    faults: Faults,
}

/// Why an operation was not executed.
enum Refusal {
    Declined,
    UnknownPaymentMethod,
    UnknownAccount,
    KeyReused,
    TooMuch,
}

impl Refusal {
    fn answer(&self) -> Problem {
        match self {
            Refusal::Declined => Problem::new(
                StatusCode::PAYMENT_REQUIRED,
                "declined",
                "the payment method declined the collection",
            ),
            Refusal::UnknownPaymentMethod => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_payment_method",
                "payment_method: no such payment method at this bank",
            ),
            Refusal::UnknownAccount => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_account",
                "account: no such account at this bank",
            ),
            Refusal::KeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another operation",
            ),
            Refusal::TooMuch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit_exceeded",
                "the balance would exceed what this bank keeps",
            ),
        }
    }
}

/// A running bank's state: accounts, payment methods, operations and faults (clones share
/// it).
#[derive(Clone)]
pub struct Sandbox {
    book: Arc<Mutex<Book>>,
}

impl Sandbox {
    pub fn new(settings: Settings) -> Sandbox {
        Sandbox {
            book: Arc::new(Mutex::new(Book {
                faults: settings.faults,
                ..Book::default()
            })),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // A poisoned lock only means a panic elsewhere; every change to the book is made
        // after its checks, so it stays consistent.
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens an account for `holder`.
    pub fn open_account(&self, holder: &str) -> Account {
        let account = Account {
            number: format!(
                "GH{:012}",
                uuid::Uuid::now_v7().as_u128() % 1_000_000_000_000
            ),
            holder: holder.to_owned(),
            balance: 0,
            opened_at: Utc::now(),
        };
        self.book()
            .accounts
            .insert(account.number.clone(), account.clone());
        account
    }

    /// Registers a payment method for `holder` (one that declines every collection when
    /// `declines`).
    pub fn register_payment_method(&self, holder: &str, declines: bool) -> PaymentMethod {
        let method = PaymentMethod {
            token: format!("pm_{}", uuid::Uuid::now_v7().simple()),
            holder: holder.to_owned(),
            declines,
            collected: 0,
            registered_at: Utc::now(),
        };
        self.book()
            .payment_methods
            .insert(method.token.clone(), method.clone());
        method
    }

    /// The account numbered `number`.
    pub fn account(&self, number: &str) -> Option<Account> {
        self.book().accounts.get(number).cloned()
    }

    /// The payment method `token`.
    pub fn payment_method(&self, token: &str) -> Option<PaymentMethod> {
        self.book().payment_methods.get(token).cloned()
    }

    /// The executed operations `query` selects, oldest first.
    pub fn statement(&self, query: &StatementQuery) -> Vec<Operation> {
        self.book()
            .operations
            .iter()
            .filter(|op| query.matches(op))
            .cloned()
            .collect()
    }

    /// The faults switched on now.
    pub fn faults(&self) -> Faults {
        self.book().faults.clone()
    }

    /// Switches the faults to `faults`.
    pub fn set_faults(&self, faults: Faults) {
        self.book().faults = faults;
    }

    /// The HTTP API: `POST /accounts`, `GET /accounts/{number}`, `POST /payment-methods`,
    /// `GET /payment-methods/{token}`, `POST /collections`, `POST /payouts`, `GET
    /// /statement`, `GET|PUT /faults`; and the pages for people, `GET|POST /hosted/card` and
    /// `GET|POST /hosted/account` ([`pages`]).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/accounts", post(open_account))
            .route("/accounts/{number}", get(account))
            .route("/payment-methods", post(register_payment_method))
            .route("/payment-methods/{token}", get(payment_method))
            .route("/collections", post(operation::<Collection>))
            .route("/payouts", post(operation::<Payout>))
            .route("/statement", get(statement))
            .route("/faults", get(faults).put(put_faults))
            .merge(pages::routes())
            .with_state(self.clone())
    }

    /// Serves the API on `listener` until the task is dropped. Each connection is served on
    /// its own, so the `reset` fault can drop one without an answer.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        sandbox_http::serve("bank", self.router(), listener).await
    }

    /// Binds `listen` and serves there in the background: the bound address and the task
    /// (abort it to stop the bank).
    pub async fn start(
        self,
        listen: &str,
    ) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        sandbox_http::start("bank", self.router(), listen).await
    }

    /// Takes the faults for one operation of `kind` (counting `times` down when they apply).
    fn take_faults(&self, kind: OperationKind) -> Faults {
        let mut book = self.book();
        let faults = book.faults.clone();
        if !faults.apply_to(kind) || faults.times == Some(0) {
            return Faults::default();
        }
        if let Some(times) = faults.times {
            book.faults.times = Some(times - 1);
        }
        faults
    }

    /// Executes `asked` under `key` unless the key has it already: the operation and whether
    /// it was executed now.
    fn execute(
        &self,
        key: &str,
        asked: Asked,
        decline: bool,
    ) -> Result<(Operation, bool), Refusal> {
        let mut book = self.book();
        if let Some((before, index)) = book.by_key.get(key) {
            if *before != asked {
                return Err(Refusal::KeyReused);
            }
            return Ok((book.operations[*index].clone(), false));
        }
        let now = Utc::now();
        let mut operation = Operation {
            operation_id: format!("op_{}", uuid::Uuid::now_v7().simple()),
            kind: asked.kind(),
            key: key.to_owned(),
            amount: 0,
            payment_method: None,
            account: None,
            reference: String::new(),
            executed_at: now,
        };
        match &asked {
            Asked::Collection(c) => {
                let method = book
                    .payment_methods
                    .get_mut(&c.payment_method)
                    .ok_or(Refusal::UnknownPaymentMethod)?;
                if decline || method.declines {
                    return Err(Refusal::Declined);
                }
                method.collected = method
                    .collected
                    .checked_add(c.amount)
                    .ok_or(Refusal::TooMuch)?;
                operation.amount = c.amount;
                operation.payment_method = Some(c.payment_method.clone());
                operation.reference = c.reference.clone();
            }
            Asked::Payout(p) => {
                let account = book
                    .accounts
                    .get_mut(&p.account)
                    .ok_or(Refusal::UnknownAccount)?;
                account.balance = account
                    .balance
                    .checked_add(p.amount)
                    .ok_or(Refusal::TooMuch)?;
                operation.amount = p.amount;
                operation.account = Some(p.account.clone());
                operation.reference = p.reference.clone();
            }
        }
        let index = book.operations.len();
        book.operations.push(operation.clone());
        book.by_key.insert(key.to_owned(), (asked, index));
        Ok((operation, true))
    }
}

/// Checks an amount and a reference: the refusal when one is out of bounds.
fn checked(amount: i64, reference: &str) -> Result<(), Problem> {
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            "amount: from 1 to 1000000000000 minor units",
        ));
    }
    if reference.trim().is_empty() || reference.len() > MAX_TEXT {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reference",
            "reference: 1 to 200 characters",
        ));
    }
    Ok(())
}

fn holder(holder: &str) -> Result<(), Problem> {
    if holder.trim().is_empty() || holder.len() > MAX_TEXT {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_holder",
            "holder: 1 to 200 characters",
        ));
    }
    Ok(())
}

fn parsed<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            e.to_string(),
        )
    })
}

async fn open_account(State(bank): State<Sandbox>, body: Bytes) -> Result<Response, Problem> {
    let asked: NewAccount = parsed(&body)?;
    holder(&asked.holder)?;
    Ok((StatusCode::CREATED, Json(bank.open_account(&asked.holder))).into_response())
}

async fn account(State(bank): State<Sandbox>, Path(number): Path<String>) -> Response {
    match bank.account(&number) {
        Some(account) => Json(account).into_response(),
        None => problem(StatusCode::NOT_FOUND, "not_found", "no such account"),
    }
}

async fn register_payment_method(
    State(bank): State<Sandbox>,
    body: Bytes,
) -> Result<Response, Problem> {
    let asked: NewPaymentMethod = parsed(&body)?;
    holder(&asked.holder)?;
    let method = bank.register_payment_method(&asked.holder, asked.declines);
    Ok((StatusCode::CREATED, Json(method)).into_response())
}

async fn payment_method(State(bank): State<Sandbox>, Path(token): Path<String>) -> Response {
    match bank.payment_method(&token) {
        Some(method) => Json(method).into_response(),
        None => problem(StatusCode::NOT_FOUND, "not_found", "no such payment method"),
    }
}

/// A body of `POST /collections` or `POST /payouts`, checked into what it asks.
trait Asking: serde::de::DeserializeOwned {
    fn asked(self) -> Result<Asked, Problem>;
}

impl Asking for Collection {
    fn asked(self) -> Result<Asked, Problem> {
        checked(self.amount, &self.reference)?;
        Ok(Asked::Collection(self))
    }
}

impl Asking for Payout {
    fn asked(self) -> Result<Asked, Problem> {
        checked(self.amount, &self.reference)?;
        Ok(Asked::Payout(self))
    }
}

/// `POST /collections` (`T` = [`Collection`]) and `POST /payouts` ([`Payout`]).
async fn operation<T: Asking>(
    State(bank): State<Sandbox>,
    cut: Option<axum::Extension<Cut>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let key = sandbox_http::idempotency_key(&headers)?;
    let asked = parsed::<T>(&body)?.asked()?;
    Ok(operate(bank, cut, key, asked).await)
}

/// One collection or payout under `key`: the faults before executing, the execution (or the
/// replay of the key's operation), the faults after it, the answer.
async fn operate(
    bank: Sandbox,
    cut: Option<axum::Extension<Cut>>,
    key: String,
    asked: Asked,
) -> Response {
    let faults = bank.take_faults(asked.kind());
    if faults.unavailable {
        let mut refused = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the bank is unavailable; nothing was executed (sandbox fault)",
        );
        refused
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return refused;
    }
    let (operation, new) = match bank.execute(&key, asked, faults.decline) {
        Ok(done) => done,
        Err(refusal) => return refusal.answer().into_response(),
    };
    if faults.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    if faults.reset
        && let Some(axum::Extension(cut)) = cut
    {
        cut.drop_connection().await;
    }
    if faults.error_after_work {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the bank's answer was lost (sandbox fault)",
        );
    }
    let mut answer = (StatusCode::CREATED, Json(operation)).into_response();
    if !new {
        answer
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    answer
}

async fn statement(
    State(bank): State<Sandbox>,
    query: Result<Query<StatementQuery>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(query)) => Json(bank.statement(&query)).into_response(),
        Err(e) => problem(StatusCode::BAD_REQUEST, "invalid_query", &e.body_text()),
    }
}

async fn faults(State(bank): State<Sandbox>) -> Json<Faults> {
    Json(bank.faults())
}

async fn put_faults(State(bank): State<Sandbox>, body: Bytes) -> Result<Json<Faults>, Problem> {
    let faults: Faults = parsed(&body)?;
    bank.set_faults(faults.clone());
    Ok(Json(faults))
}

pub mod pages;

#[cfg(test)]
mod tests;
