//! `GET /api/ledger` and `GET /api/ledger.csv`: trades and deposits, filtered and paged (see
//! [`crate::ledger`]); the list as JSON pages, the export as CSV streamed page by page.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;

use super::AppState;
use super::blocking::on_store;
use super::error::ApiError;
use crate::ledger::{self, LedgerQuery, Page};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ledger", get(list))
        .route("/ledger.csv", get(export))
}

/// `GET /api/ledger?kind=&symbol=&side=&from=&to=&limit=&before=`.
async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let query = LedgerQuery::parse(raw.as_deref())?;
    let max = state.config.server.max_page_size;
    let page = on_store(&state.store, move |s| ledger::page(s, &query, max)).await?;
    Ok(Json(page))
}

/// `GET /api/ledger.csv` with the same query: every matching entry (at most `limit`).
async fn export(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = LedgerQuery::parse(raw.as_deref())?;
    let rows = ledger::export_csv(
        Arc::clone(&state.store),
        query,
        state.config.server.max_page_size,
    )
    .map(|chunk| {
        // The status is sent already: a failure can only cut the file short, and is logged.
        chunk.inspect_err(|error| tracing::warn!(%error, "the ledger export stopped"))
    });
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"ledger.csv\""),
            (CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(rows),
    )
        .into_response())
}
