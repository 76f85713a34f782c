//! Compatibility routes of the opportunity service: `POST /opportunity/identify` and its health.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;

use super::AppState;
use super::blocking::blocking;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use crate::domain::Opportunities;
use crate::opportunity::api::{IdentifyOpportunitiesRequest, identify_request};
use crate::opportunity::heuristic::HeuristicEnv;
use crate::store::StoreError;

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
    let identified = blocking(move || {
        let mut env = HeuristicEnv::new(now);
        if !request.uses_target_weights() {
            crate::coordinator::compat::heuristic_env(&worker.store, &request, &mut env)?;
        }
        Ok::<_, StoreError>(identify_request(&request, &env))
    })
    .await?;
    Ok(PyJson(identified.opportunities))
}
