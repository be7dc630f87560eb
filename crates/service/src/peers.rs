//! The few synchronous calls between services (Bets asks Ordering and Billing, Quality asks
//! Matching): where a peer is reached and the service token it is called with.
//!
//! Every service of a system signs in to IAM as itself with the OAuth client credentials
//! grant. Its credentials are derived from one secret the whole system shares
//! (`auth.service_secret`): client `mcf-<name>`, secret `HMAC-SHA256(system secret, name)`.
//! IAM derives the same credentials for every registered service at start and registers
//! them (see IAM's bootstrap), so no operator has to create, copy or rotate per-service
//! secrets: changing the one system secret and restarting rotates them all.
//!
//! Tokens are cached until shortly before they expire. A peer's URLs come from
//! `[peers] <name> = "http://host:port/api/<name>"` (distributed mode; several replicas'
//! URLs comma-separated, see [`url_list`]), else this process's own listener (embedded
//! mode: every service is here). A call that gets no answer at one URL goes on to the next
//! ([`client::Failover`] says exactly when), and the URL that answered is asked first after.
//!
//! Tokens come from IAM's internal address when `[peers] iam` names it, else from the public
//! issuer URL; either way the tokens' `iss` is the public issuer (IAM writes it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Client, Failover, HttpTransport};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Mutex;

/// The OAuth client id a registered service signs in to IAM with.
pub fn client_id(service: &str) -> String {
    format!("mcf-{service}")
}

/// A service's credentials at IAM: its client id and the secret derived from the system's.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `mcf-<name>` ([`client_id`]).
    pub client_id: String,
    /// Hex of `HMAC-SHA256(system secret, name)`.
    pub client_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is a credential: never printed.
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The credentials of `service` in a system whose shared secret is `system_secret`.
pub fn credentials(system_secret: &str, service: &str) -> Credentials {
    let mut mac = Hmac::<Sha256>::new_from_slice(system_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"mcf-service:");
    mac.update(service.as_bytes());
    Credentials {
        client_id: client_id(service),
        client_secret: hex::encode(mac.finalize().into_bytes()),
    }
}

/// Why a peer could not be called. Services answer it as 503: the caller may retry later.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Nothing tells this process how to reach or sign in to peers (`reason` says what is
    /// missing and which setting provides it).
    #[error("{0}")]
    NotConfigured(String),
    /// IAM did not hand out a service token.
    #[error("no service token from IAM: {0}")]
    Token(String),
}

/// How a service reaches the others: one per service, in its [`Context`](crate::Context).
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Inner::None(reason) => f.debug_tuple("Peers::None").field(reason).finish(),
            Inner::Fixed(clients) => f
                .debug_tuple("Peers::Fixed")
                .field(&clients.keys().collect::<Vec<_>>())
                .finish(),
            Inner::Configured(c) => f
                .debug_struct("Peers::Configured")
                .field("me", &c.me)
                .field("peers", &c.peers)
                .field("default_base", &c.default_base)
                .field("iam", &c.iam)
                .finish_non_exhaustive(),
        }
    }
}

enum Inner {
    /// Calls are impossible; the text says why.
    None(String),
    /// Tests: each peer a ready client (its own transport and token).
    Fixed(BTreeMap<String, Client>),
    Configured(Configured),
}

struct Configured {
    /// The calling service's name (whose credentials sign in).
    me: String,
    /// The peers with configured URLs, each over its replicas' URLs.
    peers: BTreeMap<String, Failover>,
    /// `http://<listener>/api`: a peer without a configured URL is in this process.
    default_base: String,
    /// `None`: no system secret, so no tokens (the reason is in `no_secret`).
    secret: Option<Arc<str>>,
    no_secret: String,
    /// Where tokens come from: IAM's configured URLs (`peers.iam`), else the issuer.
    iam: Failover,
    transport: HttpTransport,
    cached: Mutex<Option<(String, Instant)>>,
}

/// How long before a token's expiry a fresh one is fetched.
const EARLY: Duration = Duration::from_secs(30);

