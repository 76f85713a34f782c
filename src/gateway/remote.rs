//! Forwarding a request to a Python service: what the reverse proxy (`proxy`) and the
//! migration layer (`migration`) share. One circuit breaker per service and configuration,
//! the service's timeout, the headers that cross the hop, the 502/503/504 answers when the
//! service cannot answer, and its answer streamed back unchanged.
//!
//! Nothing is retried: a forwarded request may be a write.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::tee::Tee;
use crate::domain::BreakerState;
use crate::events::{Event, EventHub};
use crate::http_common::{REQUEST_ID, content_type};
use crate::upstream::resilience::{Breaker, BreakerPermit, secs_to_duration};

/// Headers of a service's answer that go back to the client besides the body: what describes
/// the payload and what tells a client how to go on. Hop and server headers (`date`,
/// `server`, `content-length`, `connection`) are this server's own.
const ANSWER_HEADERS: [HeaderName; 5] = [
    CONTENT_TYPE,
    axum::http::header::CONTENT_DISPOSITION,
    axum::http::header::CACHE_CONTROL,
    axum::http::header::LOCATION,
    axum::http::header::RETRY_AFTER,
];

/// What identifies a service's rules: two states with the same configuration share a breaker,
/// which is about the remote service, not about who calls it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRules<'a> {
    /// The service's name, in logs, metrics and error messages.
    pub name: &'static str,
    /// Base URL without a trailing slash.
    pub url: &'a str,
    pub timeout_secs: f64,
    pub breaker_failures: u32,
    pub breaker_open_secs: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RemoteKey {
    name: &'static str,
    url: String,
    timeout_bits: u64,
    breaker_failures: u32,
    breaker_open_bits: u64,
}

/// One service's rules that the configuration does not hold: its breaker, and when it opened.
#[derive(Debug)]
pub struct Remote {
    name: &'static str,
    timeout: Duration,
    open_for: Duration,
    breaker: Breaker,
    /// When the breaker last opened; the breaker itself does not say when it will probe.
    opened_at: Mutex<Option<Instant>>,
}

/// Built on first use for each configuration, then kept for the life of the process: the
/// stream of a forwarded answer holds its breaker permit until the last byte, which needs the
/// breaker to outlive every request. A process sees one configuration per service, so the map
/// stays as small as the number of services.
static REMOTES: LazyLock<Mutex<HashMap<RemoteKey, &'static Remote>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The rules of the service `rules` describes.
pub fn remote_for(rules: &RemoteRules<'_>) -> &'static Remote {
    let key = RemoteKey {
        name: rules.name,
        url: rules.url.to_string(),
        timeout_bits: rules.timeout_secs.to_bits(),
        breaker_failures: rules.breaker_failures,
        breaker_open_bits: rules.breaker_open_secs.to_bits(),
    };
    // Only inserts happen under the lock; a poisoned map is still whole.
    let mut remotes = REMOTES.lock().unwrap_or_else(PoisonError::into_inner);
    remotes.entry(key).or_insert_with(|| {
        let open_for = secs_to_duration(rules.breaker_open_secs);
        Box::leak(Box::new(Remote {
            name: rules.name,
            timeout: secs_to_duration(rules.timeout_secs).max(Duration::from_millis(1)),
            open_for,
            breaker: Breaker::new(rules.breaker_failures, open_for),
            opened_at: Mutex::new(None),
        }))
    })
}

/// A breaker as status pages show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerHealth {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// While the breaker is open: seconds until it lets a probe through.
    pub retry_in_secs: Option<u64>,
}

/// Why a service gave no answer; each is answered as the proxy always has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The breaker refused the call: 503.
    CircuitOpen(String),
    /// No answer within the timeout: 504.
    Timeout(String),
    /// Could not connect, or the answer broke off: 502.
    Unreachable(String),
    /// The answer was larger than the caller could hold: 502.
    TooLarge(String),
    /// No HTTP client could be built: 500.
    NoClient(String),
}

