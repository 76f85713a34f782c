//! One upstream service: its base URL, its HTTP client and the resilience rules every call
//! goes through (breaker, rate limit, timeout, retries), with metrics and a health snapshot.
//! The gateway's forwarded requests use the same client, timeout and breaker (see
//! `gateway::remote`), so a service has one breaker whoever calls it.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::error::{UpstreamError, excerpt};
use super::resilience::{Breaker, RateLimiter, RetryPolicy, secs_to_duration};
use crate::config::ServiceConfig;
use crate::domain::BreakerState;

tokio::task_local! {
    /// The id of the inbound request (or job run) on whose behalf upstream calls are made;
    /// sent as `x-request-id` so the Python logs can be matched with ours.
    static REQUEST_ID: String;
}

/// Runs `f` with `id` as the `x-request-id` of every upstream call it makes.
pub async fn with_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The request id set by [`with_request_id`] around the current task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Whether a call may be repeated without effect beyond the first: only those are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A read, or a write the service deduplicates: retried on transient errors.
    Idempotent,
    /// A write such as placing an order: sent once, whatever happens.
    NotIdempotent,
}

/// Why a 2xx body was refused by a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not the shape the contract promises.
    Malformed(String),
    /// The service's own `success: false` with its message.
    Application(String),
}

/// What a service's health route says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    /// The service runs and can do its work (for tradernet: it also holds a broker session).
    pub healthy: bool,
    /// Tradernet only: whether the wrapper is connected to the broker.
    pub connected: Option<bool>,
    pub version: Option<String>,
}

/// The last failure seen, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// A snapshot of one service's health; the sync jobs persist it, the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// "tradernet" or "scoring".
    pub name: &'static str,
    pub url: String,
    pub breaker: BreakerState,
    /// Failed calls since the last success (calls refused by the open breaker do not count).
    pub consecutive_failures: u32,
    /// End of the last call that succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// The last call that failed, whatever the reason, except refusals of the open breaker,
    /// which would hide the error that opened it.
    pub last_error: Option<LastError>,
}

#[derive(Debug, Default)]
struct History {
    last_success: Option<DateTime<Utc>>,
    last_error: Option<LastError>,
}

/// One upstream service and the rules of calling it. Shared behind an `Arc` by its client and
/// the gateway's forwarding; every method takes `&self`.
#[derive(Debug)]
pub struct Service {
    name: &'static str,
    base_url: String,
    client: reqwest::Client,
    timeout: Duration,
    retry: RetryPolicy,
    breaker: Breaker,
    limiter: RateLimiter,
    history: Mutex<History>,
    /// Jitter and request ids need no cryptographic quality, only independence between
    /// processes, which the seed from std's per-process random hasher keys gives.
    rng: Mutex<ChaCha8Rng>,
}

impl Service {
    /// A service at `base_url` (no trailing slash needed) with the rules of `config`; the URL
    /// in `config` is ignored.
    pub fn new(
        name: &'static str,
        base_url: &str,
        client: reqwest::Client,
        config: &ServiceConfig,
    ) -> Service {
        Service {
            name,
            base_url: base_url.trim_end_matches('/').to_string(),
            client,
            timeout: secs_to_duration(config.timeout_secs).max(Duration::from_millis(1)),
            retry: RetryPolicy {
                retries: config.retries,
                backoff: secs_to_duration(config.retry_backoff_secs),
            },
            breaker: Breaker::new(
                config.breaker_failures,
                secs_to_duration(config.breaker_open_secs),
            ),
            limiter: RateLimiter::new(secs_to_duration(config.min_interval_secs)),
            history: Mutex::new(History::default()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(random_seed())),
        }
    }

    /// The service's name, as used in metrics and messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The service's own HTTP client (its own connection pool).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The limit of one HTTP request, from connecting to the last byte of the answer.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The one breaker of every call to the service, forwarded requests included.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// A snapshot of the breaker and the last outcomes of this module's calls (forwarded
    /// requests only move the breaker); never blocks on the network.
    pub fn status(&self) -> ServiceStatus {
        let history = self.history();
        ServiceStatus {
            name: self.name,
            url: self.base_url.clone(),
            breaker: self.breaker.state(),
            consecutive_failures: self.breaker.consecutive_failures(),
            last_success: history.last_success,
            last_error: history.last_error.clone(),
        }
    }

