//! Compatibility routes of the generator service: `POST /generator/generate` (NDJSON) and its
//! health.
//!
//! As in the reference, the whole pipeline runs before the answer starts, so every failure is a
//! status code; only writing the lines is streamed. The exhaustive mode (an addition) streams
//! as it generates, after a counting pass that fixes `total_batches`; the count stops at the
//! request's `max_sequences` (or `generator.route_max_sequences`), and both passes stop when
//! the client goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;

use super::AppState;
use super::body::read_json;
use super::error::ApiError;
use super::ndjson::{LineWriter, stream};
use crate::generator::GenerationMode;
use crate::generator::api::{GenerateSequencesRequest, generate_request};
use crate::generator::exhaustive::{Constraints, ExhaustiveGenerator, ExhaustiveSettings};

pub async fn generate(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Response, ApiError> {
    let request: GenerateSequencesRequest =
        read_json(body, state.config.server.max_body_bytes).await?;
    let errors = request.validate();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    match request.mode {
        GenerationMode::Reference => reference(&state, request).await,
        GenerationMode::Exhaustive => exhaustive(&state, request).await,
    }
}

/// The reference's sampler: every sequence generated first, then written.
async fn reference(
    state: &Arc<AppState>,
    request: GenerateSequencesRequest,
) -> Result<Response, ApiError> {
    let batch_size = usize::try_from(request.batch_size).unwrap_or(1);
    let seed = state.config.generator.sampler_seed;
    let worker = state.clone();
    let sequences = tokio::task::spawn_blocking(move || {
        worker.pool.install(|| generate_request(&request, seed))
    })
    .await?;
    Ok(stream(move |send| {
        let mut lines = LineWriter::new(sequences.len() as u64, batch_size, send);
        for sequence in sequences {
            if !lines.push(sequence) {
                return;
            }
        }
        lines.finish();
    }))
}

/// Every valid combination, streamed as generated after a counting pass.
async fn exhaustive(
    state: &Arc<AppState>,
    request: GenerateSequencesRequest,
) -> Result<Response, ApiError> {
    let batch_size = usize::try_from(request.batch_size).unwrap_or(1);
    let settings = ExhaustiveSettings {
        max_sequences: Some(
            request
                .exhaustive
                .max_sequences
                .unwrap_or(state.config.generator.route_max_sequences),
        ),
        ..request.exhaustive.clone()
    };
    let generator = Arc::new(ExhaustiveGenerator::new(
        &request.opportunities,
        &constraints(&request),
        &settings,
    ));
    let worker = state.clone();
    let counting = generator.clone();
    // A client that leaves before the first byte drops this future, and the guard with it,
    // which stops the count on its thread instead of letting it run on for nobody.
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&stop.0);
    let total =
        tokio::task::spawn_blocking(move || counting.count_until(&worker.pool, &flag)).await?;
    drop(stop);
    let pool = state.pool.clone();
    let chunk = state.config.generator.batch_size;
    Ok(stream(move |send| {
        let mut lines = LineWriter::new(total, batch_size, send);
        let (batches, handle) = generator.clone().spawn_stream(pool, chunk, 2);
        'batches: for batch in batches {
            for acts in batch.iter() {
                let sequence = acts
                    .iter()
                    .map(|a| generator.candidate_of(a).clone())
                    .collect();
                if !lines.push(sequence) {
                    break 'batches;
                }
            }
        }
        let _ = handle.join();
        lines.finish();
    }))
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The exhaustive generator's constraints from the request's feasibility settings.
fn constraints(request: &GenerateSequencesRequest) -> Constraints {
    Constraints {
        available_cash: request.feasibility.available_cash,
        transaction_cost_fixed: request.feasibility.transaction_cost_fixed,
        transaction_cost_percent: request.feasibility.transaction_cost_percent,
        min_trade_value: request.feasibility.min_trade_value,
        securities: request.domain_securities(),
        held: (!request.positions.is_empty()).then(|| {
            request
                .held_quantities()
                .into_iter()
                .map(|(symbol, quantity)| (symbol, quantity as f64))
                .collect()
        }),
        ..Constraints::default()
    }
}
