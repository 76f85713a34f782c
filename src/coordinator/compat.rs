//! `POST /coordinator/create-plan` of the reference coordinator (spec §1.4, §6), run in
//! process: opportunity identification, reference-mode generation in batches, evaluation of
//! each batch with the reference's profile, a global beam with early termination, and the
//! plan of the best sequence.
//!
//! What the reference did over HTTP is a function call here, so nothing fails between the
//! steps: no batch is lost to an evaluator error, `evaluator_config.urls` only sets
//! `evaluators_used`, and the round-robin index (which leaked across requests) does not exist.
//! The generator's sampler is seeded, so the same request gives the same plan.

use std::collections::HashSet;
use std::time::Instant;

use chrono::NaiveDateTime;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::search::{PlateauRule, Search, StopRules};
use crate::domain::validation::{FieldError, field_loc};
use crate::domain::{
    ActionCandidate, MetricsBySymbol, PortfolioContextInput, PositionInput, SecurityInput, Side,
    normalize_symbol,
};
use crate::evaluator::api::SequenceEvaluationResult;
use crate::evaluator::symbol_terms::metric_names;
use crate::evaluator::{
    EvaluateOptions, EvaluateSequencesRequest, EvaluationSettings, ScoringProfile, evaluate_request,
};
use crate::generator::api::{GenerateSequencesRequest, generate_request};
use crate::generator::settings::{CombinatorialSettings, FeasibilitySettings, FilterSettings};
use crate::opportunity::api::{
    IdentifyOpportunitiesRequest, OpportunityPortfolioContext, OpportunityPosition,
    OpportunitySecurity, identify_request,
};
use crate::opportunity::heuristic::{CagrMetrics, HeuristicEnv};
use crate::opportunity::identified::Identified;
use crate::store::{Store, StoreError};

/// The reference's profile: the compatibility route scores as the reference evaluator did.
const PROFILE: ScoringProfile = ScoringProfile::PythonCompat;

/// The plan narrative of an empty beam.
pub const NO_PLAN_NARRATIVE: &str = "No feasible plan could be created.";

mod defaults {
    pub fn max_depth() -> i64 {
        4
    }
    pub fn beam_width() -> i64 {
        10
    }
    pub fn batch_size() -> i64 {
        500
    }
    pub fn cost_fixed() -> f64 {
        2.0
    }
    pub fn cost_percent() -> f64 {
        0.002
    }
    pub fn per_category() -> i64 {
        5
    }
    pub fn priority_threshold() -> f64 {
        0.3
    }
    pub fn per_depth() -> i64 {
        50
    }
    pub fn max_side() -> i64 {
        4
    }
    pub fn max_candidates() -> i64 {
        12
    }
    pub fn diversity_weight() -> f64 {
        0.3
    }
    pub fn min_batches() -> i64 {
        2
    }
    pub fn plateau() -> i64 {
        3
    }
    pub fn paths() -> i64 {
        100
    }
    pub fn penalty() -> f64 {
        0.1
    }
    pub fn yes() -> bool {
        true
    }
    pub fn urls() -> Vec<String> {
        ["8010", "8020", "8030"]
            .iter()
            .map(|port| format!("http://localhost:{port}"))
            .collect()
    }
    pub fn load_balancing() -> String {
        "round_robin".into()
    }
}

