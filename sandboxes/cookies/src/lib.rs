//! The fortune-cookie contractor, as a real HTTP server for development and tests.
//!
//! Inventory orders one cookie per supply kit: `POST /cookies` with the client's details, an
//! `Idempotency-Key` (the kit) and a callback URL. The contractor answers 202 with its cookie
//! id at once and bakes; after the delivery delay (10 minutes by default, as the real one)
//! the cookie is delivered and the contractor calls back, signing the body with HMAC-SHA256
//! under the shared secret (`X-Cookie-Signature: sha256=<hex>`). `GET /cookies/{id}` answers
//! the cookie's state for callers that poll; `GET /baked` lists every cookie baked, so a test
//! can count them.
//!
//! `DELETE /cookies/by-key/{key}` cancels a cookie still on its way.
//!
//! The same key twice bakes nothing new and answers the same. Faults can be switched on by
//! flags or at run time (`PUT /faults`): slow answers, 500 after the work was done, a closed
//! connection without an answer, refusals, duplicate, late or lost callbacks.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sandbox_http::{Cut, problem};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::net::TcpListener;

/// The header carrying a callback's signature: `sha256=` and the hex HMAC-SHA256 of the body
/// under the shared secret.
pub const SIGNATURE_HEADER: &str = "x-cookie-signature";

/// How often a callback is tried before the contractor gives up on it (the caller can still
/// poll), and the first pause between tries (doubling).
const CALLBACK_TRIES: u32 = 5;
const CALLBACK_PAUSE: Duration = Duration::from_millis(500);

/// Switchable faults. Those of the answer (`slow_ms`, `error_after_work`, `reset`,
/// `refuse`) apply to the next `times` orders, or to every order while `times` is absent;
/// those of the callback are taken by each cookie when it is baked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Bake, then wait this long before answering (longer than the caller's timeout: the
    /// caller sees a timeout although the cookie is in the oven).
    pub slow_ms: u64,
    /// Bake, then answer 500: the work is done, the answer says it failed.
    pub error_after_work: bool,
    /// Bake, then close the connection without any answer.
    pub reset: bool,
    /// Refuse: 422 `cannot_bake` ("cannot bake for this client"), nothing baked.
    pub refuse: bool,
    /// Call back twice for every delivered cookie.
    pub duplicate_callbacks: bool,
    /// Call back this long after the delivery (the cookie shows as delivered meanwhile).
    pub late_callback_ms: u64,
    /// Never call back (only polling finds the delivered cookie).
    pub lost_callbacks: bool,
    /// How many more orders the answer faults apply to (absent: all, until switched off).
    pub times: Option<u32>,
}

impl Faults {
    fn answer_faults(&self) -> bool {
        self.slow_ms > 0 || self.error_after_work || self.reset || self.refuse
    }
}

/// How the contractor runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From baking to delivery (the real contractor takes about 10 minutes).
    pub delay: Duration,
    /// The secret shared with the caller: callbacks are signed with it.
    pub secret: String,
    /// The faults switched on at start.
    pub faults: Faults,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            delay: Duration::from_secs(600),
            secret: "sandbox-cookie-secret".into(),
            faults: Faults::default(),
        }
    }
}

/// Where a cookie is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieState {
    /// In the oven, on its way.
    Baking,
    /// Delivered to the warehouse.
    Delivered,
    /// The contractor would not bake for this client.
    Refused,
    /// Canceled by the caller before delivery: it will not come.
    Canceled,
}

/// An order as the caller sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieOrder {
    pub client_name: String,
    pub client_email: String,
    pub order_id: String,
    /// Where to call back once delivered (`http://` or `https://`).
    pub callback_url: String,
}

/// A cookie as the contractor records and shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    pub cookie_id: String,
    /// The caller's `Idempotency-Key` (Inventory's kit id).
    pub key: String,
    pub order_id: String,
    pub client_name: String,
    pub client_email: String,
    pub state: CookieState,
    /// When it was ordered (and went into the oven, unless refused).
    pub ordered_at: DateTime<Utc>,
    /// When it is (or was) delivered; `None` when refused.
    pub deliver_at: Option<DateTime<Utc>>,
    /// Callbacks the caller answered with 2xx.
    pub callbacks_acknowledged: u32,
}

