//! The reference's `CreatePlanResponse`: the plan of the best sequence and the run's stats.

use serde::{Deserialize, Serialize};

use crate::domain::ActionCandidate;

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
