//! The browser dashboard at `/`: four files built into the binary (plain HTML, CSS and
//! JavaScript, no third-party code), served with their types and a short cache lifetime.

use std::sync::Arc;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

pub const INDEX_HTML: &str = include_str!("assets/index.html");
pub const APP_JS: &str = include_str!("assets/app.js");
pub const APP_CSS: &str = include_str!("assets/app.css");
pub const CHART_JS: &str = include_str!("assets/chart.js");

/// Everything comes from this server; nothing is loaded from the internet.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                      script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/assets/chart.js",
            get(|| async { asset("text/javascript; charset=utf-8", CHART_JS) }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, content_type),
            // Short: a new binary's files are picked up within a minute.
            (CACHE_CONTROL, "max-age=60"),
            (CONTENT_SECURITY_POLICY, POLICY),
        ],
        body,
    )
}

/// The page's total transfer size, uncompressed, in bytes.
pub fn total_bytes() -> usize {
    INDEX_HTML.len() + APP_JS.len() + APP_CSS.len() + CHART_JS.len()
}
