//! The generator request's three settings objects (`FeasibilitySettings`,
//! `CombinatorialSettings`, `FilterSettings`): field names, defaults and pydantic bounds are the
//! reference's, so a request the reference accepts is accepted here and a rejected one gets the
//! same 422 error.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::domain::validation::{FieldError, field_loc};

fn default_cost_fixed() -> f64 {
    2.0
}
fn default_cost_percent() -> f64 {
    0.002
}
fn default_min_trade_value() -> f64 {
    100.0
}
fn default_priority_threshold() -> f64 {
    0.3
}
fn default_max_depth() -> i64 {
    4
}
fn default_max_combinations() -> i64 {
    1000
}
fn default_max_per_category() -> i64 {
    5
}
fn default_combinations_per_depth() -> i64 {
    50
}
fn default_max_side() -> i64 {
    4
}
fn default_max_candidates() -> i64 {
    12
}
fn default_diversity_weight() -> f64 {
    0.3
}
fn default_correlation_threshold() -> f64 {
    0.7
}
fn default_min_sequence_value() -> f64 {
    100.0
}
fn default_true() -> bool {
    true
}

/// What the feasibility filter (and the patterns' cash bookkeeping) starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeasibilitySettings {
    /// Starting cash in EUR; required in a request.
    pub available_cash: f64,
    #[serde(default = "default_cost_fixed")]
    pub transaction_cost_fixed: f64,
    #[serde(default = "default_cost_percent")]
    pub transaction_cost_percent: f64,
    /// Every action, buy or sell, must move at least this much (EUR).
    #[serde(default = "default_min_trade_value")]
    pub min_trade_value: f64,
    /// Sequences whose average priority is below this are dropped.
    #[serde(default = "default_priority_threshold")]
    pub priority_threshold: f64,
}

impl Default for FeasibilitySettings {
    /// The reference's defaults with no cash.
    fn default() -> Self {
        FeasibilitySettings::new(0.0)
    }
}

impl FeasibilitySettings {
    /// The reference's defaults with the given starting cash.
    pub fn new(available_cash: f64) -> Self {
        FeasibilitySettings {
            available_cash,
            transaction_cost_fixed: default_cost_fixed(),
            transaction_cost_percent: default_cost_percent(),
            min_trade_value: default_min_trade_value(),
            priority_threshold: default_priority_threshold(),
        }
    }

    /// Checks the pydantic bounds; `loc` is the path of this object in the request.
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::float_min(&mut errors, at("available_cash"), self.available_cash, 0.0);
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
        FieldError::float_min(
            &mut errors,
            at("min_trade_value"),
            self.min_trade_value,
            0.0,
        );
        FieldError::float_range(
            &mut errors,
            at("priority_threshold"),
            self.priority_threshold,
            0.0,
            1.0,
        );
        errors
    }
}

/// Depth, top-N and sampler knobs plus the switches of the optional stages.
///
/// Integers are `i64` so an out-of-range value (0, negative) reaches `validate` and is reported
/// with pydantic's bound error rather than as a type error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CombinatorialSettings {
    /// Depths 1..=max_depth are generated; also the step cap of the adaptive, regime and
    /// partial-execution stages. 1..=10.
    #[serde(default = "default_max_depth")]
    pub max_depth: i64,
    /// Accepted and bounded (10..=10000) but unused, as in the reference.
    #[serde(default = "default_max_combinations")]
    pub max_combinations: i64,
    /// Top-N per category fed to the patterns. 1..=20.
    #[serde(default = "default_max_per_category")]
    pub max_opportunities_per_category: i64,
    /// Minimum priority of a sampler candidate. 0..=1.
    #[serde(default = "default_priority_threshold")]
    pub priority_threshold: f64,
    /// Sequences the sampler aims for per depth. 10..=200.
    #[serde(default = "default_combinations_per_depth")]
    pub combinatorial_max_combinations_per_depth: i64,
    /// Most sells per sampled sequence. 1..=10.
    #[serde(default = "default_max_side")]
    pub combinatorial_max_sells: i64,
    /// Most buys per sampled sequence. 1..=10.
    #[serde(default = "default_max_side")]
    pub combinatorial_max_buys: i64,
    /// Sells and buys (each) the sampler draws from, highest priority first. 4..=30.
    #[serde(default = "default_max_candidates")]
    pub combinatorial_max_candidates: i64,
    /// Switches the random combinatorial sampler on.
    #[serde(default = "default_true")]
    pub enable_weighted_combinations: bool,
    /// Diverse top-N (clusters) instead of a plain slice.
    #[serde(default = "default_true")]
    pub enable_diverse_selection: bool,
    /// Weight of the diversity bonus in the top-N ordering. 0..=1.
    #[serde(default = "default_diversity_weight")]
    pub diversity_weight: f64,
    #[serde(default = "default_true")]
    pub enable_adaptive_patterns: bool,
    #[serde(default = "default_true")]
    pub enable_partial_execution: bool,
    #[serde(default = "default_true")]
    pub enable_constraint_relaxation: bool,
    #[serde(default)]
    pub enable_market_regime: bool,
    /// Seed of the sampler; absent means the caller's configured default. The reference's
    /// sampler is unseeded and so not reproducible; a seed makes a request repeatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Default for CombinatorialSettings {
    fn default() -> Self {
        CombinatorialSettings {
            max_depth: default_max_depth(),
            max_combinations: default_max_combinations(),
            max_opportunities_per_category: default_max_per_category(),
            priority_threshold: default_priority_threshold(),
            combinatorial_max_combinations_per_depth: default_combinations_per_depth(),
            combinatorial_max_sells: default_max_side(),
            combinatorial_max_buys: default_max_side(),
            combinatorial_max_candidates: default_max_candidates(),
            enable_weighted_combinations: true,
            enable_diverse_selection: true,
            diversity_weight: default_diversity_weight(),
            enable_adaptive_patterns: true,
            enable_partial_execution: true,
            enable_constraint_relaxation: true,
            enable_market_regime: false,
            seed: None,
        }
    }
}

