//! A run's result as a stored plan: steps with their narratives, the plan narrative, the score
//! breakdown, the rejected candidates and how fresh the data was.

use std::collections::HashMap;

use serde_json::json;

use super::run::RunResult;
use super::snapshot::Snapshot;
use crate::domain::{Category, Currency, Money, Quantity, Side};
use crate::planning::narrative::{NarrativeStep, StepContext, plan_narrative, step_narrative};
use crate::store::{NewPlan, PlanStepRecord};

/// The plan of `result`, for the portfolio of `snapshot`.
pub fn plan_record(snapshot: &Snapshot, result: &RunResult) -> NewPlan {
    let actions = result.best.as_ref().map_or(&[][..], |b| &b.actions[..]);
    let held: HashMap<&str, f64> = snapshot
        .positions
        .iter()
        .map(|p| (p.symbol.as_str(), p.value_eur))
        .collect();
    let first_buy = [
        Category::AveragingDown,
        Category::RebalanceBuys,
        Category::OpportunityBuys,
    ]
    .into_iter()
    .find_map(|c| result.opportunities.list(c).first())
    .map(|a| a.name.as_str());
    let steps: Vec<PlanStepRecord> = actions
        .iter()
        .filter_map(|action| {
            let context = StepContext {
                position_value_eur: held.get(action.symbol.as_str()).copied().unwrap_or(0.0),
                first_buy_opportunity: first_buy,
                dividend_yield: snapshot
                    .metrics
                    .get(&action.symbol)
                    .and_then(|m| m.get("DIVIDEND_YIELD"))
                    .copied(),
            };
            Some(PlanStepRecord {
                side: action.side,
                symbol: action.symbol.clone(),
                quantity: Quantity::from_shares(action.quantity).ok()?,
                value_eur: Money::from_decimal_rounded(
                    crate::domain::Decimal::from_f64(action.value_eur.abs()).ok()?,
                    Currency::EUR,
                )
                .ok()?,
                narrative: step_narrative(&NarrativeStep::from(action), &context),
                reason: action.reason.clone(),
            })
        })
        .collect();
    let score_before = result.score_before;
    let score_after = result.best.as_ref().map_or(score_before, |b| b.score);
    let narrative_steps: Vec<NarrativeStep<'_>> = actions.iter().map(NarrativeStep::from).collect();
    let cash_required: f64 = actions
        .iter()
        .filter(|a| a.side == Side::Buy)
        .map(|a| a.value_eur)
        .sum();
    NewPlan {
        portfolio_hash: snapshot.portfolio_hash(),
        score_before: Some(score_before),
        score_after: Some(score_after),
        body: json!({
            "narrative": plan_narrative(&narrative_steps, score_before * 100.0, score_after * 100.0),
            "actions": actions,
            "breakdown": result.best.as_ref().map(|b| &b.breakdown),
            "cash_required_eur": cash_required,
            "available_cash_eur": snapshot.available_cash_eur,
            "total_value_eur": snapshot.total_value_eur,
            "rejected": result.rejected,
            "pruned": result.pruned,
            "run": {
                "candidates": result.opportunities.len(),
                "sequences_evaluated": result.sequences_evaluated,
                "batches": result.batches,
                "stop": result.stop,
                "elapsed_secs": result.elapsed_secs,
            },
            "data": {
                "taken_at": snapshot.taken_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "stale": snapshot.stale,
            },
        }),
        steps,
    }
}
