//! Compatibility routes of the planning service (spec §1.5), working as the reference meant
//! them to (spec §10.1 item 11): `POST /planning/create` plans for the request's positions with
//! the universe from the store and keeps the plan; `GET /planning/plans/{id}`,
//! `GET /planning/plans` and `GET /planning/best` read the kept plans.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::AppState;
use super::blocking::on_store;
use super::body::{PyJson, read_json};
use super::coordinator::compat_options;
use super::error::ApiError;
use crate::coordinator::compat::{
    CompatRun, CreatePlanRequest, EvaluatorSelection, PlanningParameters, create_plan_with,
    current_score,
};
use crate::domain::validation::FieldError;
use crate::domain::{
    ActionCandidate, PortfolioContextInput, PositionInput, SecurityInput, Side, normalize_symbol,
};
use crate::planning::{NarrativeInputs, PlanDraft, best_plan_for_hash, plans_for_hash};
use crate::store::{PlanRecord, SecurityRecord, Store, StoreError};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/planning/create", post(create))
        .route("/planning/plans/{plan_id}", get(plan_by_id))
        .route("/planning/plans", get(list))
        .route("/planning/best", get(best))
}

/// A held position of the planning service's request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningPosition {
    pub symbol: String,
    #[serde(default)]
    pub isin: Option<String>,
    pub quantity: i64,
    pub average_price: f64,
    pub current_price: f64,
    /// EUR.
    pub market_value: f64,
}

/// The planning service's `CreatePlanRequest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningCreateRequest {
    /// The plan is kept under this hash.
    pub portfolio_hash: String,
    /// EUR.
    pub available_cash: f64,
    pub positions: Vec<PlanningPosition>,
    /// `target_<SYMBOL>` → target weight, and planning parameters by name; values are text.
    #[serde(default)]
    pub constraints: IndexMap<String, String>,
}

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

#[derive(Serialize)]
struct CreateResponse {
    plan_id: String,
    success: bool,
    message: String,
    plan: Option<Plan>,
}

#[derive(Serialize)]
struct FoundResponse {
    found: bool,
    plan: Option<Plan>,
}

#[derive(Serialize)]
struct ListResponse {
    plans: Vec<Plan>,
    total: u64,
}

// ---------------------------------------------------------------------------------------------
// POST /planning/create

