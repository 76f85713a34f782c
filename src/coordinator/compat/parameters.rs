//! The reference's `PlanningParameters` and `evaluator_config`: names, defaults and bounds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::validation::{FieldError, field_loc};

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
