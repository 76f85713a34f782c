//! The native API under `/api`: the portfolio, the universe, plans and planning runs,
//! settings and the upstream services. JSON in, JSON out; errors as `{"detail": ...}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::blocking::{blocking, on_store};
use super::body::{read_bytes, read_json};
use super::error::ApiError;
use super::upstreams;
use crate::coordinator::snapshot::valuation_inputs;
use crate::coordinator::{RunView, settings};
use crate::domain::valuation::value_portfolio;
use crate::store::PlanRecord;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/upstreams", get(upstreams::upstreams))
        .route("/portfolio", get(portfolio))
        .route(
            "/portfolio/history",
            get(super::value_history::portfolio_history),
        )
        .route("/securities", get(securities))
        .route("/securities/{symbol}", get(security))
        .route("/targets", get(targets))
        .route("/orders", get(orders))
        .route("/plans", get(list_plans).post(start_plan))
        .route("/plans/latest", get(latest_plan))
        .route("/plans/{id}", get(get_plan))
        .route("/runs/current", get(current_run))
        .route("/runs/current/cancel", post(cancel_current_run))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/cancel", post(cancel_run))
        .route("/settings", get(get_settings).put(put_settings))
}

/// `GET /api/portfolio`: the valued portfolio (see [`value_portfolio`]), the trading mode and
/// how fresh each kind of data is.
async fn portfolio(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let (inputs, mode, freshness) = on_store(&state.store, |store| {
        Ok((
            valuation_inputs(store)?,
            store.trading_mode()?,
            store.all_data_freshness()?,
        ))
    })
    .await?;
    // Through a `Value`, whose object keys are sorted, as this answer has always had them.
    let mut answer = serde_json::to_value(value_portfolio(&inputs))
        .map_err(|e| ApiError::Internal(format!("could not encode the portfolio: {e}")))?;
    answer["trading_mode"] = json!(mode.as_str());
    answer["data"] = freshness
        .into_iter()
        .map(|f| {
            json!({
                "kind": f.kind, "refreshed_at": f.refreshed_at, "source": f.source, "stale": f.stale,
            })
        })
        .collect();
    Ok(Json(answer))
}

/// `GET /api/securities`: the universe with last quotes and scores.
async fn securities(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    on_store(&state.store, |store| {
        let quotes: HashMap<String, String> = store
            .quotes()?
            .into_iter()
            .map(|q| (q.symbol, q.price.to_string()))
            .collect();
        let scores: HashMap<String, f64> = store
            .scores()?
            .into_iter()
            .map(|s| (s.symbol, s.total_score))
            .collect();
        let provenance = crate::sync::history_metrics::metrics_provenance(
            store,
            chrono::Local::now().naive_local(),
        )?;
        let list: Vec<Value> = store
            .securities()?
            .into_iter()
            .map(|s| {
                json!({
                    "symbol": s.symbol, "isin": s.isin, "name": s.name, "currency": s.currency.to_string(),
                    "country": s.country, "industry": s.industry, "min_lot": s.min_lot,
                    "allow_buy": s.allow_buy, "allow_sell": s.allow_sell, "active": s.active,
                    "price": quotes.get(&s.symbol), "score": scores.get(&s.symbol),
                    "metrics": provenance.get(&s.symbol),
                })
            })
            .collect();
        Ok(Json(json!({ "securities": list })))
    })
    .await
}

#[derive(Deserialize)]
struct SecurityQuery {
    days: Option<String>,
}

