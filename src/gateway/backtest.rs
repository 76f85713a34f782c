//! `/api/backtests`: starts a backtest of the bundled history (the work and its rules are
//! `crate::backtest_runner`), shows its progress, cancels it, and shows the last finished report
//! with each strategy's value over time, one point a month, for the dashboard's chart.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::blocking::blocking;
use super::body::read_bytes;
use super::error::ApiError;
use crate::backtest::{BacktestOptions, RunResult};
use crate::backtest_runner::FinishedBacktest;
use crate::config::PlannerConfig;

/// How the chart's points are taken from the daily values, as `/latest` says it.
const CHART_POINTS: &str = "the run's first trading day, then the last trading day of each month";

/// Longest excerpt of a decoding error in an answer: enough to name the problem, never the
/// input in bulk.
const MAX_ERROR_CHARS: usize = 160;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/backtests", post(start))
        .route("/backtests/current", get(current))
        .route("/backtests/current/cancel", post(cancel))
        .route("/backtests/latest", get(latest))
}

/// The body of `POST /api/backtests`; every field is optional (see docs/backtest.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    deposit: Option<f64>,
    initial_cash: Option<f64>,
    fee_fixed: Option<f64>,
    fee_rate: Option<f64>,
    fx_rate: Option<f64>,
}

impl StartRequest {
    /// Nothing, or a JSON object of the fields. Syntax errors are 400, wrong fields 422.
    fn decode(bytes: &[u8]) -> Result<StartRequest, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(StartRequest::default());
        }
        let refuse = |path: String, error: serde_json::Error| {
            let message: String = error.to_string().chars().take(MAX_ERROR_CHARS).collect();
            if error.is_data() {
                ApiError::Invalid(format!("{path}: {message}"))
            } else {
                ApiError::BadBody(format!("the body must be a JSON object: {message}"))
            }
        };
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let request = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            refuse(path, error.into_inner())
        })?;
        deserializer
            .end()
            .map_err(|error| refuse(String::new(), error))?;
        Ok(request)
    }

    fn options(self, data_dir: &str, planner: &PlannerConfig) -> BacktestOptions {
        BacktestOptions {
            data_dir: data_dir.into(),
            planner: planner.clone(),
            start: self.start,
            end: self.end,
            deposit: self.deposit,
            initial_cash: self.initial_cash,
            fee_fixed: self.fee_fixed,
            fee_rate: self.fee_rate,
            fx_rate: self.fx_rate,
            ..BacktestOptions::default()
        }
    }
}

/// `POST /api/backtests`: 202 with the id, 409 naming the one running, 422 naming the problem.
async fn start(State(state): State<Arc<AppState>>, body: Body) -> Result<Response, ApiError> {
    let bytes = read_bytes(body, state.config.server.max_small_body_bytes).await?;
    let options = StartRequest::decode(&bytes)?
        .options(&state.config.backtest.data_dir, &state.config.planner);
    let runner = Arc::clone(&state.backtests);
    let backtest_id = blocking(move || runner.start(&options)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"backtest_id": backtest_id, "status": "/api/backtests/current"})),
    )
        .into_response())
}

/// `GET /api/backtests/current`: the backtest started last (running or how it ended), or
/// `idle`; and the id of the report `/latest` shows, if any.
async fn current(State(state): State<Arc<AppState>>) -> Json<Value> {
    let latest = state.backtests.latest().map(|f| f.backtest_id);
    let mut answer = match state.backtests.current() {
        Some(progress) => json!(progress),
        None => json!({"state": "idle"}),
    };
    answer["latest_backtest_id"] = json!(latest);
    Json(answer)
}

async fn cancel(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let backtest_id = state.backtests.cancel()?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"backtest_id": backtest_id, "status": "cancelling"})),
    )
        .into_response())
}

/// `GET /api/backtests/latest`: the last finished report, as the command line's `--json`,
/// with a `chart` per run.
async fn latest(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let finished = state.backtests.latest().ok_or_else(|| {
        ApiError::NotFoundMessage(
            "no backtest has finished yet: start one with POST /api/backtests".into(),
        )
    })?;
    Ok(Json(latest_json(&finished)))
}

fn latest_json(finished: &FinishedBacktest) -> Value {
    let mut answer = finished.report.to_json();
    if let Some(runs) = answer["runs"].as_array_mut() {
        for (json, run) in runs.iter_mut().zip(&finished.report.runs) {
            json["chart"] = chart(run);
        }
    }
    answer["backtest_id"] = json!(finished.backtest_id);
    answer["elapsed_secs"] = json!(finished.elapsed_secs);
    answer["chart_points"] = json!(CHART_POINTS);
    // The strategies in the report's order, which the objects of the figures do not keep.
    answer["strategy_order"] = finished.report.runs.first().map_or(json!([]), |run| {
        json!(
            run.results
                .iter()
                .map(|(kind, _)| kind.name())
                .collect::<Vec<_>>()
        )
    });
    answer
}

/// Each strategy's value in EUR (to the cent) on the days of [`CHART_POINTS`]: a few hundred
/// numbers per run instead of thousands.
fn chart(run: &RunResult) -> Value {
    let days: Vec<NaiveDate> = run
        .results
        .first()
        .map(|(_, simulated)| simulated.daily.iter().map(|(day, _)| *day).collect())
        .unwrap_or_default();
    let points: Vec<usize> = (0..days.len())
        .filter(|&i| {
            i == 0
                || days
                    .get(i + 1)
                    .is_none_or(|next| next.month() != days[i].month())
        })
        .collect();
    // A list, not an object: JSON objects here come out with sorted keys, and the strategies
    // keep the report's order.
    let series: Vec<Value> = run
        .results
        .iter()
        .map(|(kind, simulated)| {
            let values: Vec<f64> = points
                .iter()
                .map(|&i| (simulated.daily[i].1 * 100.0).round() / 100.0)
                .collect();
            json!({"strategy": kind.name(), "values": values})
        })
        .collect();
    json!({
        "dates": points.iter().map(|&i| days[i]).collect::<Vec<_>>(),
        "series": series,
    })
}