/// `PlanningParameters`: names, defaults and bounds are the reference's. Integers are `i64` so
/// an out-of-range value reaches [`PlanningParameters::validate`] and gets pydantic's bound
/// error rather than a type error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningParameters {
    #[serde(default = "defaults::max_depth")]
    pub max_depth: i64,
    #[serde(default = "defaults::beam_width")]
    pub beam_width: i64,
    #[serde(default = "defaults::batch_size")]
    pub batch_size: i64,
    #[serde(default = "defaults::cost_fixed")]
    pub transaction_cost_fixed: f64,
    #[serde(default = "defaults::cost_percent")]
    pub transaction_cost_percent: f64,
    #[serde(default = "defaults::per_category")]
    pub max_opportunities_per_category: i64,
    #[serde(default = "defaults::priority_threshold")]
    pub priority_threshold: f64,
    #[serde(default = "defaults::per_depth")]
    pub combinatorial_max_combinations_per_depth: i64,
    #[serde(default = "defaults::max_side")]
    pub combinatorial_max_sells: i64,
    #[serde(default = "defaults::max_side")]
    pub combinatorial_max_buys: i64,
    #[serde(default = "defaults::max_candidates")]
    pub combinatorial_max_candidates: i64,
    #[serde(default = "defaults::yes")]
    pub enable_combinatorial: bool,
    #[serde(default = "defaults::yes")]
    pub enable_diverse_selection: bool,
    #[serde(default = "defaults::diversity_weight")]
    pub diversity_weight: f64,
    #[serde(default = "defaults::yes")]
    pub enable_adaptive_patterns: bool,
    #[serde(default)]
    pub enable_market_regime: bool,
    #[serde(default)]
    pub enable_partial_execution: bool,
    #[serde(default)]
    pub enable_constraint_relaxation: bool,
    #[serde(default = "defaults::yes")]
    pub enable_correlation_aware: bool,
    #[serde(default = "defaults::yes")]
    pub enable_early_termination: bool,
    #[serde(default = "defaults::min_batches")]
    pub min_batches_to_evaluate: i64,
    #[serde(default = "defaults::plateau")]
    pub plateau_threshold: i64,
    #[serde(default)]
    pub enable_multi_objective: bool,
    #[serde(default)]
    pub enable_stochastic_scenarios: bool,
    #[serde(default)]
    pub enable_monte_carlo: bool,
    #[serde(default = "defaults::paths")]
    pub monte_carlo_paths: i64,
    #[serde(default)]
    pub enable_multi_timeframe: bool,
    #[serde(default = "defaults::penalty")]
    pub cost_penalty_factor: f64,
    #[serde(default = "defaults::yes")]
    pub enable_priority_sorting: bool,
}

impl Default for PlanningParameters {
    fn default() -> Self {
        serde_json::from_value(Value::Object(serde_json::Map::new()))
            .expect("every field has a default")
    }
}

impl PlanningParameters {
    /// The bounds of the reference's model, in field order; `loc` is where the parameters sit
    /// in the request.
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut e = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::int_range(&mut e, at("max_depth"), self.max_depth, 1, 10);
        FieldError::int_range(&mut e, at("beam_width"), self.beam_width, 1, 100);
        FieldError::int_range(&mut e, at("batch_size"), self.batch_size, 10, 5000);
        FieldError::float_min(
            &mut e,
            at("transaction_cost_fixed"),
            self.transaction_cost_fixed,
            0.0,
        );
        FieldError::float_range(
            &mut e,
            at("transaction_cost_percent"),
            self.transaction_cost_percent,
            0.0,
            0.1,
        );
        FieldError::int_range(
            &mut e,
            at("max_opportunities_per_category"),
            self.max_opportunities_per_category,
            1,
            20,
        );
        FieldError::float_range(
            &mut e,
            at("priority_threshold"),
            self.priority_threshold,
            0.0,
            1.0,
        );
        FieldError::int_range(
            &mut e,
            at("combinatorial_max_combinations_per_depth"),
            self.combinatorial_max_combinations_per_depth,
            10,
            200,
        );
        FieldError::int_range(
            &mut e,
            at("combinatorial_max_sells"),
            self.combinatorial_max_sells,
            1,
            10,
        );
        FieldError::int_range(
            &mut e,
            at("combinatorial_max_buys"),
            self.combinatorial_max_buys,
            1,
            10,
        );
        FieldError::int_range(
            &mut e,
            at("combinatorial_max_candidates"),
            self.combinatorial_max_candidates,
            4,
            30,
        );
        FieldError::float_range(
            &mut e,
            at("diversity_weight"),
            self.diversity_weight,
            0.0,
            1.0,
        );
        FieldError::int_range(
            &mut e,
            at("min_batches_to_evaluate"),
            self.min_batches_to_evaluate,
            1,
            20,
        );
        FieldError::int_range(
            &mut e,
            at("plateau_threshold"),
            self.plateau_threshold,
            1,
            10,
        );
        FieldError::int_range(
            &mut e,
            at("monte_carlo_paths"),
            self.monte_carlo_paths,
            10,
            500,
        );
        FieldError::float_range(
            &mut e,
            at("cost_penalty_factor"),
            self.cost_penalty_factor,
            0.0,
            1.0,
        );
        e
    }

    /// The field names, in order (what `POST /planning/create` accepts as constraints).
    pub fn field_names() -> Vec<String> {
        match serde_json::to_value(PlanningParameters::default()) {
            Ok(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

/// `evaluator_config`: the reference's evaluator addresses. Evaluation runs in process, so only
/// the number of URLs is used (`stats.evaluators_used`); `load_balancing` was ignored there too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorSelection {
    #[serde(default = "defaults::urls")]
    pub urls: Vec<String>,
    #[serde(default = "defaults::load_balancing")]
    pub load_balancing: String,
}

impl Default for EvaluatorSelection {
    fn default() -> Self {
        EvaluatorSelection {
            urls: defaults::urls(),
            load_balancing: defaults::load_balancing(),
        }
    }
}

/// The request body (`CreatePlanRequest`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatePlanRequest {
    pub portfolio_context: PortfolioContextInput,
    pub positions: Vec<PositionInput>,
    pub securities: Vec<SecurityInput>,
    /// EUR; passed to identification and generation (the evaluator assumes its own cash).
    pub available_cash: f64,
    #[serde(default)]
    pub target_weights: Option<IndexMap<String, f64>>,
    #[serde(default)]
    pub current_prices: Option<IndexMap<String, f64>>,
    #[serde(default)]
    pub parameters: PlanningParameters,
    #[serde(default)]
    pub evaluator_config: EvaluatorSelection,
}

fn body_loc(segments: &[&str]) -> Vec<Value> {
    std::iter::once("body")
        .chain(segments.iter().copied())
        .map(|s| match s.parse::<u64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(s),
        })
        .collect()
}

