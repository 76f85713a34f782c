//! The gateway's compatibility routes (spec §1.6, §8) and the static health of the modules
//! that used to be separate services.
//!
//! Divergence from the reference (spec §10.1 item 12): at 9d86b03d `GET /gateway/status` and
//! `GET /gateway/services/{name}/health` answered 500 (the route read attributes its domain
//! object lacks) and `POST /gateway/trading-cycle` answered `success: false` with a TypeError
//! (it passed `force`/`deposit_amount` where the domain expected `dry_run`), and the domain
//! cycle itself only yielded fixed phases without doing any work. Here they work as the
//! declared models intend: the status reports the in-process modules and the real breaker
//! state of every configured Python service, and a trading cycle runs one planning run and
//! executes its plan. Two smaller differences: pydantic's lax coercion of strings (`"true"`,
//! `"12.5"`) into `force` and `deposit_amount` is not copied, such input is 422; and
//! `POST /gateway/deposit` is not served (its reference route always failed), a deposit goes
//! through the trading cycle's `deposit_amount`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use super::health;
use super::proxy;
use crate::coordinator::{Runner, RunnerError};
use crate::domain::validation::FieldError;
use crate::domain::{BreakerState, Currency, Decimal, Money};
use crate::store::{PlanStatus, RunStatus, Store, StoreError, TradingMode};
use crate::sync::execution::{NoBroker, PlanStep, StepOutcome, execute_steps};

/// The modules that run in this process, each of which the reference ran as a service.
pub const LOCAL_MODULES: [&str; 6] = [
    "evaluator",
    "opportunity",
    "generator",
    "coordinator",
    "planning",
    "gateway",
];

/// The reference's constraint on `service_name`.
const SERVICE_NAME_PATTERN: &str = "^[a-z][a-z0-9_-]*$";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/coordinator/health", get(health::module_health))
        .route("/planning/health", get(health::module_health))
        .route("/gateway/health", get(health::module_health))
        .route("/gateway/status", get(status))
        .route(
            "/gateway/services/{service_name}/health",
            get(service_health),
        )
        .route("/gateway/trading-cycle", post(trading_cycle))
}

// ---------------------------------------------------------------------------------------------
// Status

/// The reference's `ServiceStatus`, fields in its order.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service_name: String,
    pub healthy: bool,
    pub version: String,
    pub status_message: String,
}

#[derive(Debug, Serialize)]
pub struct SystemStatusResponse {
    pub system_healthy: bool,
    pub services: Vec<ServiceStatus>,
    pub overall_message: String,
}

#[derive(Debug, Serialize)]
pub struct ServiceHealthResponse {
    pub found: bool,
    pub status: Option<ServiceStatus>,
}

/// One breaker guarding calls to a service: the planner's own client, or the proxy.
struct BreakerView {
    via: &'static str,
    state: BreakerState,
    failures: u32,
    retry_in_secs: Option<u64>,
}

impl BreakerView {
    fn describe(&self) -> String {
        match self.state {
            BreakerState::Closed => "circuit closed".to_string(),
            BreakerState::HalfOpen => format!("circuit half-open ({})", self.via),
            BreakerState::Open => match self.retry_in_secs {
                Some(secs) => format!(
                    "circuit open after {} failures ({}); retrying in {secs} s",
                    self.failures, self.via
                ),
                None => format!(
                    "circuit open after {} failures ({})",
                    self.failures, self.via
                ),
            },
        }
    }
}

