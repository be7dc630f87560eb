//! One API served at several base URLs (the replicas of a service): a request that gets no
//! answer at one goes on to the next, and the one that answered is asked first next time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::Client;
use crate::transport::{HttpTransport, Sending, Transport};

/// A [`Transport`] to one API reachable at several base URLs
/// (`http://host:port/api/<service>` each), over HTTP.
///
/// A request is sent to the URL that answered last (at first, the first one). When it gets
/// no answer there, it goes on to the next URL, in the configured order, wrapping around,
/// each URL at most once per request:
///
/// - when no connection could be made (refused, unreachable, connecting timed out): the
///   request never reached that replica, so sending it elsewhere is always safe;
/// - when the answer did not come for another reason (waited too long, connection reset),
///   only if the request may be repeated: `GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`, or any
///   request carrying an `Idempotency-Key`. Another one may have been applied by that
///   replica; its failure is handed back for the caller's own retry rule to judge.
///
/// An answer ends the request, whatever its status: a `503` or `500` is a replica that is up
/// and spoke, and asking again is the caller's retry rule, not a failover. A URL that gave no
/// answer (or whose try was dropped unfinished, e.g. by the caller's own time limit) is no
/// longer asked first: the next one is, until one answers.
///
/// Cheap to clone; clones share which URL answered last.
#[derive(Clone)]
pub struct Failover {
    inner: Arc<Inner>,
}

struct Inner {
    /// Without trailing slashes.
    bases: Vec<String>,
    http: HttpTransport,
    /// Index into `bases` of the URL asked first.
    preferred: AtomicUsize,
}

impl std::fmt::Debug for Failover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Failover")
            .field("bases", &self.inner.bases)
            .field("preferred", &self.inner.preferred.load(Ordering::Relaxed))
            .finish()
    }
}

impl Failover {
    /// Requests to the API at `bases`, tried in this order at first, over `http`; `None`
    /// when `bases` is empty.
    pub fn new<S: Into<String>>(
        bases: impl IntoIterator<Item = S>,
        http: HttpTransport,
    ) -> Option<Failover> {
        let bases: Vec<String> = bases
            .into_iter()
            .map(|b| b.into().trim_end_matches('/').to_owned())
            .collect();
        if bases.is_empty() {
            return None;
        }
        Some(Failover {
            inner: Arc::new(Inner {
                bases,
                http,
                preferred: AtomicUsize::new(0),
            }),
        })
    }

    /// Every base URL, in the configured order.
    pub fn bases(&self) -> &[String] {
        &self.inner.bases
    }

    /// The base URL asked first now: the one that answered last.
    pub fn base(&self) -> &str {
        &self.inner.bases[self.preferred()]
    }

    /// A client of the API through this transport (its base URL: [`Failover::base`]).
    pub fn client(&self) -> Client {
        Client::over(self.base(), self.clone())
    }

    fn preferred(&self) -> usize {
        // Always stored in range; `%` keeps a reader safe all the same.
        self.inner.preferred.load(Ordering::Acquire) % self.inner.bases.len()
    }

    /// What of `uri` follows the base URL it is below (path and query); `None` when it is
    /// below none of them.
    fn split<'u>(&self, uri: &'u str) -> Option<&'u str> {
        self.inner.bases.iter().find_map(|base| {
            uri.strip_prefix(base.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        })
    }
}

/// Whether sending `request` again after a lost answer is harmless.
fn repeatable(parts: &http::request::Parts) -> bool {
    use http::Method;
    matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    ) || parts.headers.contains_key("idempotency-key")
}

/// While a try at URL `index` runs: if it ends without an answer (or is dropped unfinished),
/// that URL stops being the one asked first.
struct Trying<'a> {
    inner: &'a Inner,
    index: usize,
    answered: bool,
}

