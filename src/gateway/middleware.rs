//! The layers around every route: request ids, HTTP metrics and authentication.
//!
//! They are applied with `Router::layer`, so they also wrap the fallbacks: an unknown route
//! or method still needs the token, gets a request id and is counted (as `unmatched`).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use tower_http::request_id::RequestId;
use tracing::Instrument;

use super::{AppState, auth, metrics};
use crate::http_common::REQUEST_ID;
use crate::upstream::with_request_id;

/// Longest client-chosen request id kept; a longer one is replaced rather than logged.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Outermost first: the request id, so even a refused request can be traced; then the metrics,
/// so refusals are counted; then authentication.
pub fn apply(router: Router<Arc<AppState>>, state: Arc<AppState>) -> Router<Arc<AppState>> {
    metrics::install_recorder();
    router
        .layer(from_fn_with_state(state, auth::require_token))
        .layer(from_fn(metrics::track))
        .layer(from_fn(request_id))
}

/// Takes the client's `x-request-id` when it is one sane token, else makes one; the id goes
/// back on the response, into the log span, and onto every upstream call the handler makes.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map_or_else(new_request_id, str::to_owned);
    let Ok(value) = HeaderValue::from_str(&id) else {
        // Unreachable: both sources are visible ASCII.
        return next.run(request).await;
    };
    request.headers_mut().insert(REQUEST_ID, value.clone());
    request
        .extensions_mut()
        .insert(RequestId::new(value.clone()));
    let span = tracing::info_span!("request", id = %id);
    let mut response = with_request_id(id, next.run(request))
        .instrument(span)
        .await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
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
