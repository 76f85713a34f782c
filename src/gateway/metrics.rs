//! Prometheus metrics: one recorder per process, the HTTP request metrics, and `GET /metrics`.
//!
//! The exporter only renders; serving is ours, so the process opens no second port.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;
use crate::domain::BreakerState;

/// The route label of requests that matched no route; the raw path would let any client
/// create series without bound.
pub const UNMATCHED: &str = "unmatched";

/// Buckets of every `*_duration_seconds` histogram: from a cached read to a long planning run.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process's recorder, installed on first use; later calls return the same handle, so
/// several routers in one process (tests) share it.
pub fn install_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .expect("the buckets are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics will be sparse");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    crate::upstream::describe_metrics();
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response's head, by method and route template"
    );
    describe_gauge!(
        "upstream_breaker_state",
        "Circuit breaker of each upstream service: 0 closed, 1 half-open, 2 open"
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident set size of the process"
    );
    describe_gauge!("events_subscribers", "Live subscribers of GET /api/events");
    describe_histogram!(
        "planning_run_duration_seconds",
        Unit::Seconds,
        "Wall time of planning runs, by outcome"
    );
    describe_gauge!(
        "planning_sequences_per_second",
        "Sequences evaluated per second by the last planning run"
    );
    describe_counter!(
        "shadow_requests_total",
        "Shadow comparisons of compatibility requests (migration.<module>.shadow), by module \
         and outcome: match, mismatch, error (the shadow side failed or timed out), skipped \
         (every shadow slot busy, or the answer over server.max_body_bytes)"
    );
    describe_counter!(
        "fallback_requests_total",
        "Local 5xx answers (or fail_local drills) answered from the module's Python service \
         instead, by module and outcome: ok, http_error (it answered 5xx too), timeout, \
         connect_error, circuit_open"
    );
    describe_gauge!(
        "migration_breaker_state",
        "Circuit breaker of each module's Python service (migration.<module>.url): 0 closed, \
         1 half-open, 2 open"
    );
}

/// The layer that counts and times every request under its route template.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route.clone(),
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route,
        "status" => status,
    )
    .increment(1);
    response
}

/// Standard methods by name; anything else is one label, so odd methods cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the Prometheus text format, with the gauges that are read at scrape time.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let handle = install_recorder();
    for status in state.upstreams.statuses() {
        metrics::gauge!("upstream_breaker_state", "service" => status.name)
            .set(breaker_value(status.breaker));
    }
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    metrics::gauge!("events_subscribers").set(state.events.subscriber_count() as f64);
    for mode in super::migration::modes(&state.config.migration, &state.upstreams) {
        if let Some(breaker) = mode.breaker {
            metrics::gauge!("migration_breaker_state", "module" => mode.module)
                .set(breaker_value(breaker));
        }
    }
    // Histograms are summed into their buckets only at upkeep; doing it here makes a scrape
    // see every sample recorded before it.
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

fn breaker_value(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    }
}

/// `VmRSS` of `/proc/self/status`; `None` where there is no procfs.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
