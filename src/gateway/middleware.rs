//! (being written)

use std::sync::Arc;

use axum::Router;

use super::AppState;

pub fn apply(router: Router<Arc<AppState>>, _state: Arc<AppState>) -> Router<Arc<AppState>> {
    router
}