impl Failure {
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::CircuitOpen(_) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Failure::Unreachable(_) | Failure::TooLarge(_) => StatusCode::BAD_GATEWAY,
            Failure::NoClient(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::CircuitOpen(m)
            | Failure::Timeout(m)
            | Failure::Unreachable(m)
            | Failure::TooLarge(m)
            | Failure::NoClient(m) => m,
        }
    }

    /// The `outcome` label of the failure in `upstream_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::CircuitOpen(_) => "circuit_open",
            Failure::Timeout(_) => "timeout",
            Failure::Unreachable(_) => "connect_error",
            Failure::TooLarge(_) => "too_large",
            Failure::NoClient(_) => "no_client",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        detail(self.status(), self.message().to_string())
    }
}

/// A JSON error answer in FastAPI's shape.
pub fn detail(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "detail": message }))).into_response()
}

/// A request to forward: everything else about the client's request stays here.
pub struct Outgoing<'a> {
    pub method: Method,
    pub url: reqwest::Url,
    /// The client's headers, of which only the content headers and the request id are sent.
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

/// A service's answer whose head has arrived; the body is still to come.
pub struct Sent {
    remote: &'static Remote,
    response: reqwest::Response,
    /// `None` once the outcome is reported (a 5xx is a failure whatever its body).
    permit: Option<BreakerPermit<'static>>,
    events: Arc<EventHub>,
}

/// A whole answer, read by [`Sent::collect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Remote {
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The breaker's state; never touches the network.
    pub fn health(&self) -> BreakerHealth {
        let state = self.breaker.state();
        BreakerHealth {
            state,
            consecutive_failures: self.breaker.consecutive_failures(),
            retry_in_secs: (state == BreakerState::Open).then(|| self.retry_in_secs()),
        }
    }

    fn retry_in_secs(&self) -> u64 {
        let opened_at = *self
            .opened_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let left = opened_at.map_or(Duration::ZERO, |at| {
            self.open_for.saturating_sub(at.elapsed())
        });
        left.as_secs_f64().ceil() as u64
    }

    /// Reports a call's outcome to the breaker, notes when it opens and tells subscribers when
    /// its state changes.
    fn report(&self, permit: BreakerPermit<'static>, success: bool, events: &EventHub) {
        let before = self.breaker.state();
        let probe = permit.is_probe();
        if success {
            permit.succeeded();
        } else {
            permit.failed();
        }
        let after = self.breaker.state();
        if after == BreakerState::Open && (before != BreakerState::Open || probe) {
            *self
                .opened_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            tracing::warn!(
                service = self.name,
                failures = self.breaker.consecutive_failures(),
                "circuit breaker of a forwarded service opened"
            );
        }
        if before != after {
            events.publish(Event::UpstreamState {
                service: self.name.to_string(),
                breaker: breaker_name(after).to_string(),
            });
        }
    }

    fn count(&self, route: &'static str, outcome: &'static str) {
        crate::upstream::count_request(self.name, route, outcome);
    }

    fn refusal(&self) -> String {
        match self.breaker.state() {
            BreakerState::Open => format!(
                "{} is unavailable: circuit open after {} failures; retrying in {} s",
                self.name,
                self.breaker.consecutive_failures(),
                self.retry_in_secs()
            ),
            _ => format!(
                "{} is unavailable: circuit half-open, a probe request is in flight",
                self.name
            ),
        }
    }

    /// Sends `request` and waits for the answer's head. `route` labels the call in the
    /// upstream metrics (`proxy`, `primary`, `fallback`, `shadow`).
    pub async fn send(
        &'static self,
        route: &'static str,
        events: &Arc<EventHub>,
        request: Outgoing<'_>,
    ) -> Result<Sent, Failure> {
        let client = client().map_err(|e| Failure::NoClient(format!("no HTTP client: {e}")))?;
        let Some(permit) = self.breaker.try_acquire() else {
            self.count(route, "circuit_open");
            return Err(Failure::CircuitOpen(self.refusal()));
        };

        // Only what describes the payload and the request id: the caller's bearer token is
        // ours, not the service's, and cookies or encodings would not survive the hop unchanged.
        let mut outgoing = client
            .request(request.method, request.url)
            .timeout(self.timeout);
        for header in [CONTENT_TYPE, ACCEPT] {
            if let Some(value) = request.headers.get(&header) {
                outgoing = outgoing.header(header, value.clone());
            }
        }
        let request_id = request
            .headers
            .get(&REQUEST_ID)
            .cloned()
            .or_else(|| crate::upstream::current_request_id().and_then(|id| id.parse().ok()));
        if let Some(id) = request_id {
            outgoing = outgoing.header(REQUEST_ID, id);
        }
        if !request.body.is_empty() {
            outgoing = outgoing.body(request.body);
        }

        let started = Instant::now();
        let sent = outgoing.send().await;
        metrics::histogram!(
            "upstream_request_duration_seconds",
            "service" => self.name,
            "route" => route
        )
        .record(started.elapsed().as_secs_f64());
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.report(permit, false, events);
                let failure = self.transport_failure(&error);
                self.count(route, failure.outcome());
                return Err(failure);
            }
        };

        let status = response.status();
        self.count(
            route,
            if status.is_success() || status.is_redirection() {
                "ok"
            } else {
                "http_error"
            },
        );
        // A 5xx says the service is unwell however its body ends; any other answer is judged
        // by whether its body arrives whole.
        let permit = if status.is_server_error() {
            self.report(permit, false, events);
            None
        } else {
            Some(permit)
        };
        Ok(Sent {
            remote: self,
            response,
            permit,
            events: Arc::clone(events),
        })
    }

    fn transport_failure(&self, error: &reqwest::Error) -> Failure {
        if error.is_timeout() {
            Failure::Timeout(format!(
                "{} did not answer within {} s",
                self.name,
                self.timeout.as_secs_f64()
            ))
        } else {
            Failure::Unreachable(format!(
                "{} is unreachable: {}",
                self.name,
                root_cause(error)
            ))
        }
    }
}