impl CombinatorialSettings {
    /// Checks the pydantic bounds; `loc` is the path of this object in the request.
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::int_range(&mut errors, at("max_depth"), self.max_depth, 1, 10);
        FieldError::int_range(
            &mut errors,
            at("max_combinations"),
            self.max_combinations,
            10,
            10000,
        );
        FieldError::int_range(
            &mut errors,
            at("max_opportunities_per_category"),
            self.max_opportunities_per_category,
            1,
            20,
        );
        FieldError::float_range(
            &mut errors,
            at("priority_threshold"),
            self.priority_threshold,
            0.0,
            1.0,
        );
        FieldError::int_range(
            &mut errors,
            at("combinatorial_max_combinations_per_depth"),
            self.combinatorial_max_combinations_per_depth,
            10,
            200,
        );
        FieldError::int_range(
            &mut errors,
            at("combinatorial_max_sells"),
            self.combinatorial_max_sells,
            1,
            10,
        );
        FieldError::int_range(
            &mut errors,
            at("combinatorial_max_buys"),
            self.combinatorial_max_buys,
            1,
            10,
        );
        FieldError::int_range(
            &mut errors,
            at("combinatorial_max_candidates"),
            self.combinatorial_max_candidates,
            4,
            30,
        );
        FieldError::float_range(
            &mut errors,
            at("diversity_weight"),
            self.diversity_weight,
            0.0,
            1.0,
        );
        errors
    }
}

/// Post-generation filters. Only `enable_correlation_aware` has an effect in the reference;
/// the other three fields are accepted and bounded but unused (spec §8 item 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterSettings {
    #[serde(default = "default_true")]
    pub enable_correlation_aware: bool,
    /// Unused: the correlation filter's threshold is fixed at 0.7, as in the reference.
    #[serde(default = "default_correlation_threshold")]
    pub correlation_threshold: f64,
    #[serde(default = "default_min_sequence_value")]
    pub min_sequence_value: f64,
    #[serde(default)]
    pub max_sequence_value: Option<f64>,
    /// Pairwise return correlations keyed `"A:B"` (either order is looked up). The reference
    /// computed them from its price-history database; without a matrix the filter keeps
    /// everything, as the reference did without its database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_matrix: Option<IndexMap<String, f64>>,
}

impl Default for FilterSettings {
    fn default() -> Self {
        FilterSettings {
            enable_correlation_aware: true,
            correlation_threshold: default_correlation_threshold(),
            min_sequence_value: default_min_sequence_value(),
            max_sequence_value: None,
            correlation_matrix: None,
        }
    }
}

impl FilterSettings {
    /// Checks the pydantic bounds; `loc` is the path of this object in the request.
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::float_range(
            &mut errors,
            at("correlation_threshold"),
            self.correlation_threshold,
            0.0,
            1.0,
        );
        FieldError::float_min(
            &mut errors,
            at("min_sequence_value"),
            self.min_sequence_value,
            0.0,
        );
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn loc(error: &FieldError) -> Vec<Value> {
        error.loc.clone()
    }

