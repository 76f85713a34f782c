//! The reverse proxy of the services that stay Python: requests under `/universe`,
//! `/portfolio`, `/trading`, `/scoring` and `/optimization` go to the configured service with
//! the same path and query, so a client keeps one address.
//!
//! Each service gets its configured timeout and its circuit breaker, the one its typed client
//! uses too (see `remote`). Nothing is retried: a proxied request may be a write. The answer's
//! status, content type and body come back as they are, the body streamed as it arrives.
//! Reads (GET, HEAD, OPTIONS) are forwarded without a body; one that has a body gets 413.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::AppState;
use super::error::ApiError;
use super::remote::{self, Outgoing, target_url};
use crate::domain::BreakerState;
use crate::upstream::Upstreams;

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
pub fn proxied_health(upstreams: &Upstreams) -> Vec<ProxiedHealth> {
    SERVICES
        .iter()
        .filter_map(|&name| {
            let service = upstreams.service(name)?;
            let health = service.breaker().health();
            Some(ProxiedHealth {
                name,
                url: service.base_url().to_string(),
                breaker: health.state,
                consecutive_failures: health.consecutive_failures,
                retry_in_secs: health.retry_in_secs,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Forwarding

async fn forward(name: &'static str, state: Arc<AppState>, request: Request) -> Response {
    let Some(service) = state.upstreams.service(name) else {
        return ApiError::Unavailable(format!("{name} is not configured (upstream.{name}.url)"))
            .into_response();
    };

    let (parts, body) = request.into_parts();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let Some(url) = target_url(service.base_url(), name, path_and_query) else {
        return ApiError::NotFound.into_response();
    };

    // A read carries no body: forwarding one would let anyone who may read (everyone, with
    // open reads) push megabytes at a service and open its breaker.
    let reads = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let limit = if reads {
        0
    } else {
        state.config.server.max_body_bytes
    };
    let body: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge { limit }.into_response();
        }
        Err(e) => return ApiError::BadBody(e.to_string()).into_response(),
    };
    let outgoing = Outgoing {
        method: parts.method.clone(),
        url,
        headers: &parts.headers,
        body,
    };
    match remote::send(service, ROUTE, &state.events, outgoing).await {
        Ok(sent) => sent.into_response(None),
        Err(failure) => failure.into_response(),
    }
}
