//! `POST /coordinator/create-plan` of the reference coordinator (spec §1.4, §6), run in
//! process: opportunity identification, reference-mode generation in batches, evaluation of
//! each batch with the reference's profile, a global beam with early termination, and the
//! plan of the best sequence.
//!
//! What the reference did over HTTP is a function call here, so nothing fails between the
//! steps: no batch is lost to an evaluator error, `evaluator_config.urls` only sets
//! `evaluators_used`, and the round-robin index (which leaked across requests) does not exist.
//! The generator's sampler is seeded, so the same request gives the same plan.

mod parameters;
mod request;
mod response;

use std::collections::HashSet;
use std::time::Instant;

use chrono::NaiveDateTime;

pub use parameters::{EvaluatorSelection, PlanningParameters};
pub use request::CreatePlanRequest;
pub use response::{
    CreatePlanResponse, ExecutionStats, HolisticPlanModel, HolisticStepModel, PlanMetadata,
};

use super::search::{PlateauRule, Search, StopRules};
use crate::domain::{ActionCandidate, MetricsBySymbol, Side, normalize_symbol};
use crate::evaluator::api::SequenceEvaluationResult;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{EvaluateOptions, ScoringProfile, evaluate_request};
use crate::generator::api::generate_request;
use crate::opportunity::api::{IdentifyOpportunitiesRequest, identify_request};
use crate::opportunity::heuristic::{CagrMetrics, HeuristicEnv};
use crate::opportunity::identified::Identified;
use crate::store::{Store, StoreError};

/// The reference's profile: the compatibility route scores as the reference evaluator did.
const PROFILE: ScoringProfile = ScoringProfile::PythonCompat;

/// The plan narrative of an empty beam.
pub const NO_PLAN_NARRATIVE: &str = "No feasible plan could be created.";

/// What the caller supplies besides the request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompatOptions {
    /// Seed of the generator's sampler.
    pub sampler_seed: u64,
    /// Monte Carlo seed (the request cannot set one).
    pub monte_carlo_seed: u64,
    /// The instant the heuristic identification measures from.
    pub now: NaiveDateTime,
}

/// One run: the answer, and what a caller that keeps the plan needs besides it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompatRun {
    pub response: CreatePlanResponse,
    /// The best evaluated sequence (`global[0]`), when there is one.
    pub best: Option<SequenceEvaluationResult>,
    /// Identification's answer, with the rejected candidates.
    pub identified: Identified,
}

/// Runs the coordinator workflow on a validated request. Blocking (store reads) and CPU-bound:
/// run it off the async runtime, inside the scoring pool.
pub fn create_plan(
    store: &Store,
    request: &CreatePlanRequest,
    options: &CompatOptions,
) -> Result<CompatRun, StoreError> {
    create_plan_with(store, request, options, |_| {})
}