/// The body of a callback (and of `GET /cookies/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub cookie_id: String,
    pub key: String,
    pub order_id: String,
    pub state: CookieState,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Cookie> for Delivery {
    fn from(c: &Cookie) -> Self {
        Delivery {
            cookie_id: c.cookie_id.clone(),
            key: c.key.clone(),
            order_id: c.order_id.clone(),
            state: c.state,
            delivered_at: (c.state == CookieState::Delivered)
                .then_some(c.deliver_at)
                .flatten(),
        }
    }
}

/// The answer to `POST /cookies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub cookie_id: String,
    pub state: CookieState,
    pub deliver_at: DateTime<Utc>,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: the value of
/// [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error cannot happen.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Default)]
struct Book {
    /// Cookie ids by the caller's key (refusals are not kept under the key: nothing was
    /// done, so a later try is a new order).
    by_key: HashMap<String, String>,
    cookies: BTreeMap<String, Cookie>,
    faults: Faults,
}

struct Shared {
    delay: Duration,
    secret: String,
    book: Mutex<Book>,
    http: reqwest::Client,
}

/// A running contractor's state: what it baked and its faults (clones share it).
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Sandbox {
    pub fn new(settings: Settings) -> Sandbox {
        Sandbox {
            shared: Arc::new(Shared {
                delay: settings.delay,
                secret: settings.secret,
                book: Mutex::new(Book {
                    faults: settings.faults,
                    ..Book::default()
                }),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
            }),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // A poisoned lock only means a panic elsewhere; the book itself stays consistent
        // (every change is one assignment).
        self.shared
            .book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every cookie baked (refusals are not), oldest first.
    pub fn baked(&self) -> Vec<Cookie> {
        let mut baked: Vec<Cookie> = self
            .book()
            .cookies
            .values()
            .filter(|c| c.state != CookieState::Refused)
            .cloned()
            .collect();
        baked.sort_by(|a, b| (a.ordered_at, &a.cookie_id).cmp(&(b.ordered_at, &b.cookie_id)));
        baked
    }

    /// The faults switched on now.
    pub fn faults(&self) -> Faults {
        self.book().faults.clone()
    }

    /// Switches the faults to `faults`.
    pub fn set_faults(&self, faults: Faults) {
        self.book().faults = faults;
    }

    /// The HTTP API: `POST /cookies`, `GET /cookies/{id}`, `DELETE /cookies/by-key/{key}`,
    /// `GET /baked`, `GET|PUT /faults`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cookies", post(order))
            .route("/cookies/{id}", get(cookie))
            .route("/cookies/by-key/{key}", axum::routing::delete(cancel))
            .route("/baked", get(baked))
            .route("/faults", get(faults).put(put_faults))
            .with_state(self.clone())
    }

    /// Serves the API on `listener` until the task is dropped. Each connection is served on
    /// its own, so the `reset` fault can drop one without an answer.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        sandbox_http::serve("cookie", self.router(), listener).await
    }

    /// Binds `listen` and serves there in the background: the bound address and the task
    /// (abort it to stop the contractor).
    pub async fn start(
        self,
        listen: &str,
    ) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        sandbox_http::start("cookie", self.router(), listen).await
    }

    /// Bakes the cookie of `order` under `key` unless that key has one: the cookie, and
    /// whether it is new.
    fn bake(&self, key: &str, order: &CookieOrder) -> (Cookie, bool) {
        let mut book = self.book();
        if let Some(cookie) = book.by_key.get(key).and_then(|id| book.cookies.get(id)) {
            return (cookie.clone(), false);
        }
        let now = Utc::now();
        let cookie = Cookie {
            cookie_id: uuid::Uuid::now_v7().to_string(),
            key: key.to_owned(),
            order_id: order.order_id.clone(),
            client_name: order.client_name.clone(),
            client_email: order.client_email.clone(),
            state: CookieState::Baking,
            ordered_at: now,
            deliver_at: Some(
                now + chrono::Duration::from_std(self.shared.delay).unwrap_or_default(),
            ),
            callbacks_acknowledged: 0,
        };
        book.by_key.insert(key.to_owned(), cookie.cookie_id.clone());
        book.cookies
            .insert(cookie.cookie_id.clone(), cookie.clone());
        (cookie, true)
    }

    /// Delivers `cookie` after the delay, then calls back as the faults taken now say.
    fn deliver_later(&self, cookie_id: String, callback_url: String) {
        let faults = self.faults();
        let sandbox = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(sandbox.shared.delay).await;
            let delivery = {
                let mut book = sandbox.book();
                let Some(cookie) = book.cookies.get_mut(&cookie_id) else {
                    return;
                };
                if cookie.state == CookieState::Canceled {
                    return;
                }
                cookie.state = CookieState::Delivered;
                Delivery::from(&*cookie)
            };
            if faults.lost_callbacks {
                return;
            }
            tokio::time::sleep(Duration::from_millis(faults.late_callback_ms)).await;
            let calls = if faults.duplicate_callbacks { 2 } else { 1 };
            for _ in 0..calls {
                if sandbox.call_back(&callback_url, &delivery).await {
                    let mut book = sandbox.book();
                    if let Some(cookie) = book.cookies.get_mut(&cookie_id) {
                        cookie.callbacks_acknowledged += 1;
                    }
                }
            }
        });
    }

    /// Posts `delivery` signed to `url`, a few times with growing pauses until it is
    /// answered 2xx: whether it was.
    async fn call_back(&self, url: &str, delivery: &Delivery) -> bool {
        let body = match serde_json::to_vec(delivery) {
            Ok(body) => body,
            Err(_) => return false,
        };
        let signature = sign(&self.shared.secret, &body);
        let mut pause = CALLBACK_PAUSE;
        for _ in 0..CALLBACK_TRIES {
            let sent = self
                .shared
                .http
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => tracing::debug!(status = %r.status(), url, "cookie callback refused"),
                Err(e) => tracing::debug!(error = %e, url, "cookie callback failed"),
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        false
    }

    /// Takes the answer faults for one order (counting `times` down).
    fn take_answer_faults(&self) -> Faults {
        let mut book = self.book();
        let faults = book.faults.clone();
        if !faults.answer_faults() {
            return faults;
        }
        if let Some(times) = book.faults.times {
            if times == 0 {
                return Faults {
                    slow_ms: 0,
                    error_after_work: false,
                    reset: false,
                    refuse: false,
                    ..faults
                };
            }
            book.faults.times = Some(times - 1);
        }
        faults
    }
}