async fn create(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<CreateResponse>, ApiError> {
    let request: PlanningCreateRequest =
        read_json(body, state.config.server.max_body_bytes).await?;
    let (errors, targets, parameters) = validate_create(&request);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let options = compat_options(&state);
    let worker = Arc::clone(&state);
    let outcome = tokio::task::spawn_blocking(move || {
        worker.pool.install(|| {
            plan_and_keep(&worker.store, &request, targets, parameters, |compat| {
                create_plan_with(&worker.store, compat, &options, |identify| {
                    // The reference coordinator sent an empty position map, so every holding
                    // looked like 0 % of the portfolio to the weight path.
                    identify.portfolio_context.positions = compat
                        .positions
                        .iter()
                        .map(|p| (p.symbol.clone(), p.value_eur))
                        .collect();
                    // The store knows more of each security than the compatibility request.
                    for s in &mut identify.securities {
                        if let Ok(Some(record)) = worker.store.security(&s.symbol) {
                            s.isin = record.isin.unwrap_or_default();
                            s.country = record.country;
                            s.allow_buy = record.allow_buy;
                            s.allow_sell = record.allow_sell;
                        }
                    }
                })
                .and_then(|run| {
                    let before = current_score(&worker.store, compat, &options)?;
                    Ok((run, before))
                })
            })
        })
    })
    .await?;
    // As in the reference, a failure after validation is an answer, not an error status.
    Ok(PyJson(match outcome {
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
    }))
}

type Targets = IndexMap<String, f64>;

fn constraint_error(key: &str, message: &str, input: &str) -> FieldError {
    FieldError::value_error(
        vec![
            Value::from("body"),
            Value::from("constraints"),
            Value::from(key),
        ],
        message,
        Value::from(input),
    )
}

/// Checks the request and reads its constraints: `target_<SYMBOL>` keys give target weights
/// (symbols upper-cased), keys named like a planning parameter set that parameter.
fn validate_create(
    request: &PlanningCreateRequest,
) -> (Vec<FieldError>, Targets, PlanningParameters) {
    let mut errors = Vec::new();
    let body_error =
        |errors: &mut Vec<FieldError>, loc: Vec<Value>, message: &str, input: Value| {
            errors.push(FieldError::value_error(loc, message, input));
        };
    if request.portfolio_hash.trim().is_empty() {
        body_error(
            &mut errors,
            vec![Value::from("body"), Value::from("portfolio_hash")],
            "portfolio_hash must not be empty",
            Value::from(request.portfolio_hash.as_str()),
        );
    }
    if !request.available_cash.is_finite() || request.available_cash < 0.0 {
        body_error(
            &mut errors,
            vec![Value::from("body"), Value::from("available_cash")],
            "available_cash must be a number of at least 0",
            json!(request.available_cash),
        );
    }
    for (i, p) in request.positions.iter().enumerate() {
        let at = |field: &str| {
            vec![
                Value::from("body"),
                Value::from("positions"),
                Value::from(i),
                Value::from(field),
            ]
        };
        if p.symbol.trim().is_empty() {
            body_error(
                &mut errors,
                at("symbol"),
                "symbol must not be empty",
                Value::from(p.symbol.as_str()),
            );
        }
        if p.quantity < 0 {
            body_error(
                &mut errors,
                at("quantity"),
                "quantity must not be negative",
                Value::from(p.quantity),
            );
        }
        for (field, value) in [
            ("average_price", p.average_price),
            ("current_price", p.current_price),
            ("market_value", p.market_value),
        ] {
            if !value.is_finite() {
                errors.push(FieldError {
                    kind: "finite_number".into(),
                    loc: at(field),
                    msg: "Input should be a finite number".into(),
                    input: Value::Null,
                    ctx: None,
                });
            }
        }
        if p.average_price.is_finite() && p.average_price <= 0.0 {
            body_error(
                &mut errors,
                at("average_price"),
                "average_price must be greater than 0",
                Value::from(p.average_price),
            );
        }
    }

    let mut targets = Targets::new();
    let mut parameters = Map::new();
    let names: HashSet<String> = PlanningParameters::field_names().into_iter().collect();
    for (key, text) in &request.constraints {
        if let Some(symbol) = key.strip_prefix("target_") {
            let symbol = normalize_symbol(symbol);
            match text.trim().parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 && !symbol.is_empty() => {
                    targets.insert(symbol, w);
                }
                _ => errors.push(constraint_error(
                    key,
                    "a target weight is a number of at least 0 for a named symbol",
                    text,
                )),
            }
        } else if names.contains(key) {
            parameters.insert(key.clone(), constraint_value(text));
        } else {
            errors.push(constraint_error(
                key,
                "unknown constraint: expected target_<SYMBOL> or a planning parameter",
                text,
            ));
        }
    }
    let parameters = match serde_json::from_value::<PlanningParameters>(Value::Object(parameters)) {
        Ok(p) => {
            errors.extend(p.validate(&["body", "constraints"]));
            p
        }
        Err(e) => {
            errors.push(FieldError::value_error(
                vec![Value::from("body"), Value::from("constraints")],
                &format!("invalid planning parameter: {e}"),
                json!(request.constraints),
            ));
            PlanningParameters::default()
        }
    };
    (errors, targets, parameters)
}

