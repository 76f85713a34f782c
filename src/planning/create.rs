//! `POST /planning/create` of the planning service (spec §1.5), working as the reference meant
//! it to (spec §10.1 item 11): plans for the request's positions with the universe from the
//! store, through the coordinator's workflow, and keeps the plan.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::request::{CheckedCreate, PlanningCreateRequest, Targets};
use super::view::{Plan, PlannedAction, plan_view};
use super::{NarrativeInputs, PlanDraft, plan_score};
use crate::coordinator::compat::{
    CompatOptions, CompatRun, CreatePlanRequest, EvaluatorSelection, PlanningParameters,
    create_plan_with, current_score,
};
use crate::domain::{
    ActionCandidate, EvaluatorPositionBody, EvaluatorSecurityBody, PortfolioContextInput,
    normalize_symbol,
};
use crate::store::{SecurityRecord, Store, StoreError};

/// The planning service's answer to a create request.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CreateResponse {
    pub plan_id: String,
    pub success: bool,
    pub message: String,
    pub plan: Option<Plan>,
}

impl From<Result<Plan, String>> for CreateResponse {
    /// As in the reference, a failure after validation is an answer, not an error status.
    fn from(outcome: Result<Plan, String>) -> CreateResponse {
        match outcome {
            Ok(plan) => CreateResponse {
                plan_id: plan.id.clone(),
                success: true,
                message: "Plan created successfully".into(),
                plan: Some(plan),
            },
            Err(message) => CreateResponse {
                plan_id: String::new(),
                success: false,
                message,
                plan: None,
            },
        }
    }
}

/// Plans for a checked request and keeps the plan. Blocking (store reads and writes) and
/// CPU-bound: run it off the async runtime, inside the scoring pool. Errors are messages for
/// the `success: false` answer.
pub fn create_and_keep(
    store: &Store,
    checked: CheckedCreate,
    options: &CompatOptions,
) -> Result<Plan, String> {
    let CheckedCreate {
        request,
        targets,
        parameters,
    } = checked;
    plan_and_keep(store, &request, targets, parameters, |compat| {
        let run = create_plan_with(store, compat, options, |identify| {
            // The reference coordinator sent an empty position map, so every holding looked
            // like 0 % of the portfolio to the weight path.
            identify.portfolio_context.positions = compat
                .positions
                .iter()
                .map(|p| (p.symbol.clone(), p.value_eur))
                .collect();
            // The store knows more of each security than the compatibility request.
            for s in &mut identify.securities {
                if let Ok(Some(record)) = store.security(&s.symbol) {
                    s.isin = record.isin.unwrap_or_default();
                    s.country = record.country;
                    s.allow_buy = record.allow_buy;
                    s.allow_sell = record.allow_sell;
                }
            }
        })?;
        let before = current_score(store, compat, options)?;
        Ok((run, before))
    })
}

/// Builds the compatibility request, runs it with `run` (which also scores the portfolio as
/// it stands), keeps the plan and answers it. Errors are messages for the `success: false`
/// answer.
fn plan_and_keep(
    store: &Store,
    request: &PlanningCreateRequest,
    targets: Targets,
    parameters: PlanningParameters,
    run: impl FnOnce(&CreatePlanRequest) -> Result<(CompatRun, f64), StoreError>,
) -> Result<Plan, String> {
    let compat = compat_request(store, request, targets, parameters).map_err(|e| e.to_string())?;
    let (run, before) = run(&compat).map_err(|e| e.to_string())?;
    let isins: HashMap<String, String> = request
        .positions
        .iter()
        .filter_map(|p| Some((normalize_symbol(&p.symbol), p.isin.clone()?)))
        .collect();
    let sequence: Vec<ActionCandidate> = run
        .best
        .as_ref()
        .map(|b| b.sequence.clone())
        .unwrap_or_default();
    let actions: Vec<PlannedAction> = sequence
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let symbol = normalize_symbol(&a.symbol);
            let isin = isins
                .get(&symbol)
                .cloned()
                .or_else(|| store.security(&symbol).ok().flatten().and_then(|s| s.isin));
            PlannedAction {
                side: a.side,
                symbol: a.symbol.clone(),
                isin,
                quantity: a.quantity,
                estimated_price: a.price,
                estimated_cost: a.value_eur.abs(),
                reason: a.reason.clone(),
                priority: i as i64 + 1,
            }
        })
        .collect();
    let feasible = run.best.as_ref().is_some_and(|b| b.feasible);
    let mut extra = Map::new();
    extra.insert("source".into(), json!("planning/create"));
    extra.insert("feasible".into(), json!(feasible));
    extra.insert("actions".into(), json!(actions));
    extra.insert("stats".into(), json!(run.response.stats));
    let draft = PlanDraft {
        portfolio_hash: request.portfolio_hash.clone(),
        score_before: Some(plan_score(before)),
        score_after: Some(plan_score(
            run.best.as_ref().map_or(before, |b| b.end_state_score),
        )),
        breakdown: run.best.as_ref().map_or(Value::Null, |b| json!(b.metrics)),
        rejected: run.identified.rejected.iter().map(|r| json!(r)).collect(),
        data_freshness: Some(Value::Null),
        narratives: NarrativeInputs {
            position_values: request
                .positions
                .iter()
                .map(|p| (normalize_symbol(&p.symbol), p.market_value))
                .collect(),
            first_buy_opportunity: NarrativeInputs::first_buy_opportunity(
                &run.identified.opportunities,
            ),
            dividend_yields: HashMap::new(),
        },
        sequence,
        written: None,
        extra,
    };
    let id = draft.keep(store).map_err(|e| e.to_string())?;
    let stored = store
        .plan(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("plan {id} was not kept"))?;
    Ok(plan_view(&stored))
}

