//! The reverse proxy of the services that stay Python: requests under `/universe`,
//! `/portfolio`, `/trading`, `/scoring` and `/optimization` go to the configured service with
//! the same path and query, so a client keeps one address.
//!
//! Each service gets its configured timeout and a circuit breaker. Nothing is retried: a
//! proxied request may be a write. The answer's status, content type and body come back as
//! they are, the body streamed as it arrives.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::Instant;

use super::AppState;
use super::error::ApiError;
use crate::config::{ServiceConfig, UpstreamConfig};
use crate::domain::BreakerState;
use crate::events::{Event, EventHub};
use crate::upstream::resilience::{Breaker, BreakerPermit, secs_to_duration};

/// The proxied services; each serves its own name as its route prefix.
pub const SERVICES: [&str; 5] = [
    "universe",
    "portfolio",
    "trading",
    "scoring",
    "optimization",
];

/// The `route` label of the proxy's upstream metrics.
const ROUTE: &str = "proxy";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for name in SERVICES {
        let handler = any(
            move |State(state): State<Arc<AppState>>, request: Request| {
                forward(name, state, request)
            },
        );
        router = router
            .route(&format!("/{name}"), handler.clone())
            .route(&format!("/{name}/{{*rest}}"), handler);
    }
    router
}

/// The configuration of a proxied service.
pub fn service_config<'a>(upstream: &'a UpstreamConfig, name: &str) -> Option<&'a ServiceConfig> {
    match name {
        "universe" => Some(&upstream.universe),
        "portfolio" => Some(&upstream.portfolio),
        "trading" => Some(&upstream.trading),
        "scoring" => Some(&upstream.scoring),
        "optimization" => Some(&upstream.optimization),
        _ => None,
    }
}

/// The proxy's view of one configured service, for status pages.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxiedHealth {
    pub name: &'static str,
    pub url: String,
    pub breaker: BreakerState,
    pub consecutive_failures: u32,
    /// While the breaker is open: seconds until it lets a probe through.
    pub retry_in_secs: Option<u64>,
}

/// The breakers of the configured proxied services, in [`SERVICES`] order; never touches the
/// network.
pub fn proxied_health(upstream: &UpstreamConfig) -> Vec<ProxiedHealth> {
    SERVICES
        .iter()
        .filter_map(|&name| {
            let config = service_config(upstream, name)?;
            let url = config.base_url()?.to_string();
            let proxy = proxy_for(name, config);
            let breaker = proxy.breaker.state();
            Some(ProxiedHealth {
                name,
                url,
                breaker,
                consecutive_failures: proxy.breaker.consecutive_failures(),
                retry_in_secs: (breaker == BreakerState::Open).then(|| proxy.retry_in_secs()),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// One proxied service

/// The rules of one service that [`AppState`] does not hold: its breaker, and when it opened.
#[derive(Debug)]
struct Proxy {
    name: &'static str,
    timeout: Duration,
    open_for: Duration,
    breaker: Breaker,
    /// When the breaker last opened; the breaker itself does not say when it will probe.
    opened_at: Mutex<Option<Instant>>,
}

/// What identifies a service's rules: two states with the same configuration share a breaker,
/// which is about the remote service, not about who calls it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProxyKey {
    name: &'static str,
    url: String,
    timeout_bits: u64,
    breaker_failures: u32,
    breaker_open_bits: u64,
}

/// Built on first use for each configuration, then kept for the life of the process: the
/// stream of a proxied answer holds its breaker permit until the last byte, which needs the
/// breaker to outlive every request. A process sees one configuration per service, so the map
/// stays as small as the number of services.
static PROXIES: LazyLock<Mutex<HashMap<ProxyKey, &'static Proxy>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn proxy_for(name: &'static str, config: &ServiceConfig) -> &'static Proxy {
    let key = ProxyKey {
        name,
        url: config.base_url().unwrap_or_default().to_string(),
        timeout_bits: config.timeout_secs.to_bits(),
        breaker_failures: config.breaker_failures,
        breaker_open_bits: config.breaker_open_secs.to_bits(),
    };
    // Only inserts happen under the lock; a poisoned map is still whole.
    let mut proxies = PROXIES.lock().unwrap_or_else(PoisonError::into_inner);
    proxies.entry(key).or_insert_with(|| {
        let open_for = secs_to_duration(config.breaker_open_secs);
        Box::leak(Box::new(Proxy {
            name,
            timeout: secs_to_duration(config.timeout_secs).max(Duration::from_millis(1)),
            open_for,
            breaker: Breaker::new(config.breaker_failures, open_for),
            opened_at: Mutex::new(None),
        }))
    })
}

impl Proxy {
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
                "proxy circuit breaker opened"
            );
        }
        if before != after {
            events.publish(Event::UpstreamState {
                service: self.name.to_string(),
                breaker: breaker_name(after).to_string(),
            });
        }
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(
            "upstream_requests_total",
            "service" => self.name,
            "route" => ROUTE,
            "outcome" => outcome
        )
        .increment(1);
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
}