async fn order(
    State(sandbox): State<Sandbox>,
    cut: Option<axum::Extension<Cut>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match sandbox_http::idempotency_key(&headers) {
        Ok(key) => key,
        Err(refused) => return refused.into_response(),
    };
    let order: CookieOrder = match serde_json::from_slice(&body) {
        Ok(order) => order,
        Err(e) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                &e.to_string(),
            );
        }
    };
    if !(order.callback_url.starts_with("http://") || order.callback_url.starts_with("https://")) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_callback_url",
            "callback_url: must be an http:// or https:// URL",
        );
    }
    let faults = sandbox.take_answer_faults();
    if faults.refuse {
        // Recorded so `GET /cookies/{id}` can show it, but not under the key: nothing was
        // baked, so the same key may be tried again.
        let now = Utc::now();
        let refused = Cookie {
            cookie_id: uuid::Uuid::now_v7().to_string(),
            key,
            order_id: order.order_id,
            client_name: order.client_name,
            client_email: order.client_email,
            state: CookieState::Refused,
            ordered_at: now,
            deliver_at: None,
            callbacks_acknowledged: 0,
        };
        sandbox
            .book()
            .cookies
            .insert(refused.cookie_id.clone(), refused);
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_bake",
            "cannot bake for this client",
        );
    }
    let (cookie, new) = sandbox.bake(&key, &order);
    if new {
        sandbox.deliver_later(cookie.cookie_id.clone(), order.callback_url.clone());
    }
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
            "the oven's answer was lost (sandbox fault)",
        );
    }
    let accepted = Accepted {
        cookie_id: cookie.cookie_id,
        state: cookie.state,
        deliver_at: cookie.deliver_at.unwrap_or(cookie.ordered_at),
    };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

async fn cookie(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sandbox.book().cookies.get(&id) {
        Some(cookie) => Json(Delivery::from(cookie)).into_response(),
        None => problem(StatusCode::NOT_FOUND, "not_found", "no such cookie"),
    }
}

