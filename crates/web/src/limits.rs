//! Protection for public endpoints against floods: a token bucket per source address, a
//! global bucket, and a cap on requests in flight (beyond it, load is shed with 503 at once
//! instead of queueing). The source is the connection's peer address; only when that peer
//! is a configured trusted proxy is the last `X-Forwarded-For` entry used (a header a client
//! sets itself is never believed).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::ApiError;

/// Limits of one group of public endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicLimits {
    /// Requests one source may make per minute (burst: the same number).
    pub per_source_per_minute: u32,
    /// Requests all sources together may make per second (burst: the same number).
    pub global_per_second: u32,
    /// Requests handled at the same time; more are refused with 503.
    pub max_in_flight: usize,
    /// Peers whose `X-Forwarded-For` is believed (your reverse proxies).
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body, bytes.
    pub body_limit_bytes: usize,
}

impl Default for PublicLimits {
    fn default() -> Self {
        PublicLimits {
            per_source_per_minute: 10,
            global_per_second: 50,
            max_in_flight: 32,
            trusted_proxies: Vec::new(),
            body_limit_bytes: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes a token if there is one, refilling at `rate` per second up to `burst`.
    fn take(&mut self, rate: f64, burst: f64, now: Instant) -> bool {
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The shared state of one limited group. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    config: Arc<PublicLimits>,
    sources: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
    global: Arc<Mutex<Bucket>>,
    in_flight: Arc<Semaphore>,
}

/// Most sources remembered; beyond, full buckets (sources that have been quiet) are dropped.
const MAX_SOURCES: usize = 100_000;

impl Limiter {
    pub fn new(config: PublicLimits) -> Self {
        let now = Instant::now();
        Limiter {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            global: Arc::new(Mutex::new(Bucket {
                tokens: f64::from(config.global_per_second),
                at: now,
            })),
            sources: Arc::new(Mutex::new(HashMap::new())),
            config: Arc::new(config),
        }
    }

    pub fn body_limit(&self) -> usize {
        self.config.body_limit_bytes
    }

    /// The address a request comes from.
    pub fn source(&self, peer: IpAddr, forwarded_for: Option<&HeaderValue>) -> IpAddr {
        if self.config.trusted_proxies.contains(&peer)
            && let Some(ip) = forwarded_for
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|ip| ip.trim().parse().ok())
        {
            return ip;
        }
        peer
    }

    /// Whether `source` may make a request now.
    pub fn admit(&self, source: IpAddr) -> bool {
        let now = Instant::now();
        let per_source = f64::from(self.config.per_source_per_minute);
        {
            let mut sources = self.sources.lock().expect("limiter lock");
            if sources.len() >= MAX_SOURCES {
                sources.retain(|_, b| {
                    b.tokens + now.duration_since(b.at).as_secs_f64() * per_source / 60.0
                        < per_source
                });
            }
            let bucket = sources.entry(source).or_insert(Bucket {
                tokens: per_source,
                at: now,
            });
            if !bucket.take(per_source / 60.0, per_source, now) {
                return false;
            }
        }
        let global = f64::from(self.config.global_per_second);
        self.global
            .lock()
            .expect("limiter lock")
            .take(global, global, now)
    }

    /// Middleware: refuses with 429 (rate) or 503 (too many in flight), else runs the request.
    pub async fn middleware(self, req: Request, next: Next) -> Response {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let source = self.source(peer, req.headers().get("x-forwarded-for"));
        if !self.admit(source) {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; try again later",
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return r;
        }
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too busy right now; try again in a moment",
            )
            .into_response();
        };
        next.run(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, global: u32) -> Limiter {
        Limiter::new(PublicLimits {
            per_source_per_minute: per_minute,
            global_per_second: global,
            trusted_proxies: vec![IpAddr::from([10, 0, 0, 1])],
            ..Default::default()
        })
    }

    #[test]
    fn one_source_gets_its_burst_then_is_refused_others_are_not() {
        let l = limiter(3, 100);
        let a = IpAddr::from([1, 1, 1, 1]);
        assert!((0..3).all(|_| l.admit(a)));
        assert!(!l.admit(a));
        assert!(l.admit(IpAddr::from([2, 2, 2, 2])));
    }

    #[test]
    fn the_global_bucket_caps_many_sources() {
        let l = limiter(100, 5);
        let admitted = (0..50u8)
            .filter(|i| l.admit(IpAddr::from([9, 9, 9, *i])))
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = limiter(10, 10);
        let header = HeaderValue::from_static("6.6.6.6, 7.7.7.7");
        assert_eq!(
            l.source(IpAddr::from([10, 0, 0, 1]), Some(&header)),
            IpAddr::from([7, 7, 7, 7])
        );
        assert_eq!(
            l.source(IpAddr::from([5, 5, 5, 5]), Some(&header)),
            IpAddr::from([5, 5, 5, 5])
        );
    }
}