fn breaker_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

/// The HTTP client every proxied request shares (one connection pool); each request sets its
/// service's timeout, so the client's own is only the largest a configuration allows.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            crate::upstream::http_client(Duration::from_secs(86_400)).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

// ---------------------------------------------------------------------------------------------
// Forwarding

fn detail(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "detail": message }))).into_response()
}

async fn forward(name: &'static str, state: Arc<AppState>, request: Request) -> Response {
    let Some(config) = service_config(&state.config.upstream, name) else {
        return ApiError::NotFound.into_response();
    };
    let Some(base) = config.base_url() else {
        return ApiError::Unavailable(format!("{name} is not configured (upstream.{name}.url)"))
            .into_response();
    };
    let proxy = proxy_for(name, config);

    let (parts, body) = request.into_parts();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let Some(url) = target_url(base, name, path_and_query) else {
        return ApiError::NotFound.into_response();
    };

    let limit = state.config.server.max_body_bytes;
    let body: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge { limit }.into_response();
        }
        Err(e) => return ApiError::BadBody(e.to_string()).into_response(),
    };
    let client = match client() {
        Ok(client) => client,
        Err(e) => return ApiError::Internal(format!("no HTTP client: {e}")).into_response(),
    };

    let Some(permit) = proxy.breaker.try_acquire() else {
        proxy.count("circuit_open");
        return ApiError::Unavailable(proxy.refusal()).into_response();
    };

    // Only what describes the payload and the request id: the caller's bearer token is ours,
    // not the service's, and cookies or encodings would not survive the hop unchanged.
    let mut outgoing = client
        .request(parts.method.clone(), url)
        .timeout(proxy.timeout);
    for header in [CONTENT_TYPE, ACCEPT] {
        if let Some(value) = parts.headers.get(&header) {
            outgoing = outgoing.header(header, value.clone());
        }
    }
    let request_id = parts
        .headers
        .get(&REQUEST_ID)
        .cloned()
        .or_else(|| crate::upstream::current_request_id().and_then(|id| id.parse().ok()));
    if let Some(id) = request_id {
        outgoing = outgoing.header(REQUEST_ID, id);
    }
    if !body.is_empty() {
        outgoing = outgoing.body(body);
    }

    let started = Instant::now();
    let sent = outgoing.send().await;
    metrics::histogram!(
        "upstream_request_duration_seconds",
        "service" => name,
        "route" => ROUTE
    )
    .record(started.elapsed().as_secs_f64());
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            proxy.report(permit, false, &state.events);
            return if error.is_timeout() {
                proxy.count("timeout");
                detail(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "{name} did not answer within {} s",
                        proxy.timeout.as_secs_f64()
                    ),
                )
            } else {
                proxy.count("connect_error");
                detail(
                    StatusCode::BAD_GATEWAY,
                    format!("{name} is unreachable: {}", root_cause(&error)),
                )
            };
        }
    };

    let status = response.status();
    proxy.count(if status.is_success() || status.is_redirection() {
        "ok"
    } else {
        "http_error"
    });
    // A 5xx says the service is unwell however its body ends; any other answer is judged by
    // whether its body arrives whole.
    let permit = if status.is_server_error() {
        proxy.report(permit, false, &state.events);
        None
    } else {
        Some(permit)
    };
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    let events = Arc::clone(&state.events);
    let chunks = futures_util::stream::unfold(Some((response, permit)), move |pending| {
        let events = Arc::clone(&events);
        async move {
            let (mut response, permit) = pending?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some((response, permit)))),
                Ok(None) => {
                    if let Some(permit) = permit {
                        proxy.report(permit, true, &events);
                    }
                    None
                }
                Err(error) => {
                    tracing::warn!(service = proxy.name, %error, "proxied answer broke off");
                    if let Some(permit) = permit {
                        proxy.report(permit, false, &events);
                    }
                    Some((Err(error), None))
                }
            }
        }
    });
    let mut answer = Response::new(Body::from_stream(chunks));
    *answer.status_mut() = status;
    if let Some(content_type) = content_type {
        answer.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    answer
}

/// `base` + the request's path and query, provided the result stays under the service's
/// prefix: dot segments (`/universe/../x`) are resolved by URL parsing and could leave it.
fn target_url(base: &str, name: &str, path_and_query: &str) -> Option<reqwest::Url> {
    let base_path = reqwest::Url::parse(base)
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_string();
    let url = reqwest::Url::parse(&format!("{base}{path_and_query}")).ok()?;
    let prefix = format!("{base_path}/{name}");
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
}
