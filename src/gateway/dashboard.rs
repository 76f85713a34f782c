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
pub const SECURITY_JS: &str = include_str!("assets/security.js");
pub const LEDGER_JS: &str = include_str!("assets/ledger.js");

/// Everything comes from this server; nothing is loaded from the internet.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                      script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/// The page and its files: path, content type, body.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", INDEX_HTML),
    (
        "/assets/chart.js",
        "text/javascript; charset=utf-8",
        CHART_JS,
    ),
    ("/assets/app.js", "text/javascript; charset=utf-8", APP_JS),
    (
        "/assets/security.js",
        "text/javascript; charset=utf-8",
        SECURITY_JS,
    ),
    (
        "/assets/ledger.js",
        "text/javascript; charset=utf-8",
        LEDGER_JS,
    ),
    ("/assets/app.css", "text/css; charset=utf-8", APP_CSS),
];

pub fn routes() -> Router<Arc<AppState>> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, &(path, content_type, body)| {
            router.route(path, get(move || async move { asset(content_type, body) }))
        })
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
    ASSETS.iter().map(|(_, _, body)| body.len()).sum()
}