/// Every service in the order `/gateway/status` lists them: the local modules, always
/// healthy while this process answers, then each configured Python service, healthy while
/// every breaker in front of it is closed. Reads only memory.
fn services(state: &AppState) -> Vec<ServiceStatus> {
    let mut out: Vec<ServiceStatus> = LOCAL_MODULES
        .iter()
        .map(|&name| ServiceStatus {
            service_name: name.to_string(),
            healthy: true,
            version: env!("CARGO_PKG_VERSION").to_string(),
            status_message: "OK (in process)".to_string(),
        })
        .collect();

    let mut upstream: Vec<(&'static str, Vec<BreakerView>)> = Vec::new();
    let mut add =
        |name: &'static str, view: BreakerView| match upstream.iter_mut().find(|(n, _)| *n == name)
        {
            Some((_, views)) => views.push(view),
            None => upstream.push((name, vec![view])),
        };
    for status in state.upstreams.statuses() {
        add(
            status.name,
            BreakerView {
                via: "planner calls",
                state: status.breaker,
                failures: status.consecutive_failures,
                retry_in_secs: None,
            },
        );
    }
    for health in proxy::proxied_health(&state.upstreams) {
        add(
            health.name,
            BreakerView {
                via: "proxy",
                state: health.breaker,
                failures: health.consecutive_failures,
                retry_in_secs: health.retry_in_secs,
            },
        );
    }
    for (name, views) in upstream {
        let troubled: Vec<&BreakerView> = views
            .iter()
            .filter(|v| v.state != BreakerState::Closed)
            .collect();
        let status_message = if troubled.is_empty() {
            "OK (circuit closed)".to_string()
        } else {
            troubled
                .iter()
                .map(|v| v.describe())
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(ServiceStatus {
            service_name: name.to_string(),
            healthy: troubled.is_empty(),
            // The Python services' versions are not fetched: the status never waits on them.
            version: String::new(),
            status_message,
        });
    }
    out
}

/// `GET /gateway/status`. Only the local modules decide `system_healthy`: the planner keeps
/// working on stored data while a Python service is down, so that is reported as degraded.
async fn status(State(state): State<Arc<AppState>>) -> PyJson<SystemStatusResponse> {
    let services = services(&state);
    let system_healthy = services
        .iter()
        .filter(|s| LOCAL_MODULES.contains(&s.service_name.as_str()))
        .all(|s| s.healthy);
    let troubled: Vec<String> = services
        .iter()
        .filter(|s| !s.healthy)
        .map(|s| format!("{}: {}", s.service_name, s.status_message))
        .collect();
    let overall_message = match (system_healthy, troubled.is_empty()) {
        (true, true) => "healthy".to_string(),
        (true, false) => format!("degraded: {}", troubled.join(", ")),
        (false, _) => format!("unhealthy: {}", troubled.join(", ")),
    };
    PyJson(SystemStatusResponse {
        system_healthy,
        services,
        overall_message,
    })
}

/// `GET /gateway/services/{service_name}/health`: one entry of the status, or `found: false`.
async fn service_health(
    State(state): State<Arc<AppState>>,
    Path(service_name): Path<String>,
) -> Result<PyJson<ServiceHealthResponse>, ApiError> {
    if !is_service_name(&service_name) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "string_pattern_mismatch",
            vec!["path".into(), "service_name".into()],
            format!("String should match pattern '{SERVICE_NAME_PATTERN}'"),
            Value::String(service_name),
            Some(json!({ "pattern": SERVICE_NAME_PATTERN })),
        )]));
    }
    let status = services(&state)
        .into_iter()
        .find(|s| s.service_name == service_name);
    Ok(PyJson(ServiceHealthResponse {
        found: status.is_some(),
        status,
    }))
}

/// `^[a-z][a-z0-9_-]*$`.
fn is_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

// ---------------------------------------------------------------------------------------------
// Trading cycle

/// The reference's `TradingCycleRequest`; unknown fields are ignored, as pydantic does.
#[derive(Debug, Deserialize)]
struct TradingCycleFields {
    /// Accepted and logged; nothing gates a cycle here (no schedule, no market-hours check),
    /// so there is nothing to force.
    #[serde(default)]
    force: bool,
    #[serde(default)]
    deposit_amount: Option<f64>,
}

/// [`TradingCycleFields`] from a JSON object only: a derived struct would also take an array
/// of its fields in order, which pydantic refuses (`model_attributes_type`).
#[derive(Debug)]
struct TradingCycleRequest(TradingCycleFields);

impl<'de> Deserialize<'de> for TradingCycleRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = TradingCycleRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("struct TradingCycleRequest")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                TradingCycleFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(TradingCycleRequest)
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

