//! Plans as they are kept: the canonical portfolio hash a plan belongs to, the narratives a
//! person reads, the one writer of plans to the store ([`PlanDraft::keep`]), the look-ups by
//! portfolio hash (history and the best plan), and the planning service's routes' work.
//!
//! Plan scores are on one scale, 0–100 (see [`plan_score`]), in the store, in `/api/plans*`,
//! on the dashboard and in the planning service's `Plan.score`; the evaluator's own routes
//! keep its 0–1 scale.

mod create;
pub(crate) mod hash;
mod narrative;
mod request;
mod view;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::domain::{ActionCandidate, Currency, Decimal, Money, Opportunities, Quantity};
use crate::store::{NewPlan, PlanRecord, PlanStepRecord, Store, StoreError};

pub use create::{CreateResponse, create_and_keep};
pub use narrative::{NarrativeStep, StepContext, plan_narrative, step_narrative};
pub use request::PlanningCreateRequest;
pub use view::{Plan, plan_view};

/// A score of the evaluator (0–1) on the scale plans are kept and shown on (0–100).
pub fn plan_score(evaluator_score: f64) -> f64 {
    evaluator_score * 100.0
}

/// What the narratives know of the portfolio besides the plan's own actions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NarrativeInputs {
    /// EUR value of each held position before the plan, by symbol.
    pub position_values: HashMap<String, f64>,
    /// Name of the first buy opportunity, see [`NarrativeInputs::first_buy_opportunity`].
    pub first_buy_opportunity: Option<String>,
    /// Dividend yield by symbol (0.04 = 4 %).
    pub dividend_yields: HashMap<String, f64>,
}

impl NarrativeInputs {
    /// The name of the first buy candidate: averaging down, then rebalance buys, then
    /// opportunity buys, each list in its own order.
    pub fn first_buy_opportunity(opportunities: &Opportunities) -> Option<String> {
        opportunities
            .averaging_down
            .iter()
            .chain(&opportunities.rebalance_buys)
            .chain(&opportunities.opportunity_buys)
            .next()
            .map(|a| a.name.clone())
    }

    fn step_context(&self, symbol: &str) -> StepContext<'_> {
        StepContext {
            position_value_eur: self.position_values.get(symbol).copied().unwrap_or(0.0),
            first_buy_opportunity: self.first_buy_opportunity.as_deref(),
            dividend_yield: self.dividend_yields.get(symbol).copied(),
        }
    }
}

/// A plan made from the best evaluated sequence, before it is stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanDraft {
    /// See [`hash::portfolio_hash`].
    pub portfolio_hash: String,
    /// The actions, in execution order.
    pub sequence: Vec<ActionCandidate>,
    /// Portfolio score before the plan, 0–100.
    pub score_before: Option<f64>,
    /// Portfolio score after the plan, 0–100.
    pub score_after: Option<f64>,
    /// Score breakdown of the end state, as the evaluator gave it.
    pub breakdown: Value,
    /// Candidates that were considered and left out, each with its reason.
    pub rejected: Vec<Value>,
    /// How old the data the plan was made from is; `None` leaves the key out of the body
    /// (the native planner keeps it under `data` in `extra`).
    pub data_freshness: Option<Value>,
    pub narratives: NarrativeInputs,
    /// Narratives written by the planner from its own figures (one per action, and the plan's),
    /// used instead of those made from `narratives`.
    pub written: Option<WrittenNarratives>,
    /// More keys for the stored body; they never replace the keys above.
    pub extra: Map<String, Value>,
}

/// Narratives a planner wrote from the plan's own figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WrittenNarratives {
    pub steps: Vec<String>,
    pub plan: String,
}

/// A draft that cannot become a stored plan, or could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("step {step} ({symbol}): {reason}")]
    InvalidStep {
        /// 1-based.
        step: usize,
        symbol: String,
        reason: String,
    },
    #[error("a plan needs a portfolio hash")]
    NoHash,
}

