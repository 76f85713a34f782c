//! Trade actions as they cross every module and every compatibility route.

use serde::{Deserialize, Serialize};

/// Buy or sell; the JSON spelling is exactly `"BUY"` / `"SELL"`, as the reference's enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    #[serde(rename = "BUY")]
    Buy,
    #[serde(rename = "SELL")]
    Sell,
}

/// One proposed trade (the reference's `ActionCandidate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionCandidate {
    pub side: Side,
    pub symbol: String,
    pub name: String,
    pub quantity: i64,
    /// Price per unit in the trading currency.
    pub price: f64,
    /// Trade value in EUR: the amount the simulator actually moves.
    pub value_eur: f64,
    pub currency: String,
    pub priority: f64,
    pub reason: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Transaction cost of one action: `fixed + |value| * percent`.
pub fn action_cost(value_eur: f64, fixed: f64, percent: f64) -> f64 {
    fixed + value_eur.abs() * percent
}
