//! Compatibility routes of the evaluator service: `POST /evaluator/evaluate` and its health.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;

use super::AppState;
use super::blocking::blocking;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{
    EvaluateOptions, EvaluateSequencesRequest, EvaluateSequencesResponse, ScoringProfile,
    evaluate_request,
};
use crate::store::StoreError;

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
    let response = blocking(move || {
        let symbols = request.metric_symbols();
        let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let metrics = worker
            .store
            .valid_metrics_now(&symbols, &metric_names(PROFILE))?;
        Ok::<_, StoreError>(
            worker
                .pool
                .install(|| evaluate_request(&request, &metrics, &options)),
        )
    })
    .await?;
    Ok(PyJson(response))
}
