//! The score breakdown (`metrics` of an evaluation result, spec §2.6), with the reference's keys,
//! key order and roundings.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::engine::{BaseEval, Prepared};
use super::modes::Details;
use crate::domain::round_py;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightedComponent {
    pub weighted_score: f64,
    pub weight: f64,
    pub contribution: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredComponent {
    pub score: f64,
    pub weight: f64,
    pub contribution: f64,
}

/// The end-state components; absent when the end state was invalid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Components {
    pub total_return: WeightedComponent,
    pub diversification: ScoredComponent,
    pub long_term_promise: WeightedComponent,
    pub stability: WeightedComponent,
    pub opinion: ScoredComponent,
    pub end_state_score: f64,
    pub risk_profile: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiTimeframe {
    pub short_term_1y: f64,
    pub medium_term_3y: f64,
    pub long_term_5y: f64,
    pub weighted_score: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransactionCost {
    pub total_cost_eur: f64,
    pub cost_penalty: f64,
    pub adjusted_score: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiObjective {
    pub end_score: f64,
    pub diversification_score: f64,
    pub risk_score: f64,
    pub transaction_cost: f64,
}

/// Price multipliers per symbol, serialised as a JSON object in the order they were applied.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PriceScenario {
    pub adjustments: Adjustments,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "std::collections::BTreeMap<String, f64>")]
pub struct Adjustments(pub Vec<(String, f64)>);

impl From<std::collections::BTreeMap<String, f64>> for Adjustments {
    fn from(map: std::collections::BTreeMap<String, f64>) -> Self {
        Adjustments(map.into_iter().collect())
    }
}

impl Serialize for Adjustments {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (symbol, multiplier) in &self.0 {
            map.serialize_entry(symbol, multiplier)?;
        }
        map.end()
    }
}

impl Serialize for PriceScenario {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("adjustments", &self.adjustments)?;
        map.end()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stochastic {
    pub avg_score: f64,
    pub worst_score: f64,
    pub final_score: f64,
    pub scenarios_evaluated: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonteCarlo {
    pub paths_evaluated: usize,
    pub avg_score: f64,
    pub worst_score: f64,
    pub best_score: f64,
    pub p10_score: f64,
    pub p90_score: f64,
    pub final_score: f64,
}

/// The whole breakdown; fields in the reference's key order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub components: Option<Components>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_timeframe: Option<MultiTimeframe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_cost: Option<TransactionCost>,
    pub multi_objective: MultiObjective,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_scenario: Option<PriceScenario>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stochastic: Option<Stochastic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<MonteCarlo>,
}

fn r3(x: f64) -> f64 {
    round_py(x, 3)
}

impl Breakdown {
    /// Builds the breakdown of an outcome's representative evaluation.
    pub fn build(prepared: &Prepared, e: &BaseEval, details: &Details) -> Breakdown {
        let w = &prepared.params.weights;
        let components = (!e.invalid).then(|| Components {
            total_return: WeightedComponent {
                weighted_score: r3(e.weighted_total_return),
                weight: w.total_return,
                contribution: r3(e.weighted_total_return * w.total_return),
            },
            diversification: ScoredComponent {
                score: r3(e.diversification),
                weight: w.diversification,
                contribution: r3(e.diversification * w.diversification),
            },
            long_term_promise: WeightedComponent {
                weighted_score: r3(e.weighted_long_term_promise),
                weight: w.long_term_promise,
                contribution: r3(e.weighted_long_term_promise * w.long_term_promise),
            },
            stability: WeightedComponent {
                weighted_score: r3(e.weighted_stability),
                weight: w.stability,
                contribution: r3(e.weighted_stability * w.stability),
            },
            opinion: ScoredComponent {
                score: 0.5,
                weight: w.opinion,
                contribution: r3(0.5 * w.opinion),
            },
            end_state_score: e.end_state,
            risk_profile: prepared.params.risk_profile.as_str().to_string(),
        });
        let multi_timeframe = e.multi_timeframe.map(|weighted| MultiTimeframe {
            short_term_1y: r3(e.end_state * 0.95),
            medium_term_3y: r3(e.end_state),
            long_term_5y: r3(e.end_state * 1.05),
            weighted_score: r3(weighted),
        });
        let transaction_cost = e.cost_penalty.map(|penalty| TransactionCost {
            total_cost_eur: round_py(e.transaction_cost, 2),
            cost_penalty: round_py(penalty, 4),
            adjusted_score: r3(e.score),
        });
        let price_scenario = (!details.adjustments.is_empty()).then(|| PriceScenario {
            adjustments: Adjustments(
                details
                    .adjustments
                    .iter()
                    .map(|&(sym, m)| (prepared.symbols.name(sym).to_string(), r3(m)))
                    .collect(),
            ),
        });
        Breakdown {
            error: e.invalid.then(|| "Invalid portfolio data".to_string()),
            components,
            multi_timeframe,
            transaction_cost,
            multi_objective: MultiObjective {
                end_score: r3(e.score),
                diversification_score: r3(e.diversification),
                risk_score: r3(e.risk()),
                transaction_cost: round_py(e.transaction_cost, 2),
            },
            price_scenario,
            stochastic: details.stochastic.map(|s| Stochastic {
                avg_score: r3(s.avg),
                worst_score: r3(s.worst),
                final_score: r3(s.final_score),
                scenarios_evaluated: s.scenarios,
            }),
            monte_carlo: details.monte_carlo.map(|m| MonteCarlo {
                paths_evaluated: m.paths,
                avg_score: r3(m.avg),
                worst_score: r3(m.worst),
                best_score: r3(m.best),
                p10_score: r3(m.p10),
                p90_score: r3(m.p90),
                final_score: r3(m.final_score),
            }),
        }
    }
}
