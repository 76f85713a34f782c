//! The reference's `CreatePlanRequest`, its checks, and the requests it makes of the
//! opportunity, generator and evaluator modules (spec §6.1).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parameters::{EvaluatorSelection, PlanningParameters};
use crate::domain::validation::FieldError;
use crate::domain::{
    ActionCandidate, EvaluatorPositionBody, EvaluatorSecurityBody, PortfolioContextInput,
};
use crate::evaluator::{EvaluateSequencesRequest, EvaluationSettings};
use crate::generator::api::GenerateSequencesRequest;
use crate::generator::settings::{CombinatorialSettings, FeasibilitySettings, FilterSettings};
use crate::opportunity::api::{
    IdentifyOpportunitiesRequest, OpportunityPortfolioContext, OpportunityPositionBody,
    OpportunitySecurityBody,
};
use crate::opportunity::identified::Identified;

/// The request body (`CreatePlanRequest`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatePlanRequest {
    pub portfolio_context: PortfolioContextInput,
    pub positions: Vec<EvaluatorPositionBody>,
    pub securities: Vec<EvaluatorSecurityBody>,
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
                .map(|p| OpportunityPositionBody {
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
                .map(|s| OpportunitySecurityBody {
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

    pub(super) fn evaluate_request_for(
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