/// `GET /api/securities/{symbol}?days=N` (N 1..=1300, default 365): one security's page — its
/// price history, metrics with their sources and ages, score, target and band, trades and open
/// orders (see [`crate::security_view`]).
async fn security(
    State(state): State<Arc<AppState>>,
    Path(symbol): Path<String>,
    Query(query): Query<SecurityQuery>,
) -> Result<Json<crate::security_view::SecurityView>, ApiError> {
    let most = crate::security_view::MAX_HISTORY_DAYS;
    let days = match query.days.as_deref() {
        None => 365,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=most).contains(&n) => n,
            _ => {
                return Err(query_error(
                    "days",
                    text,
                    &format!("must be a whole number from 1 to {most}"),
                ));
            }
        },
    };
    let shown: String = symbol.chars().take(32).collect();
    let view = on_store(&state.store, move |store| {
        crate::security_view::security_view(
            store,
            &symbol,
            chrono::Local::now().naive_local(),
            days,
        )
    })
    .await?;
    view.map(Json)
        .ok_or_else(|| ApiError::NotFoundMessage(format!("no security {shown}")))
}

/// `GET /api/targets`: each security's and group's target, band, weight and drift, and the
/// cash reserve, as a plan would see them now.
async fn targets(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    on_store(&state.store, |store| {
        let view = crate::coordinator::targets_now(store, chrono::Local::now().naive_local())?;
        Ok(Json(json!(view)))
    })
    .await
}

/// `GET /api/orders`: our orders, the broker's open ones (margin and short sales marked) and
/// the unattributable ones that block live orders (see [`crate::sync::open_orders`]).
async fn orders(
    State(state): State<Arc<AppState>>,
) -> Result<Json<crate::sync::open_orders::OrdersView>, ApiError> {
    let view = on_store(&state.store, crate::sync::open_orders::orders_view).await?;
    Ok(Json(view))
}

/// A stored plan as the API and `plan --json` show it.
pub fn plan_json(plan: &PlanRecord) -> Value {
    json!({
        "id": plan.id,
        "created_at": plan.created_at,
        "status": plan.status.as_str(),
        "portfolio_hash": plan.plan.portfolio_hash,
        "score_before": plan.plan.score_before,
        "score_after": plan.plan.score_after,
        "steps": plan.plan.steps.iter().enumerate().map(|(n, s)| json!({
            "step": n + 1,
            "side": s.side,
            "symbol": s.symbol,
            "quantity": s.quantity.to_string(),
            "value_eur": s.value_eur.to_decimal_string(),
            "narrative": s.narrative,
            "reason": s.reason,
        })).collect::<Vec<_>>(),
        "details": plan.plan.body,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    before: Option<String>,
}

/// `GET /api/plans?limit=N&before=ID` (N 1..=500, default 50): newest first, without their
/// details. A page holds at most `server.max_page_size` plans, so a list costs little memory
/// however many are asked for at once; `next_before` (the last plan's id, when the page is
/// full) asks for the next page.
async fn list_plans(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = match query.limit.as_deref() {
        None => 50,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return Err(query_error(
                    "limit",
                    text,
                    "must be a whole number from 1 to 500",
                ));
            }
        },
    };
    let before = match query.before.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| query_error("before", text, "must be a plan id (a whole number)"))?,
        ),
    };
    let page = limit.min(state.config.server.max_page_size);
    let plans = on_store(&state.store, move |s| s.plans_page(page, before)).await?;
    let next_before = (plans.len() == page)
        .then(|| plans.last().map(|p| p.id))
        .flatten();
    let list: Vec<Value> = plans
        .iter()
        .map(|p| {
            let mut v = plan_json(p);
            v["narrative"] = v["details"]["narrative"].clone();
            v["total_value_eur"] = v["details"]["total_value_eur"].clone();
            v.as_object_mut().map(|o| o.remove("details"));
            v
        })
        .collect();
    drop(plans);
    Ok(Json(json!({ "plans": list, "next_before": next_before })))
}

pub(super) fn query_error(field: &str, input: &str, message: &str) -> ApiError {
    let shown: String = input.chars().take(64).collect();
    ApiError::Validation(vec![crate::domain::validation::FieldError::value_error(
        vec![json!("query"), json!(field)],
        message,
        json!(shown),
    )])
}

async fn latest_plan(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let plans = on_store(&state.store, |s| s.plans(1)).await?;
    plans.first().map(|p| Json(plan_json(p))).ok_or_else(|| {
        ApiError::NotFoundMessage("no plan yet: start one with POST /api/plans".into())
    })
}