/// [`create_plan`] with a last say on the identification request: a caller that knows more of
/// the securities than the compatibility request carries (ISIN, country, trading flags) puts
/// it in here.
pub fn create_plan_with(
    store: &Store,
    request: &CreatePlanRequest,
    options: &CompatOptions,
    adjust: impl FnOnce(&mut IdentifyOpportunitiesRequest),
) -> Result<CompatRun, StoreError> {
    let started = Instant::now();
    let p = &request.parameters;

    let mut opportunity = request.opportunity_request();
    adjust(&mut opportunity);
    let mut env = HeuristicEnv::new(options.now);
    if !opportunity.uses_target_weights() {
        heuristic_env(store, &opportunity, &mut env)?;
    }
    let identified = identify_request(&opportunity, &env);

    let generation = request.generator_request(&identified);
    let sequences = generate_request(&generation, options.sampler_seed);
    let metrics = evaluation_metrics(store, request, &identified)?;
    let evaluate_options = EvaluateOptions {
        profile: PROFILE,
        default_seed: options.monte_carlo_seed,
    };

    let batch_size = usize::try_from(p.batch_size).unwrap_or(1).max(1);
    let width = usize::try_from(p.beam_width).unwrap_or(1).max(1);
    let mut global: Vec<SequenceEvaluationResult> = Vec::new();
    // The reference's early termination (spec §6.4): its best score starts at 0.
    let mut search = Search::new(
        StopRules {
            plateau: p.enable_early_termination.then_some(PlateauRule {
                min_batches: u64::try_from(p.min_batches_to_evaluate).unwrap_or(0),
                batches: u64::try_from(p.plateau_threshold).unwrap_or(0),
            }),
            ..StopRules::default()
        },
        Some(0.0),
    );
    let (mut generated, mut evaluated) = (0usize, 0usize);
    let mut remaining = sequences.into_iter().peekable();
    // The generator always sends at least one batch line, even an empty one.
    let mut first = true;
    while first || remaining.peek().is_some() {
        first = false;
        let batch: Vec<Vec<ActionCandidate>> = remaining.by_ref().take(batch_size).collect();
        generated += batch.len();
        let answer = evaluate_request(
            &request.evaluate_request_for(batch),
            &metrics,
            &evaluate_options,
        );
        evaluated += answer.total_evaluated;
        let before = global.len();
        global.extend(answer.top_sequences);
        // Stable: equal scores keep their arrival order, as Python's sort does.
        global.sort_by(|a, b| {
            b.total_score
                .partial_cmp(&a.total_score)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        global.truncate(width);
        let top = global.first().map(|r| r.total_score);
        if search.after_batch(top, global.len() > before).is_break() {
            break;
        }
    }

    let plan = build_plan(global.first(), global.len(), p);
    let stats = ExecutionStats {
        total_time_seconds: started.elapsed().as_secs_f64(),
        opportunities_identified: identified.opportunities.len(),
        sequences_generated: generated,
        sequences_evaluated: evaluated,
        batches_processed: usize::try_from(search.batches()).unwrap_or(usize::MAX),
        evaluators_used: request.evaluator_config.urls.len(),
    };
    Ok(CompatRun {
        response: CreatePlanResponse { plan, stats },
        best: global.into_iter().next(),
        identified,
    })
}

/// Scores the portfolio as it stands (the empty sequence) with the request's evaluation
/// settings: the "before" of a plan, on the evaluator's 0–1 scale.
pub fn current_score(
    store: &Store,
    request: &CreatePlanRequest,
    options: &CompatOptions,
) -> Result<f64, StoreError> {
    let evaluation = request.evaluate_request_for(vec![Vec::new()]);
    let symbols = evaluation.metric_symbols();
    let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let metrics = store.valid_metrics_now(&symbols, &metric_names(PROFILE))?;
    let answer = evaluate_request(
        &evaluation,
        &metrics,
        &EvaluateOptions {
            profile: PROFILE,
            default_seed: options.monte_carlo_seed,
        },
    );
    Ok(answer
        .top_sequences
        .first()
        .map_or(0.0, |r| r.end_state_score))
}

/// The plan of spec §6.5 from the best result.
fn build_plan(
    best: Option<&SequenceEvaluationResult>,
    beam_size: usize,
    p: &PlanningParameters,
) -> HolisticPlanModel {
    let Some(best) = best else {
        return HolisticPlanModel {
            steps: Vec::new(),
            narrative: NO_PLAN_NARRATIVE.into(),
            total_score: 0.0,
            end_state_score: 0.0,
            diversification_score: 0.0,
            risk_score: 0.0,
            total_cost: 0.0,
            cash_required: 0.0,
            feasible: false,
            metadata: PlanMetadata::default(),
        };
    };
    let (mut cost, mut cash) = (0.0, 0.0);
    let steps: Vec<HolisticStepModel> = best
        .sequence
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let step_cost =
                p.transaction_cost_fixed + action.value_eur * p.transaction_cost_percent;
            cost += step_cost;
            match action.side {
                Side::Buy => cash -= action.value_eur + step_cost,
                Side::Sell => cash += action.value_eur - step_cost,
            }
            HolisticStepModel {
                step_number: i + 1,
                action: action.clone(),
                narrative: step_narrative(action),
                reason: action.reason.clone(),
                cumulative_cost: cost,
                cumulative_cash_change: cash,
            }
        })
        .collect();
    let n = steps.len();
    HolisticPlanModel {
        steps,
        narrative: format!("Execute {n} trades to optimize portfolio."),
        total_score: best.total_score,
        end_state_score: best.end_state_score,
        diversification_score: best.diversification_score,
        risk_score: best.risk_score,
        total_cost: best.total_cost,
        cash_required: best.cash_required,
        feasible: best.feasible,
        metadata: PlanMetadata {
            beam_size: Some(beam_size),
            best_sequence_length: Some(n),
        },
    }
}

/// The coordinator's one-line step narrative (the rich narratives are not used there).
fn step_narrative(action: &ActionCandidate) -> String {
    let side = match action.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    };
    format!(
        "{side} {} shares of {} ({})",
        action.quantity, action.name, action.symbol
    )
}

/// Metrics for every symbol a sequence can contain (the candidates) and every position, read
/// once for all batches.
fn evaluation_metrics(
    store: &Store,
    request: &CreatePlanRequest,
    identified: &Identified,
) -> Result<MetricsBySymbol, StoreError> {
    let mut seen = HashSet::new();
    let symbols: Vec<&str> = identified
        .opportunities
        .iter()
        .map(|(_, a)| a.symbol.as_str())
        .chain(request.positions.iter().map(|p| p.symbol.as_str()))
        .filter(|s| seen.insert(*s))
        .collect();
    store.valid_metrics_now(&symbols, &metric_names(PROFILE))
}

const CAGR_METRICS: [&str; 2] = ["CAGR_5Y", "CAGR_10Y"];

/// The heuristic path's environment for an identification request: the request's prices stand
/// in for the quote feed, growth metrics come from the store. Shared with the opportunity route.
pub fn heuristic_env(
    store: &Store,
    request: &IdentifyOpportunitiesRequest,
    env: &mut HeuristicEnv,
) -> Result<(), StoreError> {
    env.prices = request.current_prices.clone().unwrap_or_default();
    let symbols: Vec<String> = request
        .positions
        .iter()
        .map(|p| normalize_symbol(&p.symbol))
        .collect();
    let symbols: Vec<&str> = symbols.iter().map(String::as_str).collect();
    env.cagr = store
        .valid_metrics_now(&symbols, &CAGR_METRICS)?
        .into_iter()
        .map(|(symbol, values)| (symbol, CagrMetrics::from_values(&values)))
        .collect();
    Ok(())
}

#[cfg(test)]
mod tests;