fn finite(errors: &mut Vec<FieldError>, segments: &[&str], value: f64) {
    if !value.is_finite() {
        errors.push(FieldError {
            kind: "finite_number".into(),
            loc: body_loc(segments),
            msg: "Input should be a finite number".into(),
            input: Value::Null,
            ctx: None,
        });
    }
}

fn value_error(errors: &mut Vec<FieldError>, segments: &[&str], message: &str, input: Value) {
    errors.push(FieldError::value_error(body_loc(segments), message, input));
}

impl CreatePlanRequest {
    /// The parameters' bounds, then what made a downstream service of the reference fail
    /// (which the reference answered with a 500): a blank symbol or name, a negative quantity,
    /// a non-positive average cost, negative cash, non-finite numbers, no evaluator URL.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = self.parameters.validate(&["body", "parameters"]);
        finite(
            &mut errors,
            &["portfolio_context", "total_value_eur"],
            self.portfolio_context.total_value_eur,
        );
        for (i, p) in self.positions.iter().enumerate() {
            let index = i.to_string();
            let at = |field: &'static str| ["positions", index.as_str(), field];
            if p.symbol.trim().is_empty() {
                value_error(
                    &mut errors,
                    &at("symbol"),
                    "symbol must not be empty",
                    Value::from(p.symbol.as_str()),
                );
            }
            if p.quantity < 0 {
                value_error(
                    &mut errors,
                    &at("quantity"),
                    "quantity must not be negative",
                    Value::from(p.quantity),
                );
            }
            if !p.average_cost.is_finite() {
                finite(&mut errors, &at("average_cost"), p.average_cost);
            } else if p.average_cost <= 0.0 {
                value_error(
                    &mut errors,
                    &at("average_cost"),
                    "average_cost must be greater than 0",
                    Value::from(p.average_cost),
                );
            }
            finite(&mut errors, &at("current_price"), p.current_price);
            finite(&mut errors, &at("value_eur"), p.value_eur);
            finite(
                &mut errors,
                &at("unrealized_gain_loss_percent"),
                p.unrealized_gain_loss_percent,
            );
        }
        for (i, s) in self.securities.iter().enumerate() {
            let index = i.to_string();
            let at = |field: &'static str| ["securities", index.as_str(), field];
            if s.symbol.trim().is_empty() {
                value_error(
                    &mut errors,
                    &at("symbol"),
                    "symbol must not be empty",
                    Value::from(s.symbol.as_str()),
                );
            }
            if s.name.trim().is_empty() {
                value_error(
                    &mut errors,
                    &at("name"),
                    "name must not be empty",
                    Value::from(s.name.as_str()),
                );
            }
        }
        if !self.available_cash.is_finite() {
            finite(&mut errors, &["available_cash"], self.available_cash);
        } else if self.available_cash < 0.0 {
            value_error(
                &mut errors,
                &["available_cash"],
                "available_cash must not be negative",
                Value::from(self.available_cash),
            );
        }
        for (name, map) in [
            ("target_weights", &self.target_weights),
            ("current_prices", &self.current_prices),
        ] {
            for (key, &value) in map.iter().flatten() {
                finite(&mut errors, &[name, key.as_str()], value);
            }
        }
        if self.evaluator_config.urls.is_empty() {
            errors.push(FieldError::new(
                "too_short",
                vec!["body".into(), "evaluator_config".into(), "urls".into()],
                "List should have at least 1 item after validation, not 0",
                Value::Array(vec![]),
                Some(serde_json::json!({
                    "field_type": "List", "min_length": 1, "actual_length": 0
                })),
            ));
        }
        errors
    }

    /// The opportunity request of spec §6.1 step 2: an empty position map in the context,
    /// securities without ISIN or country, both tradable.
    pub fn opportunity_request(&self) -> IdentifyOpportunitiesRequest {
        let p = &self.parameters;
        IdentifyOpportunitiesRequest {
            portfolio_context: OpportunityPortfolioContext {
                positions: IndexMap::new(),
                total_value: self.portfolio_context.total_value_eur,
                country_weights: IndexMap::new(),
                industry_weights: IndexMap::new(),
                security_countries: None,
                security_industries: None,
            },
            positions: self
                .positions
                .iter()
                .map(|p| OpportunityPosition {
                    symbol: p.symbol.clone(),
                    quantity: p.quantity,
                    avg_price: p.average_cost,
                    market_value_eur: p.value_eur,
                    unrealized_pnl_pct: p.unrealized_gain_loss_percent,
                })
                .collect(),
            securities: self
                .securities
                .iter()
                .map(|s| OpportunitySecurity {
                    symbol: s.symbol.clone(),
                    name: s.name.clone(),
                    isin: String::new(),
                    country: None,
                    industry: s.industry.clone(),
                    allow_buy: true,
                    allow_sell: true,
                })
                .collect(),
            available_cash: self.available_cash,
            target_weights: self.target_weights.clone(),
            current_prices: self.current_prices.clone(),
            transaction_cost_fixed: p.transaction_cost_fixed,
            transaction_cost_percent: p.transaction_cost_percent,
            recently_sold: None,
            ineligible_symbols: None,
        }
    }

    /// The generator request of spec §6.1 step 3 (no portfolio, positions or securities: the
    /// reference coordinator sent none, so adaptive patterns and the correlation filter idle).
    pub fn generator_request(&self, identified: &Identified) -> GenerateSequencesRequest {
        let p = &self.parameters;
        GenerateSequencesRequest {
            opportunities: identified.opportunities.clone(),
            feasibility: FeasibilitySettings {
                available_cash: self.available_cash,
                transaction_cost_fixed: p.transaction_cost_fixed,
                transaction_cost_percent: p.transaction_cost_percent,
                priority_threshold: p.priority_threshold,
                ..FeasibilitySettings::default()
            },
            combinatorial: CombinatorialSettings {
                max_depth: p.max_depth,
                max_opportunities_per_category: p.max_opportunities_per_category,
                priority_threshold: p.priority_threshold,
                combinatorial_max_combinations_per_depth: p
                    .combinatorial_max_combinations_per_depth,
                combinatorial_max_sells: p.combinatorial_max_sells,
                combinatorial_max_buys: p.combinatorial_max_buys,
                combinatorial_max_candidates: p.combinatorial_max_candidates,
                enable_weighted_combinations: p.enable_combinatorial,
                enable_diverse_selection: p.enable_diverse_selection,
                diversity_weight: p.diversity_weight,
                enable_adaptive_patterns: p.enable_adaptive_patterns,
                enable_partial_execution: p.enable_partial_execution,
                enable_constraint_relaxation: p.enable_constraint_relaxation,
                enable_market_regime: p.enable_market_regime,
                ..CombinatorialSettings::default()
            },
            filters: FilterSettings {
                enable_correlation_aware: p.enable_correlation_aware,
                ..FilterSettings::default()
            },
            batch_size: p.batch_size,
            portfolio_context: None,
            positions: Vec::new(),
            securities: Vec::new(),
            market_regime: None,
            mode: Default::default(),
            exhaustive: Default::default(),
        }
    }

    /// The evaluation settings of spec §6.1 step 4.3; the stochastic shifts stay the default.
    pub fn evaluation_settings(&self) -> EvaluationSettings {
        let p = &self.parameters;
        EvaluationSettings {
            beam_width: p.beam_width,
            transaction_cost_fixed: p.transaction_cost_fixed,
            transaction_cost_percent: p.transaction_cost_percent,
            cost_penalty_factor: p.cost_penalty_factor,
            enable_multi_objective: p.enable_multi_objective,
            enable_stochastic_scenarios: p.enable_stochastic_scenarios,
            enable_monte_carlo: p.enable_monte_carlo,
            monte_carlo_paths: p.monte_carlo_paths,
            enable_multi_timeframe: p.enable_multi_timeframe,
            enable_priority_sorting: p.enable_priority_sorting,
            ..EvaluationSettings::default()
        }
    }

    fn evaluate_request_for(
        &self,
        sequences: Vec<Vec<ActionCandidate>>,
    ) -> EvaluateSequencesRequest {
        EvaluateSequencesRequest {
            sequences,
            portfolio_context: self.portfolio_context.clone(),
            positions: self.positions.clone(),
            securities: self.securities.clone(),
            current_prices: self
                .current_prices
                .as_ref()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            settings: self.evaluation_settings(),
        }
    }
}

