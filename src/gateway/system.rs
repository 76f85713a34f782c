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

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::body::{PyJson, read_json};
use super::error::ApiError;
use super::health;
use super::proxy;
use crate::domain::BreakerState;
use crate::domain::validation::{FieldError, deposit_amount};
use crate::sync::cycle::{TradingCycle, TradingCycleResponse};

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

/// `POST /gateway/trading-cycle`: one planning run, then its plan's steps executed (paper
/// fills in research mode, broker orders in live mode). A run already in progress is 409.
async fn trading_cycle(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<PyJson<TradingCycleResponse>, ApiError> {
    let TradingCycleRequest(request) =
        read_json(body, state.config.server.max_small_body_bytes).await?;
    let deposit = deposit_amount(&["body", "deposit_amount"], request.deposit_amount)?;
    tracing::info!(
        force = request.force,
        deposit = request.deposit_amount,
        "trading cycle requested"
    );
    let cycle = TradingCycle {
        store: Arc::clone(&state.store),
        runner: Arc::clone(&state.runner),
        upstreams: Arc::clone(&state.upstreams),
    };
    Ok(PyJson(cycle.run(deposit).await?))
}