/// How a process's services reach each other: see [`Peers::configured`].
#[derive(Debug, Clone)]
pub struct PeerSettings {
    /// `[peers]`: peer name -> the base URLs of its replicas (`http://host:port/api/<name>`
    /// each; [`url_list`] reads the setting). A name with no URL is left out.
    pub urls: BTreeMap<String, Vec<String>>,
    /// Where a peer without a URL is: `http://<this listener>/api`.
    pub default_base: String,
    /// The system's shared secret, `None` when it is not set.
    pub system_secret: Option<String>,
    /// What to tell the operator when it is not set.
    pub no_secret: String,
    /// IAM's public base URL (the issuer). Tokens are fetched at `<issuer>/token` unless
    /// `urls` names IAM's own (internal) URLs: then at `<that URL>/token`.
    pub issuer: String,
    /// The limit of one call to a peer (and to IAM's token endpoint).
    pub timeout: Duration,
}

impl Peers {
    /// No peer can be called (`reason` says why), the default of a bare [`Context`](crate::Context).
    pub fn none(reason: impl Into<String>) -> Self {
        Peers {
            inner: Arc::new(Inner::None(reason.into())),
        }
    }

    /// Peers reached through ready clients (tests: another in-process service's router and a
    /// token its verifier accepts).
    pub fn fixed<'a>(clients: impl IntoIterator<Item = (&'a str, Client)>) -> Self {
        Peers {
            inner: Arc::new(Inner::Fixed(
                clients
                    .into_iter()
                    .map(|(name, client)| (name.to_owned(), client))
                    .collect(),
            )),
        }
    }

    /// Peers of service `me` as `settings` say, signing in with `me`'s derived credentials.
    pub fn configured(me: &str, settings: PeerSettings) -> Self {
        let transport = HttpTransport::with_timeout(settings.timeout);
        // One failover per peer, shared by every call of this service: which replica
        // answered last is remembered across calls.
        let peers: BTreeMap<String, Failover> = settings
            .urls
            .into_iter()
            .filter_map(|(name, urls)| Some((name, Failover::new(urls, transport.clone())?)))
            .collect();
        let iam = match peers.get(IAM) {
            Some(internal) => internal.clone(),
            None => Failover::new([settings.issuer], transport.clone())
                .expect("one URL is not an empty list"),
        };
        Peers {
            inner: Arc::new(Inner::Configured(Configured {
                me: me.to_owned(),
                peers,
                default_base: settings.default_base.trim_end_matches('/').to_owned(),
                secret: settings.system_secret.map(Arc::from),
                no_secret: settings.no_secret,
                iam,
                transport,
                cached: Mutex::new(None),
            })),
        }
    }

    /// The credentials of `service` in this system (IAM registers them for every service);
    /// `None` when the system secret is not set.
    pub fn credentials_of(&self, service: &str) -> Option<Credentials> {
        match &*self.inner {
            Inner::Configured(c) => c.secret.as_deref().map(|s| credentials(s, service)),
            _ => None,
        }
    }

    /// A client of `peer`'s API calling with this service's token (fetched or cached).
    pub async fn client(&self, peer: &str) -> Result<Client, PeerError> {
        match &*self.inner {
            Inner::None(reason) => Err(PeerError::NotConfigured(reason.clone())),
            Inner::Fixed(clients) => clients.get(peer).cloned().ok_or_else(|| {
                PeerError::NotConfigured(format!("no client for peer {peer:?} in this test"))
            }),
            Inner::Configured(c) => {
                let token = c.token().await?;
                Ok(c.client(peer).with_token(token))
            }
        }
    }

    /// A client of `peer`'s API calling with `token`, someone else's: the person whose request
    /// this is, so the peer applies that person's rights and names them in its audit (Quality
    /// adjusting a worker for a manager). No token is fetched.
    pub fn client_with(&self, peer: &str, token: &str) -> Result<Client, PeerError> {
        match &*self.inner {
            Inner::None(reason) => Err(PeerError::NotConfigured(reason.clone())),
            Inner::Fixed(clients) => {
                clients
                    .get(peer)
                    .map(|c| c.with_token(token))
                    .ok_or_else(|| {
                        PeerError::NotConfigured(format!(
                            "no client for peer {peer:?} in this test"
                        ))
                    })
            }
            Inner::Configured(c) => Ok(c.client(peer).with_token(token)),
        }
    }
}

