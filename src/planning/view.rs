//! Stored plans as the planning service's `Plan`: its actions, cost and status.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Side;
use crate::store::PlanRecord;

/// One action of a [`Plan`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub side: Side,
    pub symbol: String,
    pub isin: Option<String>,
    pub quantity: i64,
    pub estimated_price: f64,
    /// EUR, never negative.
    pub estimated_cost: f64,
    pub reason: String,
    /// The step number, 1-based.
    pub priority: i64,
}

/// The planning service's `Plan`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The stored plan's id.
    pub id: String,
    pub portfolio_hash: String,
    pub actions: Vec<PlannedAction>,
    /// Portfolio score after the plan, 0–100.
    pub score: f64,
    /// EUR the buys need.
    pub expected_cost: f64,
    /// EUR moved by all actions.
    pub expected_value: f64,
    pub created_at: String,
    /// `READY` when feasible, else `DRAFT`.
    pub status: String,
}

/// A stored plan as the planning service's `Plan`. Plans kept by `POST /planning/create` carry
/// their actions in the body; for other plans (the native planner's) they are read from the
/// steps, with the price per share derived from the value.
pub fn plan_view(record: &PlanRecord) -> Plan {
    let body = &record.plan.body;
    let actions: Vec<PlannedAction> = body
        .get("actions")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_else(|| {
            record
                .plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    let quantity = step.quantity.as_decimal().to_f64();
                    let value = step.value_eur.to_decimal().to_f64();
                    PlannedAction {
                        side: step.side,
                        symbol: step.symbol.clone(),
                        isin: None,
                        quantity: quantity as i64,
                        estimated_price: if quantity > 0.0 {
                            value / quantity
                        } else {
                            0.0
                        },
                        estimated_cost: value,
                        reason: step.reason.clone(),
                        priority: i as i64 + 1,
                    }
                })
                .collect()
        });
    let expected_cost = actions
        .iter()
        .filter(|a| a.side == Side::Buy)
        .map(|a| a.estimated_cost)
        .sum();
    let expected_value = actions.iter().map(|a| a.estimated_cost).sum();
    let feasible = body
        .get("feasible")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Plan {
        id: record.id.to_string(),
        portfolio_hash: record.plan.portfolio_hash.clone(),
        actions,
        score: record.plan.score_after.unwrap_or(0.0),
        expected_cost,
        expected_value,
        created_at: record.created_at.clone(),
        status: if feasible { "READY" } else { "DRAFT" }.into(),
    }
}