impl PlanDraft {
    /// One narrative per action, in order.
    fn step_narratives(&self) -> Vec<String> {
        if let Some(written) = &self.written {
            return written.steps.clone();
        }
        self.sequence
            .iter()
            .map(|a| {
                step_narrative(
                    &NarrativeStep::from(a),
                    &self.narratives.step_context(&a.symbol),
                )
            })
            .collect()
    }

    /// The narrative of the whole plan. Without scores the outcome reads as unchanged.
    fn plan_narrative(&self) -> String {
        if let Some(written) = &self.written {
            return written.plan.clone();
        }
        let steps: Vec<NarrativeStep<'_>> = self.sequence.iter().map(NarrativeStep::from).collect();
        let before = self.score_before.or(self.score_after).unwrap_or(0.0);
        let after = self.score_after.unwrap_or(before);
        plan_narrative(&steps, before, after)
    }

    /// The record to store: steps with their narratives, and a body of
    /// `{narrative, score_before, score_after, breakdown, rejected, data_freshness, …extra}`.
    fn build(&self) -> Result<NewPlan, PlanError> {
        if self.portfolio_hash.is_empty() {
            return Err(PlanError::NoHash);
        }
        let narratives = self.step_narratives();
        let steps = self
            .sequence
            .iter()
            .zip(narratives)
            .enumerate()
            .map(|(i, (action, narrative))| step_record(i + 1, action, narrative))
            .collect::<Result<Vec<_>, _>>()?;
        let mut body = self.extra.clone();
        let fixed = json!({
            "narrative": self.plan_narrative(),
            "score_before": self.score_before,
            "score_after": self.score_after,
            "breakdown": self.breakdown,
            "rejected": self.rejected,
        });
        if let Value::Object(fixed) = fixed {
            body.extend(fixed);
        }
        if let Some(freshness) = &self.data_freshness {
            body.insert("data_freshness".into(), freshness.clone());
        }
        Ok(NewPlan {
            portfolio_hash: self.portfolio_hash.clone(),
            score_before: self.score_before,
            score_after: self.score_after,
            body: Value::Object(body),
            steps,
        })
    }

    /// Builds the plan and stores it with its steps; the stored plan's id.
    pub fn keep(&self, store: &Store) -> Result<i64, PlanError> {
        Ok(store.save_plan(&self.build()?)?)
    }
}

fn step_record(
    step: usize,
    action: &ActionCandidate,
    narrative: String,
) -> Result<PlanStepRecord, PlanError> {
    let invalid = |reason: String| PlanError::InvalidStep {
        step,
        symbol: action.symbol.clone(),
        reason,
    };
    if action.quantity <= 0 {
        return Err(invalid(format!(
            "quantity {} is not positive",
            action.quantity
        )));
    }
    if !action.value_eur.is_finite() || action.value_eur < 0.0 {
        return Err(invalid(format!(
            "value {} EUR is not a non-negative amount",
            action.value_eur
        )));
    }
    let quantity = Quantity::from_shares(action.quantity).map_err(|e| invalid(e.to_string()))?;
    let value_eur = Decimal::from_f64(action.value_eur)
        .and_then(|v| Money::from_decimal_rounded(v, Currency::EUR))
        .map_err(|e| invalid(e.to_string()))?;
    Ok(PlanStepRecord {
        side: action.side,
        symbol: action.symbol.clone(),
        quantity,
        value_eur,
        narrative,
        reason: action.reason.clone(),
    })
}

/// The plan with the highest `score_after` among those made for `portfolio_hash`, the newest
/// on ties.
pub fn best_plan_for_hash(
    store: &Store,
    portfolio_hash: &str,
) -> Result<Option<PlanRecord>, StoreError> {
    match store.best_plan_id_for_hash(portfolio_hash)? {
        Some(id) => store.plan(id),
        None => Ok(None),
    }
}

