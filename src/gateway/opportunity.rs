//! Compatibility routes of the opportunity service: `POST /opportunity/identify` and its health.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;

use super::AppState;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use crate::domain::{Opportunities, normalize_symbol};
use crate::opportunity::api::{IdentifyOpportunitiesRequest, identify_request};
use crate::opportunity::heuristic::{CagrMetrics, HeuristicEnv};

const CAGR_METRICS: [&str; 2] = ["CAGR_5Y", "CAGR_10Y"];

pub async fn identify(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<Opportunities>, ApiError> {
    let request: IdentifyOpportunitiesRequest =
        read_json(body, state.config.server.max_body_bytes).await?;
    let errors = request.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // The wall clock is read here, at the edge; the module itself never reads it.
    let now = chrono::Local::now().naive_local();
    let worker = state.clone();
    let identified = tokio::task::spawn_blocking(move || {
        let mut env = HeuristicEnv::new(now);
        if !request.uses_target_weights() {
            heuristic_env(&worker, &request, &mut env)?;
        }
        Ok::<_, ApiError>(identify_request(&request, &env))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("identification stopped: {e}")))??;
    Ok(PyJson(identified.opportunities))
}

/// What the heuristic path reads besides the request: the request's `current_prices` stand in
/// for the quote feed, and growth metrics come from the metrics store.
fn heuristic_env(
    state: &AppState,
    request: &IdentifyOpportunitiesRequest,
    env: &mut HeuristicEnv,
) -> Result<(), ApiError> {
    env.prices = request.current_prices.clone().unwrap_or_default();
    let symbols: Vec<String> = request
        .positions
        .iter()
        .map(|p| normalize_symbol(&p.symbol))
        .collect();
    let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let metrics = state
        .store
        .valid_metrics_now(&symbols, &CAGR_METRICS)
        .map_err(|e| ApiError::Unavailable(format!("metrics store unavailable: {e}")))?;
    env.cagr = metrics
        .into_iter()
        .map(|(symbol, values)| {
            let cagr = CagrMetrics {
                cagr_5y: values.get("CAGR_5Y").copied(),
                cagr_10y: values.get("CAGR_10Y").copied(),
            };
            (symbol, cagr)
        })
        .collect();
    Ok(())
}