/// The reference's `TradingCycleUpdate`, fields in its order.
#[derive(Debug, Serialize)]
pub struct TradingCycleUpdate {
    pub cycle_id: String,
    pub phase: String,
    pub progress_pct: f64,
    pub message: String,
    pub complete: bool,
    pub success: bool,
    pub error: Option<String>,
    pub results: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct TradingCycleResponse {
    pub cycle_id: String,
    pub success: bool,
    pub message: String,
    pub final_update: Option<TradingCycleUpdate>,
}

/// Why a cycle stopped before its plan was executed; answered as `success: false`, the way
/// the reference reports a failed cycle.
struct CycleFailure {
    phase: &'static str,
    progress_pct: f64,
    error: String,
}

/// `POST /gateway/trading-cycle`: one planning run, then its plan's steps executed (paper
/// fills in research mode, broker orders in live mode). A run already in progress is 409.
async fn trading_cycle(State(state): State<Arc<AppState>>, body: Body) -> Response {
    match run_cycle(&state, body).await {
        Ok(answer) => answer,
        Err(error) => error.into_response(),
    }
}

async fn run_cycle(state: &Arc<AppState>, body: Body) -> Result<Response, ApiError> {
    let TradingCycleRequest(request) = read_json(body, state.config.server.max_body_bytes).await?;
    let deposit = match request.deposit_amount {
        Some(amount) if amount > 0.0 => Some(deposit_money(amount)?),
        _ => None,
    };
    tracing::info!(
        force = request.force,
        deposit = request.deposit_amount,
        "trading cycle requested"
    );
    let mode = on_store(state, |s| s.trading_mode()).await?;
    if deposit.is_some() && mode == TradingMode::Live {
        return Ok(PyJson(TradingCycleResponse {
            cycle_id: String::new(),
            success: false,
            message: "deposit_amount is refused in live mode: the broker's cash balance is \
                      the truth, and the cash sync records deposits from it"
                .to_string(),
            final_update: None,
        })
        .into_response());
    }
    if let Some(running) = state.runner.current() {
        return Ok(already_running(running.run_id));
    }
    if let Some(amount) = deposit {
        add_cash(state, amount).await?;
    }
    let runner = Arc::clone(&state.runner);
    // Starting writes the run's row, so it runs on the blocking pool.
    let started = tokio::task::spawn_blocking(move || Runner::start(&runner))
        .await
        .map_err(internal)?;
    let run_id = match started {
        Ok(run_id) => run_id,
        Err(error) => {
            // The deposit belonged to this cycle, which does not happen.
            if let Some(amount) = deposit {
                add_cash(state, amount.checked_neg().map_err(internal)?).await?;
            }
            return match error {
                // A run started between the check and the start.
                RunnerError::AlreadyRunning { run_id } => Ok(already_running(run_id)),
                other => Err(internal(other)),
            };
        }
    };
    let cycle_id = run_id.to_string();
    // Its own task, so a client that hangs up does not stop a cycle between two orders.
    let cycle = {
        let state = Arc::clone(state);
        let work = async move { execute_run(&state, run_id).await };
        match crate::upstream::current_request_id() {
            Some(id) => tokio::spawn(crate::upstream::with_request_id(id, work)),
            None => tokio::spawn(work),
        }
    };
    let outcome = cycle.await.unwrap_or_else(|e| {
        Err(CycleFailure {
            phase: "Executing Trades",
            progress_pct: 90.0,
            error: format!("the cycle's task failed: {e}"),
        })
    });
    let answer = match outcome {
        Ok(results) => {
            let summary = format!(
                "Trading cycle complete ({}): {} filled, {} placed, {} skipped",
                results.get("mode").map_or("", String::as_str),
                results.get("filled").map_or("0", String::as_str),
                results.get("placed").map_or("0", String::as_str),
                results.get("skipped").map_or("0", String::as_str),
            );
            TradingCycleResponse {
                cycle_id: cycle_id.clone(),
                success: true,
                message: summary.clone(),
                final_update: Some(TradingCycleUpdate {
                    cycle_id,
                    phase: "Complete".to_string(),
                    progress_pct: 100.0,
                    message: summary,
                    complete: true,
                    success: true,
                    error: None,
                    results,
                }),
            }
        }
        Err(failure) => TradingCycleResponse {
            cycle_id: cycle_id.clone(),
            success: false,
            message: format!("Trading cycle failed: {}", failure.error),
            final_update: Some(TradingCycleUpdate {
                cycle_id,
                phase: failure.phase.to_string(),
                progress_pct: failure.progress_pct,
                message: format!("Trading cycle failed: {}", failure.error),
                complete: true,
                success: false,
                error: Some(failure.error),
                results: BTreeMap::new(),
            }),
        },
    };
    Ok(PyJson(answer).into_response())
}

fn already_running(run_id: i64) -> Response {
    (
        StatusCode::CONFLICT,
        axum::Json(json!({
            "detail": format!("planning run {run_id} is already running"),
            "run_id": run_id,
        })),
    )
        .into_response()
}

/// The deposit as EUR, or the 422 pydantic would give a number it cannot hold.
fn deposit_money(amount: f64) -> Result<Money, ApiError> {
    Decimal::from_f64(amount)
        .and_then(|d| Money::from_decimal_rounded(d, Currency::EUR))
        .map_err(|e| {
            ApiError::Validation(vec![FieldError::value_error(
                vec!["body".into(), "deposit_amount".into()],
                &format!("not a representable amount of EUR: {e}"),
                json!(amount),
            )])
        })
}

/// Adds `amount` to the EUR balance. Read, then write, as the store has no increment: a cash
/// sync landing in between would win, as it does over every local change to the balances.
async fn add_cash(state: &Arc<AppState>, amount: Money) -> Result<(), ApiError> {
    on_store(state, move |s| {
        let current = s
            .cash_balance(Currency::EUR)?
            .unwrap_or(Money::zero(Currency::EUR));
        let updated = current.checked_add(amount)?;
        s.set_cash_balance(updated)
    })
    .await
}

/// Waits for the run, then executes its plan; the results map of the reference's model.
async fn execute_run(
    state: &Arc<AppState>,
    run_id: i64,
) -> Result<BTreeMap<String, String>, CycleFailure> {
    let planning = |error: String| CycleFailure {
        phase: "Planning",
        progress_pct: 70.0,
        error,
    };
    let executing = |error: String| CycleFailure {
        phase: "Executing Trades",
        progress_pct: 90.0,
        error,
    };
    let (status, plan_id, error) = match state.runner.wait(run_id).await {
        Some(outcome) => (outcome.status, outcome.plan_id, outcome.error),
        // Finished so long ago that the runner forgot it: the database has its end.
        None => {
            let run = on_store(state, move |s| s.planning_run(run_id))
                .await
                .map_err(|e| planning(e.to_string()))?
                .ok_or_else(|| planning(format!("planning run {run_id} is unknown")))?;
            (run.status.as_str(), run.plan_id, run.error)
        }
    };
    if status != RunStatus::Succeeded.as_str() {
        return Err(planning(format!(
            "planning run {run_id} {status}{}",
            error.as_deref().map_or(String::new(), |e| format!(": {e}"))
        )));
    }
    let mut results = BTreeMap::new();
    results.insert("run_id".to_string(), run_id.to_string());
    let Some(plan_id) = plan_id else {
        // Nothing worth doing was found: a successful cycle with nothing to execute.
        for key in ["filled", "placed", "skipped"] {
            results.insert(key.to_string(), "0".to_string());
        }
        results.insert("plan_id".to_string(), String::new());
        return Ok(results);
    };
    let plan = on_store(state, move |s| s.plan(plan_id))
        .await
        .map_err(|e| executing(e.to_string()))?
        .ok_or_else(|| executing(format!("plan {plan_id} is gone")))?;
    let steps: Vec<PlanStep> = plan
        .plan
        .steps
        .iter()
        .enumerate()
        .map(|(n, step)| PlanStep {
            plan_id,
            step: n as u32,
            symbol: step.symbol.clone(),
            side: step.side,
            quantity: step.quantity,
        })
        .collect();
    let report = match &state.upstreams.tradernet {
        Some(broker) => execute_steps(&state.store, broker, &steps).await,
        None => execute_steps(&state.store, &NoBroker, &steps).await,
    };
    let status = if report.is_ok() {
        PlanStatus::Executed
    } else {
        PlanStatus::Failed
    };
    if let Err(e) = on_store(state, move |s| s.set_plan_status(plan_id, status)).await {
        tracing::warn!(plan_id, error = %e, "could not record the plan's status");
    }
    let report = report.map_err(|e| executing(e.to_string()))?;
    let count = |f: fn(&StepOutcome) -> bool| report.outcomes.iter().filter(|o| f(o)).count();
    let counts = [
        ("filled", count(|o| matches!(o, StepOutcome::Filled { .. }))),
        ("placed", count(|o| matches!(o, StepOutcome::Placed { .. }))),
        (
            "unconfirmed",
            count(|o| matches!(o, StepOutcome::Unconfirmed { .. })),
        ),
        (
            "already_executed",
            count(|o| matches!(o, StepOutcome::AlreadyExecuted { .. })),
        ),
        (
            "skipped",
            count(|o| matches!(o, StepOutcome::Skipped { .. })),
        ),
    ];
    results.insert("plan_id".to_string(), plan_id.to_string());
    results.insert("mode".to_string(), report.mode.to_string());
    results.insert("steps".to_string(), steps.len().to_string());
    for (key, n) in counts {
        results.insert(key.to_string(), n.to_string());
    }
    let reasons: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|o| match o {
            StepOutcome::Skipped { step, reason, .. } => Some(format!("step {step}: {reason}")),
            _ => None,
        })
        .collect();
    if !reasons.is_empty() {
        results.insert("skip_reasons".to_string(), reasons.join("; "));
    }
    Ok(results)
}

/// Runs a store call on the blocking pool.
async fn on_store<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(internal)?
        .map_err(internal)
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}
