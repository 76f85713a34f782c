//! Compatibility routes of the evaluator service: `POST /evaluator/evaluate` and its health.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;

use super::AppState;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{
    EvaluateOptions, EvaluateSequencesRequest, EvaluateSequencesResponse, ScoringProfile,
    evaluate_request,
};

/// Compatibility routes always score with the reference's profile.
const PROFILE: ScoringProfile = ScoringProfile::PythonCompat;

pub async fn evaluate(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<EvaluateSequencesResponse>, ApiError> {
    let request: EvaluateSequencesRequest =
        read_json(body, state.config.server.max_body_bytes).await?;
    let errors = request.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let options = EvaluateOptions {
        profile: PROFILE,
        default_seed: state.config.evaluator.monte_carlo_seed,
    };
    let worker = state.clone();
    // SQLite reads and CPU work both stay off the async workers: one blocking task does both.
    let response = tokio::task::spawn_blocking(move || {
        let symbols = request.metric_symbols();
        let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let metrics = worker
            .store
            .valid_metrics_now(&symbols, &metric_names(PROFILE))
            .map_err(|e| ApiError::Unavailable(format!("metrics store unavailable: {e}")))?;
        Ok(worker
            .pool
            .install(|| evaluate_request(&request, &metrics, &options)))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("evaluation stopped: {e}")))??;
    Ok(PyJson(response))
}