/// How often and how patiently a call to a peer is tried: see [`retrying`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all (at least one).
    pub attempts: u32,
    /// The pause after the first failed try; it doubles after each, up to [`Retry::max_pause`].
    pub first_pause: Duration,
    /// The longest pause.
    pub max_pause: Duration,
    /// How long one try may wait for its answer; a try without an answer by then is a
    /// transport failure (tried again like a lost connection). `None`: the transport's own
    /// limits only.
    pub attempt_timeout: Option<Duration>,
}

impl Default for Retry {
    /// Four tries, 200 ms, 400 ms, 800 ms apart.
    fn default() -> Self {
        Retry::doubling(4, Duration::from_millis(200))
    }
}

impl Retry {
    /// `attempts` tries, the first pause `first_pause`, doubling up to 10 s, no limit per
    /// try beyond the transport's (see [`Retry::attempt_timeout`]).
    pub fn doubling(attempts: u32, first_pause: Duration) -> Self {
        Retry {
            attempts,
            first_pause,
            max_pause: Duration::from_secs(10),
            attempt_timeout: None,
        }
    }

    /// The same, each try bounded by `limit`.
    pub fn each_within(self, limit: Duration) -> Self {
        Retry {
            attempt_timeout: Some(limit),
            ..self
        }
    }
}

/// Whether trying a call again may help: there was no answer, or the peer failed (5xx). A
/// refusal (4xx) is an answer: trying again would be refused again.
pub fn transient(e: &client::ClientError) -> bool {
    match e {
        client::ClientError::Transport(_) => true,
        other => other.status().is_some_and(|s| s.is_server_error()),
    }
}