/// The plans made for `portfolio_hash`, newest first, `limit` from `offset`, and how many there
/// are in all.
pub fn plans_for_hash(
    store: &Store,
    portfolio_hash: &str,
    limit: usize,
    offset: usize,
) -> Result<(Vec<PlanRecord>, u64), StoreError> {
    let (ids, total) = store.plan_ids_for_hash(portfolio_hash, limit, offset)?;
    let mut plans = Vec::with_capacity(ids.len());
    for id in ids {
        // Plans are never deleted, so every id reads back; a missing one is skipped rather
        // than failing the whole page.
        if let Some(plan) = store.plan(id)? {
            plans.push(plan);
        }
    }
    Ok((plans, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Side;

    fn action(side: Side, symbol: &str, quantity: i64, value: f64) -> ActionCandidate {
        ActionCandidate {
            side,
            symbol: symbol.into(),
            name: format!("{symbol} Corp"),
            quantity,
            price: value / quantity.max(1) as f64,
            value_eur: value,
            currency: "EUR".into(),
            priority: 0.5,
            reason: "Because.".into(),
            tags: vec![],
        }
    }

    fn draft() -> PlanDraft {
        PlanDraft {
            portfolio_hash: "h1".into(),
            sequence: vec![
                action(Side::Sell, "AAA", 2, 200.0),
                action(Side::Buy, "BBB", 3, 300.456),
            ],
            score_before: Some(60.0),
            score_after: Some(62.5),
            breakdown: json!({"end_state_score": 0.625}),
            rejected: vec![json!({"symbol": "CCC", "code": "no_price"})],
            data_freshness: Some(json!({"metrics": "2026-01-01T00:00:00"})),
            narratives: NarrativeInputs {
                position_values: HashMap::from([("AAA".to_string(), 800.0)]),
                first_buy_opportunity: Some("BBB Corp".into()),
                dividend_yields: HashMap::from([("BBB".to_string(), 0.05)]),
            },
            written: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn a_draft_becomes_a_plan_with_narratives() {
        let plan = draft().build().unwrap();
        assert_eq!(plan.portfolio_hash, "h1");
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(
            plan.steps[0].narrative,
            "Sell 25% / €200 of AAA Corp (AAA). Reason: Because. The proceeds can fund a \
             purchase of BBB Corp."
        );
        assert_eq!(
            plan.steps[1].narrative,
            "Buy €300 of BBB Corp (BBB). Reason: Because. It also pays a 5.0% dividend yield."
        );
        assert_eq!(plan.steps[1].value_eur.minor(), 30046);
        assert_eq!(plan.steps[1].quantity.to_string(), "3");
        assert_eq!(plan.steps[0].reason, "Because.");
        let body = &plan.body;
        assert!(
            body["narrative"]
                .as_str()
                .unwrap()
                .contains("+2.5 points (from 60.0 to 62.5)")
        );
        assert_eq!(body["score_before"], json!(60.0));
        assert_eq!(body["score_after"], json!(62.5));
        assert_eq!(body["breakdown"]["end_state_score"], json!(0.625));
        assert_eq!(body["rejected"][0]["symbol"], "CCC");
        assert_eq!(
            body["data_freshness"]["metrics"],
            json!("2026-01-01T00:00:00")
        );
    }

    #[test]
    fn extra_keys_are_kept_but_never_replace_the_fixed_ones() {
        let mut d = draft();
        d.extra.insert("stats".into(), json!({"batches": 3}));
        d.extra.insert("narrative".into(), json!("mine"));
        let body = d.build().unwrap().body;
        assert_eq!(body["stats"]["batches"], 3);
        assert_ne!(body["narrative"], json!("mine"));
    }

    #[test]
    fn an_empty_plan_and_missing_scores() {
        let mut d = draft();
        d.sequence.clear();
        d.score_before = None;
        d.score_after = None;
        let plan = d.build().unwrap();
        assert!(plan.steps.is_empty());
        assert_eq!(
            plan.body["narrative"],
            "No actions recommended. The portfolio is well-positioned."
        );
        assert_eq!(plan.body["score_after"], Value::Null);
        let mut d = draft();
        d.score_before = None;
        assert!(d.plan_narrative().ends_with("stays at 62.5."));
    }

    #[test]
    fn steps_that_cannot_be_stored_are_refused() {
        let mut d = draft();
        d.sequence[1].quantity = 0;
        assert!(matches!(
            d.build(),
            Err(PlanError::InvalidStep { step: 2, .. })
        ));
        let mut d = draft();
        d.sequence[0].value_eur = -1.0;
        assert!(matches!(
            d.build(),
            Err(PlanError::InvalidStep { step: 1, .. })
        ));
        let mut d = draft();
        d.sequence[0].value_eur = f64::NAN;
        assert!(d.build().is_err());
        let mut d = draft();
        d.portfolio_hash.clear();
        assert!(matches!(d.build(), Err(PlanError::NoHash)));
    }

    #[test]
    fn the_first_buy_opportunity_follows_the_category_order() {
        let mut o = Opportunities::default();
        assert_eq!(NarrativeInputs::first_buy_opportunity(&o), None);
        o.profit_taking.push(action(Side::Sell, "PPP", 1, 1.0));
        o.opportunity_buys.push(action(Side::Buy, "OOO", 1, 1.0));
        assert_eq!(
            NarrativeInputs::first_buy_opportunity(&o).as_deref(),
            Some("OOO Corp")
        );
        o.rebalance_buys.push(action(Side::Buy, "RRR", 1, 1.0));
        assert_eq!(
            NarrativeInputs::first_buy_opportunity(&o).as_deref(),
            Some("RRR Corp")
        );
        o.averaging_down.push(action(Side::Buy, "AAA", 1, 1.0));
        assert_eq!(
            NarrativeInputs::first_buy_opportunity(&o).as_deref(),
            Some("AAA Corp")
        );
    }

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    fn save(store: &Store, hash: &str, score: Option<f64>) -> i64 {
        let mut d = draft();
        d.portfolio_hash = hash.into();
        d.score_after = score;
        d.keep(store).unwrap()
    }

    #[test]
    fn history_and_best_by_hash() {
        let (_dir, store) = temp_store();
        assert_eq!(best_plan_for_hash(&store, "h1").unwrap(), None);
        assert_eq!(plans_for_hash(&store, "h1", 10, 0).unwrap(), (vec![], 0));
        let low = save(&store, "h1", Some(50.0));
        let high = save(&store, "h1", Some(70.0));
        let unscored = save(&store, "h1", None);
        let tie = save(&store, "h1", Some(70.0));
        let other = save(&store, "h2", Some(99.0));

        let best = best_plan_for_hash(&store, "h1").unwrap().unwrap();
        assert_eq!(best.id, tie, "the newest of the two best");
        assert_ne!(best.id, high);
        assert_eq!(best.plan.steps.len(), 2);
        assert_eq!(best_plan_for_hash(&store, "h2").unwrap().unwrap().id, other);

        let (page, total) = plans_for_hash(&store, "h1", 2, 0).unwrap();
        assert_eq!(total, 4);
        assert_eq!(
            page.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![tie, unscored]
        );
        let (page, total) = plans_for_hash(&store, "h1", 10, 2).unwrap();
        assert_eq!(total, 4);
        assert_eq!(
            page.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![high, low]
        );
        let (page, _) = plans_for_hash(&store, "h1", 10, 10).unwrap();
        assert!(page.is_empty());
    }

    #[test]
    fn unscored_plans_are_best_only_when_alone() {
        let (_dir, store) = temp_store();
        let unscored = save(&store, "h", None);
        assert_eq!(
            best_plan_for_hash(&store, "h").unwrap().unwrap().id,
            unscored
        );
        let scored = save(&store, "h", Some(-5.0));
        assert_eq!(best_plan_for_hash(&store, "h").unwrap().unwrap().id, scored);
    }
}
