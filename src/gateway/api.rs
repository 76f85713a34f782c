//! The native API under `/api`.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::AppState;
use super::upstreams;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/upstreams", get(upstreams::upstreams))
}