/// `HolisticStepModel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HolisticStepModel {
    /// 1-based.
    pub step_number: usize,
    pub action: ActionCandidate,
    pub narrative: String,
    pub reason: String,
    pub cumulative_cost: f64,
    pub cumulative_cash_change: f64,
}

/// `metadata` of the plan: both keys, or none (`{}`) for an empty plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beam_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_sequence_length: Option<usize>,
}

/// `HolisticPlanModel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HolisticPlanModel {
    pub steps: Vec<HolisticStepModel>,
    pub narrative: String,
    pub total_score: f64,
    pub end_state_score: f64,
    pub diversification_score: f64,
    pub risk_score: f64,
    pub total_cost: f64,
    pub cash_required: f64,
    pub feasible: bool,
    pub metadata: PlanMetadata,
}

/// `ExecutionStats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStats {
    pub total_time_seconds: f64,
    pub opportunities_identified: usize,
    pub sequences_generated: usize,
    pub sequences_evaluated: usize,
    pub batches_processed: usize,
    pub evaluators_used: usize,
}

/// The response body (`CreatePlanResponse`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatePlanResponse {
    pub plan: HolisticPlanModel,
    pub stats: ExecutionStats,
}

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
mod tests {
    use super::*;
    use crate::domain::validation::decode_body;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "portfolio_context": {"total_value_eur": 1000.0},
            "positions": [],
            "securities": [],
            "available_cash": 1000.0
        })
    }

    fn decode(body: &Value) -> CreatePlanRequest {
        decode_body(&serde_json::to_vec(body).unwrap()).unwrap()
    }

    #[test]
    fn defaults_are_the_reference_defaults() {
        let r = decode(&minimal());
        let p = &r.parameters;
        assert_eq!((p.max_depth, p.beam_width, p.batch_size), (4, 10, 500));
        assert_eq!(
            (p.transaction_cost_fixed, p.transaction_cost_percent),
            (2.0, 0.002)
        );
        assert!(p.enable_combinatorial && p.enable_early_termination && !p.enable_monte_carlo);
        assert!(!p.enable_partial_execution && !p.enable_constraint_relaxation);
        assert_eq!((p.min_batches_to_evaluate, p.plateau_threshold), (2, 3));
        assert_eq!(r.evaluator_config.urls.len(), 3);
        assert_eq!(r.evaluator_config.urls[0], "http://localhost:8010");
        assert!(r.validate().is_empty());
        assert_eq!(PlanningParameters::field_names().len(), 29);
    }

    #[test]
    fn every_bound_is_checked_in_field_order() {
        let mut body = minimal();
        body["parameters"] = json!({
            "max_depth": 0, "beam_width": 101, "batch_size": 9,
            "transaction_cost_fixed": -1.0, "transaction_cost_percent": 0.2,
            "max_opportunities_per_category": 21, "priority_threshold": 1.5,
            "combinatorial_max_combinations_per_depth": 9, "combinatorial_max_sells": 0,
            "combinatorial_max_buys": 11, "combinatorial_max_candidates": 3,
            "diversity_weight": -0.1, "min_batches_to_evaluate": 21, "plateau_threshold": 0,
            "monte_carlo_paths": 501, "cost_penalty_factor": 1.1
        });
        let errors = decode(&body).validate();
        let fields: Vec<&str> = errors.iter().map(|e| e.loc[2].as_str().unwrap()).collect();
        assert_eq!(
            fields,
            [
                "max_depth",
                "beam_width",
                "batch_size",
                "transaction_cost_fixed",
                "transaction_cost_percent",
                "max_opportunities_per_category",
                "priority_threshold",
                "combinatorial_max_combinations_per_depth",
                "combinatorial_max_sells",
                "combinatorial_max_buys",
                "combinatorial_max_candidates",
                "diversity_weight",
                "min_batches_to_evaluate",
                "plateau_threshold",
                "monte_carlo_paths",
                "cost_penalty_factor"
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| e.loc[0] == "body" && e.loc[1] == "parameters")
        );
        assert_eq!(errors[0].kind, "greater_than_equal");
        assert_eq!(errors[1].kind, "less_than_equal");
    }

    #[test]
    fn inputs_that_crashed_the_reference_are_located() {
        let mut body = minimal();
        body["positions"] = json!([{
            "symbol": " ", "quantity": -1, "average_cost": 0.0, "current_price": 1.0,
            "value_eur": 1.0, "currency": "EUR"
        }]);
        body["securities"] =
            json!([{"symbol": "A", "name": "", "current_price": 1.0, "currency": "EUR"}]);
        body["available_cash"] = json!(-5.0);
        body["evaluator_config"] = json!({"urls": []});
        let errors = decode(&body).validate();
        let locs: Vec<Value> = errors.iter().map(|e| Value::Array(e.loc.clone())).collect();
        assert_eq!(
            locs,
            [
                json!(["body", "positions", 0, "symbol"]),
                json!(["body", "positions", 0, "quantity"]),
                json!(["body", "positions", 0, "average_cost"]),
                json!(["body", "securities", 0, "name"]),
                json!(["body", "available_cash"]),
                json!(["body", "evaluator_config", "urls"]),
            ]
        );
    }

    fn action(side: Side, value: f64) -> ActionCandidate {
        ActionCandidate {
            side,
            symbol: "AAA".into(),
            name: "Alpha".into(),
            quantity: 3,
            price: value / 3.0,
            value_eur: value,
            currency: "EUR".into(),
            priority: 0.5,
            reason: "why".into(),
            tags: vec![],
        }
    }

    #[test]
    fn an_empty_beam_is_the_no_plan_plan() {
        let plan = build_plan(None, 0, &PlanningParameters::default());
        assert_eq!(plan.narrative, NO_PLAN_NARRATIVE);
        assert!(!plan.feasible && plan.steps.is_empty());
        assert_eq!(serde_json::to_value(&plan.metadata).unwrap(), json!({}));
    }

    #[test]
    fn steps_accumulate_costs_and_cash() {
        let p = PlanningParameters::default();
        let best = SequenceEvaluationResult {
            sequence: vec![action(Side::Sell, 1000.0), action(Side::Buy, 500.0)],
            end_state_score: 0.6,
            diversification_score: 0.4,
            risk_score: 0.5,
            total_score: 0.59,
            total_cost: 7.0,
            cash_required: 503.0,
            feasible: true,
            metrics: serde_json::from_value(json!({
                "error": "Invalid portfolio data",
                "multi_objective": {"end_score": 0.0, "diversification_score": 0.0,
                    "risk_score": 0.0, "transaction_cost": 0.0}
            }))
            .unwrap(),
        };
        let plan = build_plan(Some(&best), 4, &p);
        assert_eq!(plan.narrative, "Execute 2 trades to optimize portfolio.");
        assert_eq!(plan.steps[0].step_number, 1);
        assert_eq!(plan.steps[0].narrative, "SELL 3 shares of Alpha (AAA)");
        assert_eq!(plan.steps[1].narrative, "BUY 3 shares of Alpha (AAA)");
        assert_eq!(plan.steps[0].cumulative_cost, 4.0);
        assert_eq!(plan.steps[0].cumulative_cash_change, 996.0);
        assert_eq!(plan.steps[1].cumulative_cost, 7.0);
        assert_eq!(plan.steps[1].cumulative_cash_change, 996.0 - 503.0);
        assert_eq!(
            serde_json::to_value(&plan.metadata).unwrap(),
            json!({"beam_size": 4, "best_sequence_length": 2})
        );
        assert_eq!(plan.total_score, 0.59);
    }
}
