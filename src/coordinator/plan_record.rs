//! A run's result as a plan to keep: the actions with their narratives, the score breakdown,
//! the rejected candidates, how the run went and how fresh the data was. Written through the
//! one plan writer, [`PlanDraft::keep`].

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::run::RunResult;
use super::snapshot::Snapshot;
use crate::domain::Side;
use crate::planning::{NarrativeInputs, PlanDraft, plan_score};

/// The plan of `result`, for the portfolio of `snapshot`.
pub fn plan_draft(snapshot: &Snapshot, result: &RunResult) -> PlanDraft {
    let actions = result.best.as_ref().map_or(&[][..], |b| &b.actions[..]);
    let score_before = result.score_before;
    let score_after = result.best.as_ref().map_or(score_before, |b| b.score);
    let cash_required: f64 = actions
        .iter()
        .filter(|a| a.side == Side::Buy)
        .map(|a| a.value_eur)
        .sum();
    let dividend_yields: HashMap<String, f64> = actions
        .iter()
        .filter_map(|a| {
            let dividend_yield = snapshot.metrics.get(&a.symbol)?.get("DIVIDEND_YIELD")?;
            Some((a.symbol.clone(), *dividend_yield))
        })
        .collect();
    let mut extra = Map::new();
    for (key, value) in [
        ("actions", json!(actions)),
        ("cash_required_eur", json!(cash_required)),
        ("available_cash_eur", json!(snapshot.available_cash_eur)),
        ("total_value_eur", json!(snapshot.total_value_eur)),
        ("pruned", json!(result.pruned)),
        (
            "run",
            json!({
                "candidates": result.opportunities.len(),
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
        // A sell's value is kept as an amount, like a buy's.
        sequence: actions
            .iter()
            .map(|a| {
                let mut action = a.clone();
                action.value_eur = a.value_eur.abs();
                action
            })
            .collect(),
        score_before: Some(plan_score(score_before)),
        score_after: Some(plan_score(score_after)),
        breakdown: result
            .best
            .as_ref()
            .map_or(Value::Null, |b| json!(b.breakdown)),
        rejected: result.rejected.iter().map(|r| json!(r)).collect(),
        data_freshness: None,
        narratives: NarrativeInputs {
            position_values: snapshot
                .positions
                .iter()
                .map(|p| (p.symbol.clone(), p.value_eur))
                .collect(),
            first_buy_opportunity: NarrativeInputs::first_buy_opportunity(&result.opportunities),
            dividend_yields,
        },
        extra,
    }
}
