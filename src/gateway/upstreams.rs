//! Readiness and the health of the Python services, with the freshness of the data each one
//! feeds.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use super::blocking::{blocking, on_store};
use super::error::ApiError;
use super::migration::{ModuleMode, modes};
use crate::domain::BreakerState;
use crate::store::{DataFreshness, Store, UpstreamStatus};
use crate::sync::fx::FxStatus;
use crate::sync::jobs::Job;
use crate::upstream::ServiceStatus;

/// The services the planner calls, in the order the API lists them.
const SERVICES: [&str; 2] = ["tradernet", "scoring"];

#[derive(Serialize)]
pub struct Readiness {
    status: &'static str,
    schema_version: usize,
    /// Reported for information: the planner works on stored data without them.
    upstreams: Vec<ServiceSummary>,
    /// Whether the stored FX rates are older than `feeds.fx_stale_days`, reported, not required.
    fx: FxSummary,
}

#[derive(Serialize)]
struct FxSummary {
    stale: bool,
    oldest_rate_date: Option<chrono::NaiveDate>,
}

#[derive(Serialize)]
struct ServiceSummary {
    name: &'static str,
    configured: bool,
    breaker: BreakerState,
}

/// `GET /readyz`: 200 once the database is migrated and answers; upstream services are
/// reported, not required.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Readiness>, ApiError> {
    // Not ready is 503 whatever the reason, so a load balancer keeps traffic away.
    let store = Arc::clone(&state.store);
    let version = blocking(move || {
        store
            .schema_version()
            .map_err(|e| ApiError::Unavailable(format!("database unavailable: {e}")))
    })
    .await?;
    let latest = Store::latest_schema_version();
    if version != latest {
        return Err(ApiError::Unavailable(format!(
            "database schema is at version {version}, this build needs {latest}"
        )));
    }
    let live = state.upstreams.statuses();
    let upstreams = SERVICES
        .iter()
        .map(|&name| {
            let status = live.iter().find(|s| s.name == name);
            ServiceSummary {
                name,
                configured: status.is_some(),
                breaker: status.map_or(BreakerState::Closed, |s| s.breaker),
            }
        })
        .collect();
    let fx = fx_status(&state).await?;
    Ok(Json(Readiness {
        status: "ready",
        schema_version: version,
        upstreams,
        fx: FxSummary {
            stale: fx.stale,
            oldest_rate_date: fx.oldest_rate_date,
        },
    }))
}

/// The stored FX rates' status as of today (local).
async fn fx_status(state: &AppState) -> Result<FxStatus, ApiError> {
    let stale_days = state.config.feeds.fx_stale_days;
    on_store(&state.store, move |store| {
        crate::sync::fx::fx_status(store, chrono::Local::now().date_naive(), stale_days)
    })
    .await
}

#[derive(Serialize)]
pub struct UpstreamsAnswer {
    services: Vec<ServiceReport>,
    /// Who answers each module's compatibility routes, and its Python service's breaker.
    migration: Vec<ModuleMode>,
    /// The FX rates: their dates, and whether any is stale.
    fx: FxStatus,
}

#[derive(Serialize)]
struct ServiceReport {
    name: &'static str,
    configured: bool,
    url: Option<String>,
    breaker: BreakerState,
    consecutive_failures: u64,
    last_success_at: Option<String>,
    last_error: Option<ErrorReport>,
    /// Each kind of data the service feeds; `stale` means the last sync could not refresh it
    /// and the planner is working on the stored copy.
    data: Vec<FreshnessReport>,
}

#[derive(Serialize)]
struct ErrorReport {
    at: String,
    message: String,
}

#[derive(Serialize)]
struct FreshnessReport {
    kind: &'static str,
    refreshed_at: Option<String>,
    source: Option<String>,
    stale: bool,
}

/// `GET /api/upstreams`: each service with its URL, breaker state, last success, last error
/// and the freshness of its data. Live state comes from the clients; what happened before this
/// process started comes from the database.
pub async fn upstreams(
    State(state): State<Arc<AppState>>,
) -> Result<Json<UpstreamsAnswer>, ApiError> {
    let (stored, freshness) = on_store(&state.store, |store| {
        Ok((store.upstream_statuses()?, store.all_data_freshness()?))
    })
    .await?;
    let live = state.upstreams.statuses();
    let services = SERVICES
        .iter()
        .map(|&name| {
            report(
                name,
                live.iter().find(|s| s.name == name),
                stored.iter().find(|s| s.service == name),
                &freshness,
            )
        })
        .collect();
    let migration = modes(&state.config.migration, &state.upstreams);
    let fx = fx_status(&state).await?;
    Ok(Json(UpstreamsAnswer {
        services,
        migration,
        fx,
    }))
}

fn report(
    name: &'static str,
    live: Option<&ServiceStatus>,
    stored: Option<&UpstreamStatus>,
    freshness: &[DataFreshness],
) -> ServiceReport {
    let stored_error = stored.and_then(|s| {
        Some(ErrorReport {
            at: s.last_error_at.clone()?,
            message: s.last_error.clone()?,
        })
    });
    let live_error = live.and_then(|s| {
        s.last_error.as_ref().map(|e| ErrorReport {
            at: e.at.to_rfc3339(),
            message: e.message.clone(),
        })
    });
    let data = Job::ALL
        .into_iter()
        .filter(|job| job.service() == name)
        .map(|job| {
            let row = freshness.iter().find(|f| f.kind == job.kind());
            FreshnessReport {
                kind: job.kind(),
                refreshed_at: row.map(|f| f.refreshed_at.clone()),
                source: row.map(|f| f.source.clone()),
                // Never refreshed counts as stale: nothing says the data is current.
                stale: row.is_none_or(|f| f.stale),
            }
        })
        .collect();
    ServiceReport {
        name,
        configured: live.is_some(),
        url: live.map(|s| s.url.clone()),
        breaker: live
            .map(|s| s.breaker)
            .or(stored.map(|s| s.breaker_state))
            .unwrap_or(BreakerState::Closed),
        consecutive_failures: live.map_or_else(
            || stored.map_or(0, |s| u64::try_from(s.consecutive_failures).unwrap_or(0)),
            |s| u64::from(s.consecutive_failures),
        ),
        last_success_at: live
            .and_then(|s| s.last_success.map(|t| t.to_rfc3339()))
            .or_else(|| stored.and_then(|s| s.last_success_at.clone())),
        last_error: live_error.or(stored_error),
        data,
    }
}