/// `DELETE /cookies/by-key/{key}`: cancels the cookie ordered under `key` while it is on
/// its way (200 with it, canceled; again: the same); 404 when nothing was baked under the
/// key, 409 `already_delivered` once it was delivered.
async fn cancel(State(sandbox): State<Sandbox>, Path(key): Path<String>) -> Response {
    let mut book = sandbox.book();
    let Some(id) = book.by_key.get(&key).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no cookie under this key",
        );
    };
    let Some(cookie) = book.cookies.get_mut(&id) else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no cookie under this key",
        );
    };
    if cookie.state == CookieState::Delivered {
        return problem(
            StatusCode::CONFLICT,
            "already_delivered",
            "the cookie was delivered already",
        );
    }
    cookie.state = CookieState::Canceled;
    Json(Delivery::from(&*cookie)).into_response()
}

async fn baked(State(sandbox): State<Sandbox>) -> Json<Vec<Cookie>> {
    Json(sandbox.baked())
}

async fn faults(State(sandbox): State<Sandbox>) -> Json<Faults> {
    Json(sandbox.faults())
}

async fn put_faults(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            sandbox.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            &e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn sandbox(faults: Faults) -> Sandbox {
        Sandbox::new(Settings {
            delay: Duration::from_secs(600),
            secret: "s".into(),
            faults,
        })
    }

    async fn call(
        s: &Sandbox,
        method: &str,
        uri: &str,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let order = serde_json::json!({"client_name": "Kim", "client_email": "kim@x.test",
            "order_id": "o-1", "callback_url": "http://127.0.0.1:1/cb"});
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let body = if method == "POST" {
            Body::from(order.to_string())
        } else {
            Body::empty()
        };
        let response = s
            .router()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn given_the_same_key_twice_then_one_cookie_is_baked_and_the_answer_is_the_same() {
        let s = sandbox(Faults::default());
        let (first, a) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        let (second, b) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        assert_eq!((first, second), (202, 202));
        assert_eq!(a["cookie_id"], b["cookie_id"]);
        assert_eq!(s.baked().len(), 1);
        // And without a key nothing is baked
        let (status, problem) = call(&s, "POST", "/cookies", None).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("idempotency_key_missing"))
        );
        assert_eq!(s.baked().len(), 1);
    }

    #[tokio::test]
    async fn given_a_500_after_work_for_one_order_then_the_retry_answers_the_baked_cookie() {
        let s = sandbox(Faults {
            error_after_work: true,
            times: Some(1),
            ..Faults::default()
        });
        let (failed, _) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        let (ok, answer) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        assert_eq!((failed, ok), (500, 202));
        assert_eq!(s.baked().len(), 1);
        assert_eq!(
            answer["cookie_id"].as_str(),
            Some(s.baked()[0].cookie_id.as_str())
        );
    }

    #[tokio::test]
    async fn given_a_refusal_then_nothing_is_baked_and_the_key_may_be_tried_again() {
        let s = sandbox(Faults {
            refuse: true,
            times: Some(1),
            ..Faults::default()
        });
        let (refused, problem) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        assert_eq!(
            (refused, problem["code"].as_str()),
            (422, Some("cannot_bake"))
        );
        assert!(s.baked().is_empty());
        let (ok, _) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        assert_eq!(ok, 202);
        assert_eq!(s.baked().len(), 1);
    }

    #[tokio::test]
    async fn given_a_cookie_on_its_way_when_canceled_then_it_shows_canceled() {
        let s = sandbox(Faults::default());
        let (_, accepted) = call(&s, "POST", "/cookies", Some("kit-1")).await;
        let (status, canceled) = call(&s, "DELETE", "/cookies/by-key/kit-1", None).await;
        assert_eq!(
            (status, canceled["state"].as_str()),
            (200, Some("canceled"))
        );
        let id = accepted["cookie_id"].as_str().unwrap();
        let (_, shown) = call(&s, "GET", &format!("/cookies/{id}"), None).await;
        assert_eq!(shown["state"].as_str(), Some("canceled"));
        let (unknown, _) = call(&s, "DELETE", "/cookies/by-key/kit-2", None).await;
        assert_eq!(unknown, 404);
    }

    #[test]
    fn a_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