/// `call` tried as `retry` says while it fails [`transient`]ly; the last answer or failure
/// is handed back. A call that changes something must carry an idempotency key, so that a
/// try whose answer was lost is not applied twice.
pub async fn retrying<T, F, Fut>(retry: Retry, mut call: F) -> Result<T, client::ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, client::ClientError>>,
{
    let mut pause = retry.first_pause;
    let mut attempt = 1;
    loop {
        let answer = match retry.attempt_timeout {
            None => call().await,
            Some(limit) => tokio::time::timeout(limit, call())
                .await
                .unwrap_or_else(|_| {
                    Err(client::ClientError::Transport(format!(
                        "no answer within {} ms",
                        limit.as_millis()
                    )))
                }),
        };
        match answer {
            Err(e) if transient(&e) && attempt < retry.attempts.max(1) => {
                tracing::debug!(attempt, error = %e, "peer call failed; trying again");
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2).min(retry.max_pause);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// [`retrying`], a [`transient`] failure after the last try handed to `give_up` (which
/// makes it the caller's own error, typically its 503 naming the peer); any other answer,
/// a success or a refusal, is handed back as it came for the caller to judge.
pub async fn retrying_or<T, E, F, Fut>(
    retry: Retry,
    call: F,
    give_up: impl FnOnce(client::ClientError) -> E,
) -> Result<Result<T, client::ClientError>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, client::ClientError>>,
{
    match retrying(retry, call).await {
        Err(e) if transient(&e) => Err(give_up(e)),
        answer => Ok(answer),
    }
}

/// IAM's registered name: its `[peers]` entry is where tokens come from.
const IAM: &str = "iam";

/// The base URLs of a `[peers]` setting: one URL, or several (one per replica) separated by
/// commas (`http://a:8080/api/ordering,http://b:8080/api/ordering`), blanks around them and
/// empty items ignored.
pub fn url_list(setting: &str) -> Vec<String> {
    setting
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| url.trim_end_matches('/').to_owned())
        .collect()
}

impl Configured {
    /// A client of `peer` without a token: over its configured URLs, else this process's
    /// listener.
    fn client(&self, peer: &str) -> Client {
        match self.peers.get(peer) {
            Some(replicas) => replicas.client(),
            None => Client::over(
                format!("{}/{peer}", self.default_base),
                self.transport.clone(),
            ),
        }
    }

    async fn token(&self) -> Result<String, PeerError> {
        let secret = self
            .secret
            .as_deref()
            .ok_or_else(|| PeerError::NotConfigured(self.no_secret.clone()))?;
        // One fetch at a time: callers arriving while a token is fetched wait for it.
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = &*cached
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let creds = credentials(secret, &self.me);
        let reply = self
            .iam
            .client()
            .request(client::Method::POST, "/token")
            .header(
                "authorization",
                &format!(
                    "Basic {}",
                    base64_basic(&creds.client_id, &creds.client_secret)
                ),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| PeerError::Token(e.to_string()))?;
        #[derive(serde::Deserialize)]
        struct Issued {
            access_token: String,
            expires_in: u64,
        }
        let issued: Issued = reply.json().map_err(|e| PeerError::Token(e.to_string()))?;
        let until = Instant::now() + Duration::from_secs(issued.expires_in).saturating_sub(EARLY);
        *cached = Some((issued.access_token.clone(), until));
        Ok(issued.access_token)
    }
}

/// HTTP Basic credentials (RFC 7617; the client id and secret are URL-safe already: letters,
/// digits, dashes, hex).
fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_derived_per_service_and_per_system() {
        let a = credentials("system-one", "bets");
        assert_eq!(a.client_id, "mcf-bets");
        assert_eq!(a.client_secret.len(), 64);
        assert_eq!(a, credentials("system-one", "bets"));
        assert_ne!(
            a.client_secret,
            credentials("system-one", "billing").client_secret
        );
        assert_ne!(
            a.client_secret,
            credentials("system-two", "bets").client_secret
        );
        assert!(!format!("{a:?}").contains(&a.client_secret));
    }

    #[tokio::test]
    async fn failures_are_tried_again_refusals_are_not() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let retry = Retry {
            attempts: 3,
            first_pause: Duration::from_millis(1),
            max_pause: Duration::from_millis(2),
            attempt_timeout: None,
        };
        let tries = AtomicU32::new(0);
        let lost = || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(client::ClientError::Transport("connection reset".into()))
        };
        assert!(retrying(retry, lost).await.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 3, "every attempt used");

        let tries = AtomicU32::new(0);
        let then_fine = || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0 => Err(client::ClientError::Transport("timed out".into())),
                _ => Ok(7),
            }
        };
        assert_eq!(retrying(retry, then_fine).await.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 2);

        // A peer answering with a status: 5xx is a failure to try again, 4xx an answer.
        struct Answers(u16, Arc<AtomicU32>);
        impl client::Transport for Answers {
            fn send(&self, _: http::Request<bytes::Bytes>) -> client::Sending<'_> {
                self.1.fetch_add(1, Ordering::SeqCst);
                let status = self.0;
                Box::pin(async move {
                    let body = format!(
                        r#"{{"type":"about:blank","title":"t","status":{status},"code":"c","detail":"d"}}"#
                    );
                    let mut answer = http::Response::new(bytes::Bytes::from(body));
                    *answer.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    answer.headers_mut().insert(
                        "content-type",
                        http::HeaderValue::from_static("application/problem+json"),
                    );
                    Ok(answer)
                })
            }
        }
        for (status, expected_tries) in [(503, 3), (500, 3), (404, 1), (409, 1)] {
            let tries = Arc::new(AtomicU32::new(0));
            let peer = Client::over("http://peer/api/x", Answers(status, tries.clone()));
            let e = retrying(retry, || peer.get::<serde_json::Value>("/y"))
                .await
                .unwrap_err();
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
            assert_eq!(tries.load(Ordering::SeqCst), expected_tries, "{status}");
        }
    }

    #[tokio::test]
    async fn a_try_without_an_answer_in_time_is_tried_again_then_given_up() {
        use std::sync::atomic::{AtomicU32, Ordering};
        // Given a peer whose first answer never comes and a limit of 20 ms per try
        let retry =
            Retry::doubling(3, Duration::from_millis(1)).each_within(Duration::from_millis(20));
        let tries = AtomicU32::new(0);
        let slow_then_fine = || async {
            if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            Ok::<_, client::ClientError>(7)
        };
        // When it is called, then the second try's answer is handed back
        let answer = retrying_or(retry, slow_then_fine, |_| "gave up").await;
        assert!(matches!(answer, Ok(Ok(7))), "{answer:?}");
        assert_eq!(tries.load(Ordering::SeqCst), 2);

        // Given a peer that never answers, when every try has run out of time, then the
        // caller's own error says so
        let never = || std::future::pending::<Result<(), client::ClientError>>();
        let answer = retrying_or(retry, never, |e| e.to_string()).await;
        assert!(
            matches!(answer, Err(ref e) if e.contains("no answer within 20 ms")),
            "{answer:?}"
        );

        // Given a refusal, then it is an answer, not given up on
        let refused = || async { Err::<(), _>(client::ClientError::Request("bad".into())) };
        let answer = retrying_or(retry, refused, |_| "gave up").await;
        assert!(matches!(answer, Ok(Err(client::ClientError::Request(_)))));
    }

    #[test]
    fn a_peer_setting_lists_one_or_several_urls() {
        assert_eq!(url_list("http://a:1/api/x/"), ["http://a:1/api/x"]);
        assert_eq!(
            url_list(" http://a:1/api/x , http://b:2/api/x,,"),
            ["http://a:1/api/x", "http://b:2/api/x"]
        );
        assert!(url_list(" ").is_empty());
    }

    /// A base URL nobody listens at (a port bound, then let go).
    fn nobody(path: &str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}{path}", listener.local_addr().unwrap())
    }

    #[tokio::test]
    async fn tokens_and_calls_go_to_the_replicas_that_answer_not_the_public_issuer() {
        use axum::routing::{get, post};
        // Given one running replica of IAM (its internal URL) and of Ordering, each listed
        // after a stopped one, and a public issuer URL nobody answers at
        let iam = axum::Router::new().route(
            "/api/iam/token",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                let basic = headers["authorization"].to_str().unwrap().to_owned();
                assert!(basic.starts_with("Basic "), "{basic}");
                assert_eq!(body, "grant_type=client_credentials");
                axum::Json(serde_json::json!({"access_token": "bets-token", "expires_in": 600}))
            }),
        );
        let ordering = axum::Router::new().route(
            "/api/ordering/whoami",
            get(|headers: axum::http::HeaderMap| async move {
                axum::Json(headers["authorization"].to_str().unwrap().to_owned())
            }),
        );
        let mut live = Vec::new();
        for app in [iam, ordering] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            live.push(format!("http://{}", listener.local_addr().unwrap()));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        let urls = BTreeMap::from([
            (
                "iam".to_owned(),
                vec![nobody("/api/iam"), format!("{}/api/iam", live[0])],
            ),
            (
                "ordering".to_owned(),
                vec![nobody("/api/ordering"), format!("{}/api/ordering", live[1])],
            ),
        ]);
        let peers = Peers::configured(
            "bets",
            PeerSettings {
                urls,
                default_base: nobody("/api"),
                system_secret: Some("system".into()),
                no_secret: "unused".into(),
                issuer: nobody("/api/iam"),
                timeout: Duration::from_secs(5),
            },
        );
        // When Bets calls Ordering, then its token came from the running IAM and the call
        // reached the running Ordering
        let ordering = peers.client("ordering").await.unwrap();
        let seen: String = ordering.get("/whoami").await.unwrap();
        assert_eq!(seen, "Bearer bets-token");
        // And the next call's client starts at the replica that answered
        let again = peers.client("ordering").await.unwrap();
        assert_eq!(again.base_url(), format!("{}/api/ordering", live[1]));
    }

    #[tokio::test]
    async fn without_configuration_a_call_says_why() {
        let e = Peers::none("no peers in this test")
            .client("billing")
            .await
            .unwrap_err();
        assert!(matches!(e, PeerError::NotConfigured(ref r) if r == "no peers in this test"));
        let e = Peers::configured(
            "bets",
            PeerSettings {
                urls: BTreeMap::new(),
                default_base: "http://127.0.0.1:1/api".into(),
                system_secret: None,
                no_secret: "auth.service_secret is not set".into(),
                issuer: "http://127.0.0.1:1/api/iam".into(),
                timeout: Duration::from_secs(1),
            },
        )
        .client("billing")
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "auth.service_secret is not set");
    }
}
