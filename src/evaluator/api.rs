//! The evaluator's request and response (`POST /evaluator/evaluate`, spec §1.3) and the
//! request-level evaluation shared by the route and the command line.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::breakdown::Breakdown;
use super::engine::{BasePortfolio, EvalParams, Prepared, Scratch};
use super::modes::{Details, Mode};
use super::portfolio_score::PortfolioScoreContext;
use super::run::{BatchOffsets, Beam, score_batch};
use super::settings::{DEFAULT_MONTE_CARLO_SEED, EvaluationSettings, ScoringProfile};
use super::symbol_terms::{ScorerInputs, SymbolTerms};
use crate::domain::sequence::{SequenceBatch, SymbolTable};
use crate::domain::validation::FieldError;
use crate::domain::{
    ActionCandidate, EvaluatorPositionBody, EvaluatorSecurityBody, MetricsBySymbol,
    PortfolioContextInput, Side,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluateSequencesRequest {
    pub sequences: Vec<Vec<ActionCandidate>>,
    pub portfolio_context: PortfolioContextInput,
    pub positions: Vec<EvaluatorPositionBody>,
    pub securities: Vec<EvaluatorSecurityBody>,
    #[serde(default)]
    pub current_prices: Option<HashMap<String, f64>>,
    #[serde(default)]
    pub settings: EvaluationSettings,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceEvaluationResult {
    pub sequence: Vec<ActionCandidate>,
    pub end_state_score: f64,
    pub diversification_score: f64,
    pub risk_score: f64,
    pub total_score: f64,
    pub total_cost: f64,
    pub cash_required: f64,
    pub feasible: bool,
    pub metrics: Breakdown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluateSequencesResponse {
    pub top_sequences: Vec<SequenceEvaluationResult>,
    pub total_evaluated: usize,
    pub beam_width: i64,
}

/// How a request is evaluated beyond its own settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvaluateOptions {
    pub profile: ScoringProfile,
    /// Monte Carlo seed when the request does not set one.
    pub default_seed: u64,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            profile: ScoringProfile::PythonCompat,
            default_seed: DEFAULT_MONTE_CARLO_SEED,
        }
    }
}

impl EvaluateSequencesRequest {
    /// Bound checks beyond the schema, located as FastAPI locates them.
    pub fn validate(&self) -> Vec<FieldError> {
        self.settings.validate(&["body", "settings"])
    }

    /// Symbols whose metrics the evaluation reads: every symbol of every sequence, then the
    /// positions, each once.
    pub fn metric_symbols(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let actions = self.sequences.iter().flatten().map(|a| a.symbol.as_str());
        let positions = self.positions.iter().map(|p| p.symbol.as_str());
        actions
            .chain(positions)
            .filter(|s| seen.insert(*s))
            .map(str::to_string)
            .collect()
    }
}

/// Prepares the request's portfolio and batch for scoring.
pub fn prepare(
    req: &EvaluateSequencesRequest,
    metrics: &MetricsBySymbol,
    profile: ScoringProfile,
) -> (Prepared, SequenceBatch) {
    let mut symbols = SymbolTable::default();
    let batch = SequenceBatch::from_candidates(&req.sequences, &mut symbols);
    let positions: Vec<(u32, f64)> = req
        .positions
        .iter()
        .map(|p| (symbols.intern(&p.symbol), p.value_eur))
        .collect();
    // Only membership in the price map matters: it decides which symbols get price shocks.
    let priced: HashSet<&str> = match &req.current_prices {
        Some(prices) if !prices.is_empty() => prices.keys().map(String::as_str).collect(),
        _ => req
            .sequences
            .iter()
            .flatten()
            .map(|a| a.symbol.as_str())
            .collect(),
    };
    // Every symbol here was fetched, so a symbol without rows reads as an empty metrics dict.
    let no_rows = HashMap::new();
    let terms = symbols
        .names()
        .iter()
        .map(|s| {
            let inputs =
                ScorerInputs::from_metrics(profile, Some(metrics.get(s).unwrap_or(&no_rows)));
            SymbolTerms::new(&inputs, priced.contains(s.as_str()))
        })
        .collect();
    let s = &req.settings;
    let total_value = req.portfolio_context.total_value_eur;
    let start_cash = match profile {
        // The reference evaluator ignores the request's cash and assumes 5 % of total value.
        ScoringProfile::PythonCompat => total_value * 0.05,
        ScoringProfile::Corrected => req.portfolio_context.available_cash,
    };
    // The evaluator's scoring context has no countries, targets, dividends or quality scores, so
    // the portfolio score is the same for every end state.
    let diversification = PortfolioScoreContext::default()
        .score(&[], total_value)
        .total
        / 100.0;
    let params = EvalParams {
        transaction_cost_fixed: s.transaction_cost_fixed,
        transaction_cost_percent: s.transaction_cost_percent,
        cost_penalty_factor: s.cost_penalty_factor,
        multi_timeframe: s.enable_multi_timeframe,
        risk_profile: s.risk_profile,
        weights: s.risk_profile.weights(),
    };
    let base = BasePortfolio {
        positions,
        total_value,
        start_cash,
        diversification,
    };
    let prepared = Prepared::new(symbols, terms, &base, params);
    (prepared, batch)
}

