//! `GET /api/portfolio/history?days=N`: the portfolio's value per day and its time-weighted
//! return (see [`crate::portfolio_history`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AppState;
use super::api::query_error;
use super::blocking::on_store;
use super::error::ApiError;
use crate::portfolio_history::{DEFAULT_DAYS, History, MAX_DAYS, history};

#[derive(Deserialize)]
pub(super) struct HistoryQuery {
    days: Option<String>,
}

/// The points of the last `days` days (1..=[`MAX_DAYS`], default [`DEFAULT_DAYS`]), oldest
/// first, and the returns over the whole stored history.
pub(super) async fn portfolio_history(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    let days = match query.days.as_deref() {
        None => DEFAULT_DAYS,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => n,
            _ => {
                return Err(query_error(
                    "days",
                    text,
                    &format!("must be a whole number from 1 to {MAX_DAYS}"),
                ));
            }
        },
    };
    let today = chrono::Local::now().date_naive();
    Ok(Json(
        on_store(&state.store, move |s| history(s, today, days)).await?,
    ))
}
