//! Forwarding a request to a Python service: what the reverse proxy (`proxy`) and the
//! migration layer (`migration`) share. The service, its HTTP client, its timeout and its one
//! circuit breaker come from the registry (`upstream::Upstreams`), so a forwarded request and
//! a call of the service's typed client see the same breaker. Here: the headers that cross the
//! hop, the 502/503/504 answers when the service cannot answer, and its answer streamed back
//! unchanged.
//!
//! Nothing is retried: a forwarded request may be a write.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::tee::Tee;
use crate::domain::BreakerState;
use crate::events::{Event, EventHub};
use crate::http_common::{REQUEST_ID, content_type};
use crate::upstream::Service;
use crate::upstream::resilience::BreakerPermit;
use crate::upstream::service::root_cause;

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
}

impl Failure {
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::CircuitOpen(_) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Failure::Unreachable(_) | Failure::TooLarge(_) => StatusCode::BAD_GATEWAY,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::CircuitOpen(m)
            | Failure::Timeout(m)
            | Failure::Unreachable(m)
            | Failure::TooLarge(m) => m,
        }
    }

    /// The `outcome` label of the failure in `upstream_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::CircuitOpen(_) => "circuit_open",
            Failure::Timeout(_) => "timeout",
            Failure::Unreachable(_) => "connect_error",
            Failure::TooLarge(_) => "too_large",
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
    service: Arc<Service>,
    response: reqwest::Response,
    /// `None` once the outcome is reported (a 5xx is a failure whatever its body).
    permit: Option<BreakerPermit>,
    events: Arc<EventHub>,
}

/// A whole answer, read by [`Sent::collect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// Sends `request` to `service` and waits for the answer's head. `route` labels the call in
/// the upstream metrics (`proxy`, `primary`, `fallback`, `shadow`).
pub async fn send(
    service: &Arc<Service>,
    route: &'static str,
    events: &Arc<EventHub>,
    request: Outgoing<'_>,
) -> Result<Sent, Failure> {
    let Some(permit) = service.breaker().try_acquire() else {
        count(service, route, "circuit_open");
        return Err(Failure::CircuitOpen(refusal(service)));
    };

    // Only what describes the payload and the request id: the caller's bearer token is
    // ours, not the service's, and cookies or encodings would not survive the hop unchanged.
    let mut outgoing = service
        .client()
        .request(request.method, request.url)
        .timeout(service.timeout());
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
        "service" => service.name(),
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            report(service, permit, false, events);
            let failure = transport_failure(service, &error);
            count(service, route, failure.outcome());
            return Err(failure);
        }
    };

    let status = response.status();
    count(
        service,
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
        report(service, permit, false, events);
        None
    } else {
        Some(permit)
    };
    Ok(Sent {
        service: Arc::clone(service),
        response,
        permit,
        events: Arc::clone(events),
    })
}

/// Reports a forwarded call's outcome to the service's breaker, logs when it opens and tells
/// subscribers when its state changes.
fn report(service: &Service, permit: BreakerPermit, success: bool, events: &EventHub) {
    let breaker = service.breaker();
    let before = breaker.state();
    let probe = permit.is_probe();
    if success {
        permit.succeeded();
    } else {
        permit.failed();
    }
    let after = breaker.state();
    if after == BreakerState::Open && (before != BreakerState::Open || probe) {
        tracing::warn!(
            service = service.name(),
            failures = breaker.consecutive_failures(),
            "circuit breaker of a forwarded service opened"
        );
    }
    if before != after {
        events.publish(Event::UpstreamState {
            service: service.name().to_string(),
            breaker: breaker_name(after).to_string(),
        });
    }
}

fn count(service: &Service, route: &'static str, outcome: &'static str) {
    crate::upstream::count_request(service.name(), route, outcome);
}

fn refusal(service: &Service) -> String {
    let breaker = service.breaker();
    match breaker.state() {
        BreakerState::Open => format!(
            "{} is unavailable: circuit open after {} failures; retrying in {} s",
            service.name(),
            breaker.consecutive_failures(),
            breaker.retry_in_secs()
        ),
        _ => format!(
            "{} is unavailable: circuit half-open, a probe request is in flight",
            service.name()
        ),
    }
}

fn transport_failure(service: &Service, error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout(format!(
            "{} did not answer within {} s",
            service.name(),
            service.timeout().as_secs_f64()
        ))
    } else {
        Failure::Unreachable(format!(
            "{} is unreachable: {}",
            service.name(),
            root_cause(error)
        ))
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
            service,
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
            let service = Arc::clone(&service);
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
                            report(&service, permit, true, &events);
                        }
                        if let Some(tee) = tee {
                            tee.finish();
                        }
                        None
                    }
                    Err(error) => {
                        let name = service.name();
                        tracing::warn!(service = name, %error, "forwarded answer broke off");
                        if let Some(permit) = permit {
                            report(&service, permit, false, &events);
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
                            report(&self.service, permit, true, &self.events);
                        }
                        return Err(Failure::TooLarge(format!(
                            "{}'s answer is larger than {limit} bytes",
                            self.service.name()
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => {
                    if let Some(permit) = self.permit.take() {
                        report(&self.service, permit, true, &self.events);
                    }
                    return Ok(Collected {
                        status,
                        content_type,
                        body: Bytes::from(body),
                    });
                }
                Err(error) => {
                    if let Some(permit) = self.permit.take() {
                        report(&self.service, permit, false, &self.events);
                    }
                    return Err(match transport_failure(&self.service, &error) {
                        Failure::Unreachable(_) => Failure::Unreachable(format!(
                            "{}'s answer broke off: {}",
                            self.service.name(),
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