    #[test]
    fn defaults_match_the_reference() {
        let c: CombinatorialSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(c, CombinatorialSettings::default());
        assert_eq!(c.max_depth, 4);
        assert_eq!(c.max_combinations, 1000);
        assert_eq!(c.max_opportunities_per_category, 5);
        assert_eq!(c.combinatorial_max_combinations_per_depth, 50);
        assert_eq!(c.combinatorial_max_candidates, 12);
        assert!(c.enable_weighted_combinations && !c.enable_market_regime);
        let f: FilterSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(f, FilterSettings::default());
        let s: FeasibilitySettings = serde_json::from_value(json!({"available_cash": 5})).unwrap();
        assert_eq!(s, FeasibilitySettings::new(5.0));
        assert_eq!(s.transaction_cost_fixed, 2.0);
        assert_eq!(s.transaction_cost_percent, 0.002);
        assert_eq!(s.min_trade_value, 100.0);
        assert_eq!(s.priority_threshold, 0.3);
    }

    #[test]
    fn defaults_pass_validation() {
        assert!(FeasibilitySettings::default().validate(&["f"]).is_empty());
        assert!(CombinatorialSettings::default().validate(&["c"]).is_empty());
        assert!(FilterSettings::default().validate(&["x"]).is_empty());
    }

    #[test]
    fn every_integer_bound_is_checked() {
        let cases: [(&str, i64, i64); 7] = [
            ("max_depth", 1, 10),
            ("max_combinations", 10, 10000),
            ("max_opportunities_per_category", 1, 20),
            ("combinatorial_max_combinations_per_depth", 10, 200),
            ("combinatorial_max_sells", 1, 10),
            ("combinatorial_max_buys", 1, 10),
            ("combinatorial_max_candidates", 4, 30),
        ];
        for (field, min, max) in cases {
            for (value, kind) in [
                (min - 1, "greater_than_equal"),
                (max + 1, "less_than_equal"),
            ] {
                let mut body = serde_json::to_value(CombinatorialSettings::default()).unwrap();
                body[field] = json!(value);
                let c: CombinatorialSettings = serde_json::from_value(body).unwrap();
                let errors = c.validate(&["body", "combinatorial"]);
                assert_eq!(errors.len(), 1, "{field}={value}");
                assert_eq!(errors[0].kind, kind);
                assert_eq!(
                    loc(&errors[0]),
                    vec![json!("body"), json!("combinatorial"), json!(field)]
                );
                assert_eq!(errors[0].input, json!(value));
            }
            for value in [min, max] {
                let mut body = serde_json::to_value(CombinatorialSettings::default()).unwrap();
                body[field] = json!(value);
                let c: CombinatorialSettings = serde_json::from_value(body).unwrap();
                assert!(c.validate(&["c"]).is_empty(), "{field}={value}");
            }
        }
    }

    #[test]
    fn float_bounds_are_checked() {
        let f = FeasibilitySettings {
            available_cash: -1.0,
            transaction_cost_fixed: -0.5,
            transaction_cost_percent: 0.2,
            min_trade_value: -1.0,
            priority_threshold: 1.5,
        };
        let errors = f.validate(&["body", "feasibility"]);
        let kinds: Vec<(&str, Value)> = errors
            .iter()
            .map(|e| (e.kind.as_str(), e.loc[2].clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("greater_than_equal", json!("available_cash")),
                ("greater_than_equal", json!("transaction_cost_fixed")),
                ("less_than_equal", json!("transaction_cost_percent")),
                ("greater_than_equal", json!("min_trade_value")),
                ("less_than_equal", json!("priority_threshold")),
            ]
        );
        assert_eq!(errors[2].msg, "Input should be less than or equal to 0.1");

        let c = CombinatorialSettings {
            priority_threshold: -0.1,
            diversity_weight: 1.1,
            ..CombinatorialSettings::default()
        };
        let fields: Vec<Value> = c
            .validate(&["c"])
            .iter()
            .map(|e| e.loc[1].clone())
            .collect();
        assert_eq!(
            fields,
            vec![json!("priority_threshold"), json!("diversity_weight")]
        );

        let x = FilterSettings {
            correlation_threshold: 1.5,
            min_sequence_value: -3.0,
            ..FilterSettings::default()
        };
        assert_eq!(x.validate(&["x"]).len(), 2);
    }

    #[test]
    fn additions_are_optional_and_round_trip() {
        let c: CombinatorialSettings = serde_json::from_value(json!({"seed": 7})).unwrap();
        assert_eq!(c.seed, Some(7));
        let text = serde_json::to_value(CombinatorialSettings::default()).unwrap();
        assert!(text.get("seed").is_none());
        let f: FilterSettings =
            serde_json::from_value(json!({"correlation_matrix": {"A:B": 0.9}})).unwrap();
        assert_eq!(f.correlation_matrix.unwrap()["A:B"], 0.9);
    }
}