/// Constraint text as the JSON value it spells: a boolean, an integer, a number, else text.
fn constraint_value(text: &str) -> Value {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::from(text),
    }
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
        score_before: Some(before * 100.0),
        score_after: Some(run.best.as_ref().map_or(before, |b| b.end_state_score) * 100.0),
        breakdown: run.best.as_ref().map_or(Value::Null, |b| json!(b.metrics)),
        rejected: run.identified.rejected.iter().map(|r| json!(r)).collect(),
        data_freshness: Value::Null,
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
        extra,
    };
    let record = draft.build().map_err(|e| e.to_string())?;
    let id = store.save_plan(&record).map_err(|e| e.to_string())?;
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
    let positions: Vec<PositionInput> = request
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
            PositionInput {
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
    let securities: Vec<SecurityInput> = symbols
        .iter()
        .map(|symbol| {
            let record = records.get(symbol);
            SecurityInput {
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

/// A stored plan as the planning service's `Plan`. Plans kept by `POST /planning/create` carry
/// their actions in the body; for other plans (the native planner's) they are read from the
/// steps, with the price per share derived from the value.
fn plan_view(record: &PlanRecord) -> Plan {
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

// ---------------------------------------------------------------------------------------------
// GET routes

async fn plan_by_id(
    State(state): State<Arc<AppState>>,
    Path(plan_id): Path<String>,
) -> Result<PyJson<FoundResponse>, ApiError> {
    // The reference's ids are text; one that is not a stored id is simply not found.
    let Ok(id) = plan_id.trim().parse::<i64>() else {
        return Ok(PyJson(FoundResponse {
            found: false,
            plan: None,
        }));
    };
    let record = on_store(&state.store, move |store| store.plan(id)).await?;
    Ok(PyJson(FoundResponse {
        found: record.is_some(),
        plan: record.as_ref().map(plan_view),
    }))
}

/// Query parameters as FastAPI reads them: the last value of a repeated key wins.
fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn query_loc(name: &str) -> Vec<String> {
    vec!["query".into(), name.into()]
}

fn required_hash(query: &[(String, String)], errors: &mut Vec<FieldError>) -> String {
    match query_value(query, "portfolio_hash") {
        Some(hash) => hash.to_string(),
        None => {
            errors.push(FieldError::new(
                "missing",
                query_loc("portfolio_hash"),
                "Field required",
                Value::Null,
                None,
            ));
            String::new()
        }
    }
}

/// An integer query parameter with a lower and an optional upper bound; the error's input is
/// the text as sent, as FastAPI reports it.
fn bounded_int(
    query: &[(String, String)],
    name: &str,
    default: i64,
    min: i64,
    max: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> i64 {
    let Some(text) = query_value(query, name) else {
        return default;
    };
    let Ok(value) = text.trim().parse::<i64>() else {
        errors.push(FieldError::new(
            "int_parsing",
            query_loc(name),
            "Input should be a valid integer, unable to parse string as an integer",
            Value::from(text),
            None,
        ));
        return default;
    };
    if value < min {
        errors.push(FieldError::new(
            "greater_than_equal",
            query_loc(name),
            format!("Input should be greater than or equal to {min}"),
            Value::from(text),
            Some(json!({ "ge": min })),
        ));
    } else if let Some(max) = max
        && value > max
    {
        errors.push(FieldError::new(
            "less_than_equal",
            query_loc(name),
            format!("Input should be less than or equal to {max}"),
            Value::from(text),
            Some(json!({ "le": max })),
        ));
    }
    value
}

async fn list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<PyJson<ListResponse>, ApiError> {
    let mut errors = Vec::new();
    let hash = required_hash(&query, &mut errors);
    let limit = bounded_int(&query, "limit", 100, 1, Some(1000), &mut errors);
    let offset = bounded_int(&query, "offset", 0, 0, None, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (plans, total) = on_store(&state.store, move |store| {
        plans_for_hash(store, &hash, limit as usize, offset as usize)
    })
    .await?;
    Ok(PyJson(ListResponse {
        plans: plans.iter().map(plan_view).collect(),
        total,
    }))
}

async fn best(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<PyJson<FoundResponse>, ApiError> {
    let mut errors = Vec::new();
    let hash = required_hash(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let record = on_store(&state.store, move |store| best_plan_for_hash(store, &hash)).await?;
    Ok(PyJson(FoundResponse {
        found: record.is_some(),
        plan: record.as_ref().map(plan_view),
    }))
}