impl Sent {
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    pub fn content_type(&self) -> Option<String> {
        content_type(self.response.headers())
    }

    /// The answer for the client: the service's status, the headers of [`ANSWER_HEADERS`] and
    /// the body streamed as it arrives, fed to `tee` when there is one. The breaker hears of
    /// the outcome when the body ends.
    pub fn into_response(self, tee: Option<Tee>) -> Response {
        let Sent {
            remote,
            response,
            permit,
            events,
        } = self;
        let status = response.status();
        let mut headers = HeaderMap::new();
        for name in ANSWER_HEADERS {
            for value in response.headers().get_all(&name) {
                headers.append(name.clone(), value.clone());
            }
        }
        let chunks = futures_util::stream::unfold(Some((response, permit, tee)), move |pending| {
            let events = Arc::clone(&events);
            async move {
                let (mut response, permit, mut tee) = pending?;
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Some(tee) = &mut tee {
                            tee.push(&chunk);
                        }
                        Some((Ok(chunk), Some((response, permit, tee))))
                    }
                    Ok(None) => {
                        if let Some(permit) = permit {
                            remote.report(permit, true, &events);
                        }
                        if let Some(tee) = tee {
                            tee.finish();
                        }
                        None
                    }
                    Err(error) => {
                        tracing::warn!(service = remote.name, %error, "forwarded answer broke off");
                        if let Some(permit) = permit {
                            remote.report(permit, false, &events);
                        }
                        Some((Err(error), None))
                    }
                }
            }
        });
        let mut answer = Response::new(Body::from_stream(chunks));
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        answer
    }

    /// Reads the whole answer, at most `limit` bytes of body.
    pub async fn collect(mut self, limit: usize) -> Result<Collected, Failure> {
        let status = self.response.status();
        let content_type = self.content_type();
        let mut body = Vec::new();
        loop {
            match self.response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > limit {
                        // The service answered; that the answer is too large for the caller
                        // says nothing against it.
                        if let Some(permit) = self.permit.take() {
                            self.remote.report(permit, true, &self.events);
                        }
                        return Err(Failure::TooLarge(format!(
                            "{}'s answer is larger than {limit} bytes",
                            self.remote.name
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => {
                    if let Some(permit) = self.permit.take() {
                        self.remote.report(permit, true, &self.events);
                    }
                    return Ok(Collected {
                        status,
                        content_type,
                        body: Bytes::from(body),
                    });
                }
                Err(error) => {
                    if let Some(permit) = self.permit.take() {
                        self.remote.report(permit, false, &self.events);
                    }
                    return Err(match self.remote.transport_failure(&error) {
                        Failure::Unreachable(_) => Failure::Unreachable(format!(
                            "{}'s answer broke off: {}",
                            self.remote.name,
                            root_cause(&error)
                        )),
                        other => other,
                    });
                }
            }
        }
    }
}

pub fn breaker_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

/// The HTTP client every forwarded request shares (one connection pool); each request sets
/// its service's timeout, so the client's own is only the largest a configuration allows.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            crate::upstream::http_client(Duration::from_secs(86_400)).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `base` + the request's path and query, provided the result stays under `prefix`: dot
/// segments (`/universe/../x`) are resolved by URL parsing and could leave it.
pub fn target_url(base: &str, prefix: &str, path_and_query: &str) -> Option<reqwest::Url> {
    let base_path = reqwest::Url::parse(base)
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_string();
    let url = reqwest::Url::parse(&format!("{base}{path_and_query}")).ok()?;
    let prefix = format!("{base_path}/{prefix}");
    let rest = url.path().strip_prefix(&prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(url)
}

/// The innermost cause of a transport error ("Connection refused (os error 111)").
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_keeps_path_and_query_and_stays_under_the_prefix() {
        let url = target_url(
            "http://127.0.0.1:8001",
            "universe",
            "/universe/securities?tradable_only=true",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8001/universe/securities?tradable_only=true"
        );
        assert!(target_url("http://h:1", "universe", "/universe").is_some());
        assert!(target_url("http://h:1/base", "universe", "/universe/x").is_some());
        assert!(target_url("http://h:1", "universe", "/universe/../admin").is_none());
        assert!(target_url("http://h:1", "universe", "/universe/%2e%2e/admin").is_none());
        assert!(target_url("http://h:1", "universe", "/universe-x").is_none());
    }

    #[test]
    fn one_breaker_per_service_and_configuration() {
        let rules = RemoteRules {
            name: "remote-test",
            url: "http://127.0.0.1:9",
            timeout_secs: 1.0,
            breaker_failures: 2,
            breaker_open_secs: 30.0,
        };
        let a = remote_for(&rules);
        assert!(std::ptr::eq(a, remote_for(&rules.clone())));
        let other = remote_for(&RemoteRules {
            breaker_failures: 3,
            ..rules
        });
        assert!(!std::ptr::eq(a, other));
        assert_eq!(a.health().state, BreakerState::Closed);
        assert_eq!(a.timeout(), Duration::from_secs(1));
    }

    #[test]
    fn failures_answer_as_the_proxy_always_has() {
        for (failure, status, outcome) in [
            (
                Failure::CircuitOpen("x".into()),
                StatusCode::SERVICE_UNAVAILABLE,
                "circuit_open",
            ),
            (
                Failure::Timeout("x".into()),
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
            ),
            (
                Failure::Unreachable("x".into()),
                StatusCode::BAD_GATEWAY,
                "connect_error",
            ),
        ] {
            assert_eq!(failure.status(), status);
            assert_eq!(failure.outcome(), outcome);
            assert_eq!(failure.into_response().status(), status);
        }
    }
}