async fn get_plan(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| path_error("id", &id, "must be a plan id (a whole number)"))?;
    let plan = on_store(&state.store, move |s| s.plan(id)).await?;
    plan.map(|p| Json(plan_json(&p)))
        .ok_or_else(|| ApiError::NotFoundMessage(format!("no plan {id}")))
}

fn path_error(field: &str, input: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![crate::domain::validation::FieldError::value_error(
        vec![json!("path"), json!(field)],
        message,
        json!(input),
    )])
}

/// `POST /api/plans`: starts a planning run; 202 with its id, 409 if one is running.
async fn start_plan(State(state): State<Arc<AppState>>, body: Body) -> Result<Response, ApiError> {
    // The body is optional and carries nothing yet; anything but JSON is still refused.
    let bytes = read_bytes(body, state.config.server.max_small_body_bytes).await?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::BadBody(format!("the body must be JSON: {e}")))?;
        if !value.as_object().is_some_and(|o| o.is_empty()) {
            return Err(ApiError::BadBody(
                "a planning run takes no parameters; send {} or nothing".into(),
            ));
        }
    }
    let runner = Arc::clone(&state.runner);
    let run_id = blocking(move || runner.start()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": run_id, "status": format!("/api/runs/{run_id}")})),
    )
        .into_response())
}

async fn current_run(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    match state.runner.current() {
        Some(progress) => Ok(Json(json!({"state": "running", "progress": progress}))),
        None => Err(ApiError::NotFoundMessage(
            "no planning run is running".into(),
        )),
    }
}

async fn get_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| path_error("id", &id, "must be a run id (a whole number)"))?;
    if let Some(view) = state.runner.view(id) {
        return Ok(Json(match view {
            RunView::Running(progress) => json!({"state": "running", "progress": progress}),
            RunView::Finished(outcome) => json!({"state": "finished", "outcome": outcome}),
        }));
    }
    let stored = on_store(&state.store, move |s| s.planning_run(id)).await?;
    stored
        .map(|run| {
            Json(json!({
                "state": if run.finished_at.is_some() { "finished" } else { "running" },
                "outcome": {
                    "run_id": run.id, "status": run.status.as_str(), "plan_id": run.plan_id,
                    "error": run.error, "sequences_evaluated": run.sequences_evaluated,
                    "started_at": run.started_at, "finished_at": run.finished_at,
                },
            }))
        })
        .ok_or_else(|| ApiError::NotFoundMessage(format!("no planning run {id}")))
}

async fn cancel_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| path_error("id", &id, "must be a run id (a whole number)"))?;
    cancel(&state, id)
}

async fn cancel_current_run(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    match state.runner.current() {
        Some(progress) => cancel(&state, progress.run_id),
        None => Err(ApiError::NotFoundMessage(
            "no planning run is running".into(),
        )),
    }
}

fn cancel(state: &AppState, run_id: i64) -> Result<Response, ApiError> {
    state.runner.cancel(run_id)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": run_id, "status": "cancelling"})),
    )
        .into_response())
}

async fn get_settings(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let current = on_store(&state.store, settings::current).await?;
    Ok(Json(settings_json(&current)))
}

fn settings_json(current: &[(settings::SettingSpec, String)]) -> Value {
    json!({
        "settings": current.iter().map(|(spec, value)| {
            let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
            v["value"] = json!(value);
            v
        }).collect::<Vec<_>>()
    })
}

/// `PUT /api/settings` `{key: value, ...}`: every value is checked first; all are written or
/// none.
async fn put_settings(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let update: BTreeMap<String, Value> =
        read_json(body, state.config.server.max_small_body_bytes).await?;
    let values = settings::check_update(&update)?;
    let current = on_store(&state.store, move |s| {
        s.set_settings(&values)?;
        settings::current(s)
    })
    .await?;
    Ok(Json(settings_json(&current)))
}
