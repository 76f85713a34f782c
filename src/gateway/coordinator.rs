//! Compatibility route of the coordinator service: `POST /coordinator/create-plan`, run in
//! process (see `crate::coordinator::compat`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::post;

use super::AppState;
use super::blocking::blocking;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use crate::coordinator::compat::{
    CompatOptions, CompatRun, CreatePlanRequest, CreatePlanResponse, create_plan,
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/coordinator/create-plan", post(create))
}

async fn create(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<CreatePlanResponse>, ApiError> {
    let request: CreatePlanRequest = read_json(body, state.config.server.max_body_bytes).await?;
    let errors = request.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let run = run_compat(&state, request).await?;
    Ok(PyJson(run.response))
}

/// The options of a compatibility run from the configuration; the wall clock is read here, at
/// the edge.
pub(super) fn compat_options(state: &AppState) -> CompatOptions {
    CompatOptions {
        sampler_seed: state.config.generator.sampler_seed,
        monte_carlo_seed: state.config.evaluator.monte_carlo_seed,
        now: chrono::Local::now().naive_local(),
    }
}

/// Runs a validated request off the async workers: store reads and scoring share one blocking
/// task, the scoring inside the shared pool.
pub(super) async fn run_compat(
    state: &Arc<AppState>,
    request: CreatePlanRequest,
) -> Result<CompatRun, ApiError> {
    let options = compat_options(state);
    let worker = Arc::clone(state);
    blocking(move || {
        worker
            .pool
            .install(|| create_plan(&worker.store, &request, &options))
    })
    .await
}
