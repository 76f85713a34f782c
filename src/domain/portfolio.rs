//! Portfolio inputs of the evaluator and coordinator compatibility routes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Portfolio totals (`PortfolioContextInput`). The reference evaluator reads only
/// `total_value_eur`; the corrected profile also uses `available_cash`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioContextInput {
    pub total_value_eur: f64,
    #[serde(default)]
    pub available_cash: f64,
    #[serde(default)]
    pub invested_value: f64,
    #[serde(default)]
    pub num_positions: i64,
    #[serde(default)]
    pub target_allocation: Option<HashMap<String, f64>>,
}

/// A held position of the evaluator's request body (its `PositionInput`); the evaluator uses
/// `symbol` and `value_eur`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorPositionBody {
    pub symbol: String,
    pub quantity: i64,
    pub average_cost: f64,
    pub current_price: f64,
    pub value_eur: f64,
    pub currency: String,
    #[serde(default)]
    pub unrealized_gain_loss: f64,
    #[serde(default)]
    pub unrealized_gain_loss_percent: f64,
}

/// Security metadata of the evaluator's request body (its `SecurityInput`). It carries no
/// country, so the evaluator never learns one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorSecurityBody {
    pub symbol: String,
    pub name: String,
    pub current_price: f64,
    pub currency: String,
    #[serde(default)]
    pub market_cap: Option<f64>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
}