/// The compatibility request for the planning request: positions as given, the universe from
/// the store for every symbol involved, prices from the positions then the stored quotes.
fn compat_request(
    store: &Store,
    request: &PlanningCreateRequest,
    targets: Targets,
    parameters: PlanningParameters,
) -> Result<CreatePlanRequest, StoreError> {
    let mut symbols: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for symbol in request
        .positions
        .iter()
        .map(|p| normalize_symbol(&p.symbol))
        .chain(targets.keys().cloned())
    {
        if seen.insert(symbol.clone()) {
            symbols.push(symbol);
        }
    }
    let mut records: HashMap<String, SecurityRecord> = HashMap::new();
    for symbol in &symbols {
        if let Some(record) = store.security(symbol)? {
            records.insert(symbol.clone(), record);
        }
    }
    let mut prices: IndexMap<String, f64> = IndexMap::new();
    for p in &request.positions {
        prices.insert(normalize_symbol(&p.symbol), p.current_price);
    }
    for symbol in &symbols {
        if !prices.contains_key(symbol)
            && let Some(quote) = store.quote(symbol)?
        {
            prices.insert(symbol.clone(), quote.price.to_f64());
        }
    }
    let currency = |symbol: &str| {
        records
            .get(symbol)
            .map_or_else(|| "EUR".to_string(), |r| r.currency.as_str().to_string())
    };
    let positions: Vec<EvaluatorPositionBody> = request
        .positions
        .iter()
        .map(|p| {
            let symbol = normalize_symbol(&p.symbol);
            let gain = (p.current_price - p.average_price) * p.quantity as f64;
            // A fraction, as the coordinator's positions carry it.
            let gain_pct = if p.average_price > 0.0 {
                (p.current_price - p.average_price) / p.average_price
            } else {
                0.0
            };
            EvaluatorPositionBody {
                currency: currency(&symbol),
                symbol,
                quantity: p.quantity,
                average_cost: p.average_price,
                current_price: p.current_price,
                value_eur: p.market_value,
                unrealized_gain_loss: gain,
                unrealized_gain_loss_percent: gain_pct,
            }
        })
        .collect();
    let securities: Vec<EvaluatorSecurityBody> = symbols
        .iter()
        .map(|symbol| {
            let record = records.get(symbol);
            EvaluatorSecurityBody {
                symbol: symbol.clone(),
                name: record.map_or_else(|| symbol.clone(), |r| r.name.clone()),
                current_price: prices.get(symbol).copied().unwrap_or(0.0),
                currency: currency(symbol),
                market_cap: None,
                sector: None,
                industry: record.and_then(|r| r.industry.clone()),
            }
        })
        .collect();
    let invested: f64 = request.positions.iter().map(|p| p.market_value).sum();
    Ok(CreatePlanRequest {
        portfolio_context: PortfolioContextInput {
            total_value_eur: invested + request.available_cash,
            available_cash: request.available_cash,
            invested_value: invested,
            num_positions: request.positions.len() as i64,
            target_allocation: None,
        },
        positions,
        securities,
        available_cash: request.available_cash,
        target_weights: (!targets.is_empty()).then_some(targets),
        current_prices: Some(prices),
        parameters,
        evaluator_config: EvaluatorSelection::default(),
    })
}