impl Drop for Trying<'_> {
    fn drop(&mut self) {
        let next = (self.index + 1) % self.inner.bases.len();
        let preferred = &self.inner.preferred;
        if self.answered {
            preferred.store(self.index, Ordering::Release);
        } else {
            // Only if no other request moved it meanwhile (to a URL that answered).
            let _ =
                preferred.compare_exchange(self.index, next, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

impl Transport for Failover {
    fn send(&self, request: http::Request<Bytes>) -> Sending<'_> {
        Box::pin(async move {
            let uri = request.uri().to_string();
            let Some(rest) = self.split(&uri).map(str::to_owned) else {
                // Not a URL of this API (an absolute link elsewhere): sent as it is.
                return self.inner.http.send(request).await;
            };
            let (parts, body) = request.into_parts();
            let repeatable = repeatable(&parts);
            let count = self.inner.bases.len();
            let first = self.preferred();
            let mut failures = Vec::new();
            for k in 0..count {
                let index = (first + k) % count;
                let url = format!("{}{rest}", self.inner.bases[index]);
                let mut attempt = http::Request::new(body.clone());
                *attempt.method_mut() = parts.method.clone();
                *attempt.uri_mut() = url.parse().map_err(|e| format!("{url}: {e}"))?;
                *attempt.headers_mut() = parts.headers.clone();
                *attempt.version_mut() = parts.version;
                let mut trying = Trying {
                    inner: &self.inner,
                    index,
                    answered: false,
                };
                match self.inner.http.exchange(attempt).await {
                    Ok(answer) => {
                        trying.answered = true;
                        return Ok(answer);
                    }
                    Err(no) => {
                        drop(trying);
                        failures.push(format!("{}: {}", self.inner.bases[index], no.reason));
                        if !(no.not_connected || repeatable) {
                            break;
                        }
                    }
                }
            }
            Err(failures.join("; "))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    use axum::Router;
    use axum::http::StatusCode as Status;
    use axum::routing::{get, post};

    use super::*;

    /// A replica answering `GET /api/x/who` with `name` (or `status` when not 200), and
    /// `POST /api/x/slow` after `slow`; counting its requests.
    async fn replica(name: &'static str, status: u16, slow: Duration) -> (String, Arc<AtomicU32>) {
        let hits = Arc::new(AtomicU32::new(0));
        let (h1, h2) = (hits.clone(), hits.clone());
        let app = Router::new()
            .route(
                "/api/x/who",
                get(move || async move {
                    h1.fetch_add(1, Ordering::SeqCst);
                    (Status::from_u16(status).unwrap(), name)
                }),
            )
            .route(
                "/api/x/slow",
                post(move || async move {
                    h2.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(slow).await;
                    name
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/api/x"), hits)
    }

    /// A base URL of API `api` nobody listens at (the discard port).
    fn nobody(api: &str) -> String {
        format!("http://127.0.0.1:9/api/{api}")
    }

    /// Waits (within 10 s) until `hits` reaches `count`: a server may run the handler of a
    /// request its client gave up on only later, on a loaded machine.
    async fn hits_reach(hits: &AtomicU32, count: u32) {
        let what = format!("{count} hits");
        testing::eventually(Duration::from_secs(10), &what, || {
            hits.load(Ordering::SeqCst) >= count
        })
        .await;
    }

    async fn who(api: &Client) -> Result<String, crate::ClientError> {
        Ok(api.request(http::Method::GET, "/who").send().await?.text())
    }

    #[tokio::test]
    async fn a_refused_connection_goes_on_to_the_next_url_which_is_asked_first_after() {
        // Given a stopped first replica and a running second one
        let (second, hits) = replica("second", 200, Duration::ZERO).await;
        let replicas = Failover::new([nobody("x"), second.clone()], HttpTransport::new()).unwrap();
        assert_eq!(replicas.base(), replicas.bases()[0]);
        // When a client calls, then the second answers, and is asked first from then on
        assert_eq!(who(&replicas.client()).await.unwrap(), "second");
        assert_eq!(replicas.base(), second);
        assert_eq!(who(&replicas.client()).await.unwrap(), "second");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // A POST without a key goes on too: it never reached the stopped one
        let replicas = Failover::new([nobody("x"), second], HttpTransport::new()).unwrap();
        let answer = replicas
            .client()
            .request(http::Method::POST, "/slow")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text(), "second");
    }

    #[tokio::test]
    async fn an_answer_is_final_even_a_server_error() {
        // Given a first replica answering 503 and a healthy second one
        let (first, first_hits) = replica("first", 503, Duration::ZERO).await;
        let (second, second_hits) = replica("second", 200, Duration::ZERO).await;
        let replicas = Failover::new([first.clone(), second], HttpTransport::new()).unwrap();
        // When called, then the 503 is the answer (retrying is the caller's rule)
        let e = who(&replicas.client()).await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
        assert_eq!(first_hits.load(Ordering::SeqCst), 1);
        assert_eq!(second_hits.load(Ordering::SeqCst), 0);
        assert_eq!(replicas.base(), first);
    }

    #[tokio::test]
    async fn a_lost_answer_is_sent_elsewhere_only_when_repeating_is_harmless() {
        // Given a first replica far too slow for the 2 s limit and a quick second one (2 s:
        // generous for the quick one on a loaded CI machine)
        let (slow, slow_hits) = replica("slow", 200, Duration::from_secs(30)).await;
        let (quick, quick_hits) = replica("quick", 200, Duration::ZERO).await;
        let http = HttpTransport::with_timeout(Duration::from_secs(2));
        let replicas = Failover::new([slow.clone(), quick.clone()], http.clone()).unwrap();
        // When a POST without a key times out, then it is not sent again (the slow one may
        // apply it), but the next call starts at the quick one
        let e = replicas
            .client()
            .request(http::Method::POST, "/slow")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(e, crate::ClientError::Transport(ref t) if t.contains(&slow)),
            "{e}"
        );
        hits_reach(&slow_hits, 1).await;
        assert_eq!(
            (
                slow_hits.load(Ordering::SeqCst),
                quick_hits.load(Ordering::SeqCst)
            ),
            (1, 0)
        );
        assert_eq!(replicas.base(), quick);
        // When a POST with an Idempotency-Key times out, then the next replica gets it
        let replicas = Failover::new([slow, quick.clone()], http).unwrap();
        let answer = replicas
            .client()
            .request(http::Method::POST, "/slow")
            .idempotency_key("k-1")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text(), "quick");
        hits_reach(&slow_hits, 2).await;
        assert_eq!(
            (
                slow_hits.load(Ordering::SeqCst),
                quick_hits.load(Ordering::SeqCst)
            ),
            (2, 1)
        );
        assert_eq!(replicas.base(), quick);
    }

    #[tokio::test]
    async fn a_try_cut_short_by_the_caller_moves_on_and_all_down_names_every_url() {
        // Given a replica that never answers in time, and a caller giving up after 100 ms
        let (slow, _) = replica("slow", 200, Duration::from_secs(5)).await;
        let (quick, _) = replica("quick", 200, Duration::ZERO).await;
        let replicas = Failover::new([slow, quick.clone()], HttpTransport::new()).unwrap();
        let call = replicas
            .client()
            .request(http::Method::POST, "/slow")
            .send();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), call)
                .await
                .is_err()
        );
        // Then the next call asks the other one first
        assert_eq!(replicas.base(), quick);

        // Given no replica running, then the failure names each URL tried
        let (a, b) = (nobody("a"), nobody("b"));
        let replicas = Failover::new([a.clone(), b.clone()], HttpTransport::new()).unwrap();
        let e = who(&replicas.client()).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&a) && text.contains(&b), "{text}");
        assert!(Failover::new(Vec::<String>::new(), HttpTransport::new()).is_none());
    }
}
