//! Evaluation settings (the reference's `EvaluationSettings`), their bounds, and the scoring
//! profiles.

use serde::{Deserialize, Serialize};

use crate::domain::validation::{FieldError, field_loc};

/// Default Monte Carlo seed: fixed, so two runs of the same request agree.
pub const DEFAULT_MONTE_CARLO_SEED: u64 = 42;

fn default_beam_width() -> i64 {
    10
}
fn default_fixed() -> f64 {
    2.0
}
fn default_percent() -> f64 {
    0.002
}
fn default_penalty() -> f64 {
    0.1
}
fn default_shifts() -> Vec<f64> {
    vec![-0.10, -0.05, 0.0, 0.05, 0.10]
}
fn default_paths() -> i64 {
    100
}
fn default_true() -> bool {
    true
}

/// Feature switches of one evaluation request. Field names, defaults and bounds are the
/// reference's; `monte_carlo_seed` and `risk_profile` are additions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSettings {
    #[serde(default = "default_beam_width")]
    pub beam_width: i64,
    #[serde(default = "default_fixed")]
    pub transaction_cost_fixed: f64,
    #[serde(default = "default_percent")]
    pub transaction_cost_percent: f64,
    #[serde(default = "default_penalty")]
    pub cost_penalty_factor: f64,
    #[serde(default)]
    pub enable_multi_objective: bool,
    #[serde(default)]
    pub enable_stochastic_scenarios: bool,
    #[serde(default = "default_shifts")]
    pub stochastic_scenario_shifts: Vec<f64>,
    #[serde(default)]
    pub enable_monte_carlo: bool,
    #[serde(default = "default_paths")]
    pub monte_carlo_paths: i64,
    #[serde(default)]
    pub enable_multi_timeframe: bool,
    #[serde(default = "default_true")]
    pub enable_priority_sorting: bool,
    /// Seed of the Monte Carlo RNG; absent means the configured default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monte_carlo_seed: Option<u64>,
    /// Weight set of the end-state score; the reference always uses `balanced`.
    #[serde(default)]
    pub risk_profile: RiskProfile,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        EvaluationSettings {
            beam_width: default_beam_width(),
            transaction_cost_fixed: default_fixed(),
            transaction_cost_percent: default_percent(),
            cost_penalty_factor: default_penalty(),
            enable_multi_objective: false,
            enable_stochastic_scenarios: false,
            stochastic_scenario_shifts: default_shifts(),
            enable_monte_carlo: false,
            monte_carlo_paths: default_paths(),
            enable_multi_timeframe: false,
            enable_priority_sorting: true,
            monte_carlo_seed: None,
            risk_profile: RiskProfile::Balanced,
        }
    }
}

impl EvaluationSettings {
    /// Checks the reference's bounds; `loc` is the path of the settings object in the request.
    /// Also rejects what made the reference fail with a 500: an empty shift list when stochastic
    /// scenarios are on.
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::int_range(&mut errors, at("beam_width"), self.beam_width, 1, 100);
        FieldError::float_min(
            &mut errors,
            at("transaction_cost_fixed"),
            self.transaction_cost_fixed,
            0.0,
        );
        FieldError::float_range(
            &mut errors,
            at("transaction_cost_percent"),
            self.transaction_cost_percent,
            0.0,
            0.1,
        );
        FieldError::float_range(
            &mut errors,
            at("cost_penalty_factor"),
            self.cost_penalty_factor,
            0.0,
            1.0,
        );
        FieldError::int_range(
            &mut errors,
            at("monte_carlo_paths"),
            self.monte_carlo_paths,
            10,
            500,
        );
        if self.enable_stochastic_scenarios
            && !self.enable_monte_carlo
            && self.stochastic_scenario_shifts.is_empty()
        {
            errors.push(FieldError::too_short(
                at("stochastic_scenario_shifts"),
                1,
                0,
            ));
        }
        errors
    }
}

/// The weight sets of the end-state score (`get_risk_profile_weights`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RiskProfile {
    Conservative,
    #[default]
    Balanced,
    Aggressive,
}

/// Weights of total return, diversification, long-term promise, stability and opinion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProfileWeights {
    pub total_return: f64,
    pub diversification: f64,
    pub long_term_promise: f64,
    pub stability: f64,
    pub opinion: f64,
}

impl RiskProfile {
    pub fn weights(self) -> ProfileWeights {
        let (total_return, diversification, long_term_promise, stability, opinion) = match self {
            RiskProfile::Balanced => (0.35, 0.25, 0.20, 0.15, 0.05),
            RiskProfile::Conservative => (0.25, 0.30, 0.20, 0.20, 0.05),
            RiskProfile::Aggressive => (0.45, 0.20, 0.25, 0.05, 0.05),
        };
        ProfileWeights {
            total_return,
            diversification,
            long_term_promise,
            stability,
            opinion,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How metrics are looked up and which cash the simulation starts from. Both profiles run the
/// same code; the profile is a value (see docs/divergences.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScoringProfile {
    /// The reference evaluator, bugs included: the evaluator's metric names (missing → 0.0),
    /// 5 % of total value as cash, feasibility against total value.
    #[default]
    PythonCompat,
    /// The scorer's real metric names with its documented defaults, the request's available cash,
    /// feasibility against that cash.
    Corrected,
}