    /// `GET base_url + path` with `query`, decoding a plain JSON body into `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, UpstreamError> {
        self.get_with(route, path, query, decode_json).await
    }

    /// `POST base_url + path` with a JSON `body` and extra `headers`, decoding a plain JSON
    /// answer into `T`. Only [`CallKind::Idempotent`] calls are retried.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        body: &impl Serialize,
        call: CallKind,
        headers: &[(&str, String)],
    ) -> Result<T, UpstreamError> {
        self.post_with(route, path, body, call, headers, decode_json)
            .await
    }

    /// A GET whose 2xx body `decode` turns into `T`, or refuses; runs inside the retry loop,
    /// so a refusal that is retryable (tradernet's "Not connected") is retried.
    pub(crate) async fn get_with<T>(
        &self,
        route: &'static str,
        path: &str,
        query: &[(&str, String)],
        decode: impl Fn(&[u8]) -> Result<T, BodyError>,
    ) -> Result<T, UpstreamError> {
        let request = Outgoing {
            method: Method::GET,
            path,
            query,
            body: None,
            headers: &[],
        };
        self.call(route, request, CallKind::Idempotent, decode)
            .await
    }

    /// A POST of a JSON body; see [`Service::get_with`].
    pub(crate) async fn post_with<T>(
        &self,
        route: &'static str,
        path: &str,
        body: &impl Serialize,
        call: CallKind,
        headers: &[(&str, String)],
        decode: impl Fn(&[u8]) -> Result<T, BodyError>,
    ) -> Result<T, UpstreamError> {
        let body = match serde_json::to_vec(body) {
            Ok(body) => body,
            Err(e) => {
                // Our own types always encode; should one not, the service is not to blame,
                // so the breaker is left alone.
                let error = self.malformed(route, format!("could not encode the request: {e}"));
                self.count(route, error.outcome());
                return Err(error);
            }
        };
        let request = Outgoing {
            method: Method::POST,
            path,
            query: &[],
            body: Some(body),
            headers,
        };
        self.call(route, request, call, decode).await
    }

    /// One logical call: breaker, then attempts (each rate-limited) with retries, then the
    /// bookkeeping of its final outcome.
    async fn call<T>(
        &self,
        route: &'static str,
        request: Outgoing<'_>,
        call: CallKind,
        decode: impl Fn(&[u8]) -> Result<T, BodyError>,
    ) -> Result<T, UpstreamError> {
        let Some(permit) = self.breaker.try_acquire() else {
            let error = UpstreamError::CircuitOpen {
                service: self.name,
                route,
            };
            self.count(route, error.outcome());
            return Err(error);
        };
        let started = Instant::now();
        // One id for every attempt, so retries show up together in the service's log.
        let request_id = current_request_id()
            .filter(|id| reqwest::header::HeaderValue::from_str(id).is_ok())
            .unwrap_or_else(|| self.fresh_request_id());
        let mut attempt = 0;
        let result = loop {
            self.limiter.acquire().await;
            let outcome = self.attempt(route, &request, &request_id, &decode).await;
            match outcome {
                Err(error)
                    if call == CallKind::Idempotent
                        && error.is_retryable()
                        && attempt < self.retry.retries =>
                {
                    let pause = self.retry.delay(attempt, self.jitter_unit());
                    tracing::debug!(
                        service = self.name, route, attempt, ?pause, %error,
                        "retrying upstream call"
                    );
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                outcome => break outcome,
            }
        };
        let elapsed = started.elapsed().as_secs_f64();
        metrics::histogram!(
            "upstream_request_duration_seconds",
            "service" => self.name,
            "route" => route
        )
        .record(elapsed);

        let now = Utc::now();
        match &result {
            Ok(_) => {
                permit.succeeded();
                self.history().last_success = Some(now);
                self.count(route, "ok");
            }
            Err(error) => {
                let was_open = self.breaker.state() != BreakerState::Closed;
                if error.is_service_failure() {
                    permit.failed();
                } else {
                    permit.succeeded();
                }
                self.history().last_error = Some(LastError {
                    at: now,
                    message: error.to_string(),
                });
                self.count(route, error.outcome());
                if !was_open && self.breaker.state() == BreakerState::Open {
                    tracing::warn!(service = self.name, %error, "circuit breaker opened");
                } else {
                    tracing::debug!(service = self.name, route, %error, "upstream call failed");
                }
            }
        }
        result
    }

    /// One HTTP exchange.
    async fn attempt<T>(
        &self,
        route: &'static str,
        request: &Outgoing<'_>,
        request_id: &str,
        decode: &impl Fn(&[u8]) -> Result<T, BodyError>,
    ) -> Result<T, UpstreamError> {
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self
            .client
            .request(request.method.clone(), url)
            .timeout(self.timeout)
            .header(crate::http_common::REQUEST_ID, request_id);
        if !request.query.is_empty() {
            builder = builder.query(request.query);
        }
        for (name, value) in request.headers {
            builder = builder.header(*name, value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport_error(route, &e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(route, &e))?;
        if !status.is_success() {
            return Err(UpstreamError::Status {
                service: self.name,
                route,
                status: status.as_u16(),
                excerpt: excerpt(&body),
            });
        }
        decode(&body).map_err(|e| match e {
            BodyError::Malformed(reason) => self.malformed(route, reason),
            BodyError::Application(message) => UpstreamError::Application {
                service: self.name,
                route,
                message,
            },
        })
    }

    fn transport_error(&self, route: &'static str, error: &reqwest::Error) -> UpstreamError {
        if error.is_timeout() {
            UpstreamError::Timeout {
                service: self.name,
                route,
                after: self.timeout,
            }
        } else {
            UpstreamError::Connect {
                service: self.name,
                route,
                reason: root_cause(error),
            }
        }
    }

    fn malformed(&self, route: &'static str, reason: String) -> UpstreamError {
        UpstreamError::Malformed {
            service: self.name,
            route,
            reason,
        }
    }

    fn count(&self, route: &'static str, outcome: &'static str) {
        super::count_request(self.name, route, outcome);
    }

    fn history(&self) -> MutexGuard<'_, History> {
        // Plain fields, whole after every assignment: a poisoned lock still holds good data.
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rng(&self) -> MutexGuard<'_, ChaCha8Rng> {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn jitter_unit(&self) -> f64 {
        self.rng().random::<f64>()
    }

    fn fresh_request_id(&self) -> String {
        let value: u128 = self.rng().random();
        format!("{value:032x}")
    }
}

/// What one call sends; rebuilt into a `reqwest` request for every attempt.
struct Outgoing<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<Vec<u8>>,
    headers: &'a [(&'a str, String)],
}

/// Decodes a plain JSON body, naming the place that did not fit.
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            BodyError::Malformed(e.into_inner().to_string())
        } else {
            BodyError::Malformed(format!("{path}: {}", e.into_inner()))
        }
    })
}

/// The innermost cause of a transport error ("Connection refused (os error 111)"), which says
/// more than reqwest's "error sending request for url …".
pub(crate) fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A seed that differs between processes and between services of one process.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}