/// The scoring mode the settings select: Monte Carlo wins over stochastic scenarios.
pub fn mode_of(settings: &EvaluationSettings, default_seed: u64) -> Mode {
    if settings.enable_monte_carlo {
        Mode::MonteCarlo {
            paths: settings.monte_carlo_paths.max(1) as usize,
            seed: settings.monte_carlo_seed.unwrap_or(default_seed),
        }
    } else if settings.enable_stochastic_scenarios {
        Mode::Stochastic {
            shifts: settings.stochastic_scenario_shifts.clone(),
        }
    } else {
        Mode::Base
    }
}

/// Evaluates a validated request against the metrics of its symbols, in the current rayon pool.
pub fn evaluate_request(
    req: &EvaluateSequencesRequest,
    metrics: &MetricsBySymbol,
    options: &EvaluateOptions,
) -> EvaluateSequencesResponse {
    let settings = &req.settings;
    let (prepared, batch) = prepare(req, metrics, options.profile);
    let mode = mode_of(settings, options.default_seed);
    let mut order: Vec<u32> = (0..batch.len() as u32).collect();
    if settings.enable_priority_sorting {
        let priorities: Vec<f64> = (0..batch.len()).map(|i| batch.priority(i)).collect();
        // Stable: equal priorities keep request order, as Python's sorted(reverse=True) does.
        order.sort_by(|&a, &b| {
            priorities[b as usize]
                .partial_cmp(&priorities[a as usize])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    let width = settings.beam_width.clamp(1, i64::from(u32::MAX)) as usize;
    let mut beam = Beam::new(width, settings.enable_multi_objective);
    score_batch(
        &prepared,
        &mode,
        &batch,
        Some(&order),
        BatchOffsets::default(),
        &mut beam,
    );

    let mut scratch = Scratch::default();
    let top_sequences = beam
        .members()
        .into_iter()
        .map(|member| {
            let i = member.sequence as usize;
            let mut details = Details::default();
            let outcome = prepared.evaluate(
                &mode,
                batch.sequence(i),
                i as u64,
                &mut scratch,
                Some(&mut details),
            );
            let metrics = Breakdown::build(&prepared, &outcome.representative, &details);
            let sequence = req.sequences[i].clone();
            let (total_cost, cash_required) = reported_costs(&sequence, settings);
            let budget = match options.profile {
                ScoringProfile::PythonCompat => req.portfolio_context.total_value_eur,
                ScoringProfile::Corrected => req.portfolio_context.available_cash,
            };
            SequenceEvaluationResult {
                sequence,
                end_state_score: outcome.score,
                diversification_score: metrics.multi_objective.diversification_score,
                risk_score: metrics.multi_objective.risk_score,
                total_score: outcome.score,
                total_cost,
                cash_required,
                feasible: cash_required <= budget,
                metrics,
            }
        })
        .collect();
    EvaluateSequencesResponse {
        top_sequences,
        total_evaluated: req.sequences.len(),
        beam_width: settings.beam_width,
    }
}

/// The result's `total_cost` (Σ `fixed + value * percent` over all actions, no `abs`) and
/// `cash_required` (Σ over buys of `value + fixed + value * percent`).
pub fn reported_costs(sequence: &[ActionCandidate], settings: &EvaluationSettings) -> (f64, f64) {
    let fixed = settings.transaction_cost_fixed;
    let percent = settings.transaction_cost_percent;
    let total_cost = sequence
        .iter()
        .fold(0.0, |sum, a| sum + (fixed + a.value_eur * percent));
    let cash_required = sequence
        .iter()
        .filter(|a| a.side == Side::Buy)
        .fold(0.0, |sum, a| {
            sum + (a.value_eur + fixed + a.value_eur * percent)
        });
    (total_cost, cash_required)
}
