//! A run's result as a plan to keep: the steps with the narratives the planner wrote from their
//! own figures, the targets and distances, the rejected candidates, how the run went and how
//! fresh the data was. Written through the one plan writer, [`PlanDraft::keep`].

use serde_json::{Map, json};

use super::run::RunResult;
use super::snapshot::Snapshot;
use crate::allocation::Step;
use crate::domain::{ActionCandidate, Side};
use crate::planning::{NarrativeInputs, PlanDraft, WrittenNarratives};

/// The plan of `result`, for the portfolio of `snapshot`.
pub fn plan_draft(snapshot: &Snapshot, result: &RunResult) -> PlanDraft {
    let plan = &result.plan;
    let actions: Vec<ActionCandidate> = plan.steps.iter().map(action).collect();
    let (score_before, score_after) = plan.scores();
    let cash_required: f64 = plan
        .steps
        .iter()
        .filter(|s| s.side == Side::Buy)
        .map(|s| s.value_eur + s.fee_eur)
        .sum();
    let mut extra = Map::new();
    for (key, value) in [
        ("actions", json!(actions)),
        ("steps_detail", json!(plan.steps)),
        ("targets", json!(plan.targets)),
        (
            "distances",
            json!({"before": plan.before, "after": plan.after}),
        ),
        ("fees_eur", json!(plan.fees_eur)),
        ("in_bands", json!(plan.in_bands)),
        ("cash_required_eur", json!(cash_required)),
        ("available_cash_eur", json!(snapshot.available_cash_eur)),
        ("total_value_eur", json!(snapshot.total_value_eur)),
        ("cash", json!(snapshot.cash)),
        (
            "run",
            json!({
                "candidates": plan.evaluated,
                "sequences_evaluated": result.sequences_evaluated,
                "batches": result.batches,
                "stop": result.stop,
                "elapsed_secs": result.elapsed_secs,
            }),
        ),
        (
            "data",
            json!({
                "taken_at": snapshot.taken_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "stale": snapshot.stale,
                // Not bought: no metrics, so no score that means anything.
                "not_enough_history": snapshot.not_enough_history,
            }),
        ),
    ] {
        extra.insert(key.into(), value);
    }
    PlanDraft {
        portfolio_hash: snapshot.portfolio_hash(),
        sequence: actions,
        score_before: Some(score_before),
        score_after: Some(score_after),
        breakdown: json!({
            "scale": "100 less the distance of the securities and cash to their targets, in points",
            "before": plan.before,
            "after": plan.after,
            "fees_eur": plan.fees_eur,
        }),
        rejected: plan.rejected.iter().map(|r| json!(r)).collect(),
        data_freshness: None,
        narratives: NarrativeInputs::default(),
        written: Some(WrittenNarratives {
            steps: plan.steps.iter().map(|s| s.narrative.clone()).collect(),
            plan: plan.narrative.clone(),
        }),
        extra,
    }
}

/// A step as the action the executor and the plan views read.
fn action(step: &Step) -> ActionCandidate {
    let reason = match step.side {
        Side::Sell => "over its band: trimmed back to its target",
        Side::Buy if step.idle_cash > 0.0 => {
            "cash above its reserve goes where it is most under target"
        }
        Side::Buy => "under its band: brought up towards its target",
    };
    ActionCandidate {
        side: step.side,
        symbol: step.symbol.clone(),
        name: step.name.clone(),
        quantity: step.quantity,
        price: step.price,
        value_eur: step.value_eur,
        currency: step.currency.clone(),
        priority: (step.target - step.weight_before).abs(),
        reason: reason.to_string(),
        tags: Vec::new(),
    }
}
