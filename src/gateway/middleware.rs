//! The layers around every route: request ids, HTTP metrics and authentication.
//!
//! They are applied with `Router::layer`, so they also wrap the fallbacks: an unknown route
//! or method still needs the token, gets a request id and is counted (as `unmatched`).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, from_fn_with_state, map_request};
use axum::response::Response;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Instrument;

use super::{AppState, auth, body, host, metrics};
use crate::http_common::REQUEST_ID;
use crate::upstream::with_request_id;

/// Longest client-chosen request id kept; a longer one is replaced rather than logged.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Outermost first: the request id, so even a refused request can be traced; then the `Host`
/// check; then the metrics, so refusals are counted; then the body size; then authentication.
pub fn apply(router: Router<Arc<AppState>>, state: Arc<AppState>) -> Router<Arc<AppState>> {
    metrics::install_recorder();
    let router = router
        .layer(from_fn_with_state(Arc::clone(&state), auth::require_token))
        .layer(from_fn_with_state(
            Arc::clone(&state),
            body::refuse_oversize,
        ))
        .layer(from_fn(metrics::track))
        .layer(from_fn_with_state(state, host::check_host));
    request_ids(router)
}

/// Takes the client's `x-request-id` when it is one sane token, else makes one; the id goes
/// back on the response, into the log span, and onto every upstream call the handler makes.
/// tower-http sets and propagates the header; around it, odd client ids are dropped first and
/// the id is put in scope for the handler.
pub fn request_ids<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(from_fn(scope_request_id))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, CountedRequestId))
        .layer(map_request(keep_sane_request_id))
}

/// Leaves one `x-request-id` when the client's first is sane and none otherwise, so the id
/// layer makes one in its place.
async fn keep_sane_request_id(mut request: Request) -> Request {
    let sane = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(is_sane_request_id))
        .cloned();
    match sane {
        Some(value) => {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        None => {
            request.headers_mut().remove(REQUEST_ID);
        }
    }
    request
}

/// Runs the handler in the request's log span, with its id as the id of the upstream calls.
async fn scope_request_id(request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", id = %id);
    with_request_id(id, next.run(request))
        .instrument(span)
        .await
}

/// Makes the ids of [`new_request_id`].
#[derive(Debug, Clone, Copy)]
struct CountedRequestId;

impl MakeRequestId for CountedRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        // Hex digits are always a valid header value.
        new_request_id().parse().ok().map(RequestId::new)
    }
}

/// Visible ASCII only: no spaces or control characters to forge log lines with.
pub fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// 32 hex digits: a random half per process and a counter, so ids never repeat within a
/// process and are unlikely to meet another process's.
pub fn new_request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(process_prefix);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix:016x}{n:016x}")
}

fn process_prefix() -> u64 {
    use rand::TryRng;
    let mut bytes = [0u8; 8];
    if rand::rngs::SysRng.try_fill_bytes(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    // Without OS entropy the ids only need to differ from another process's.
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
#[path = "middleware_tests.rs"]
mod tests;
