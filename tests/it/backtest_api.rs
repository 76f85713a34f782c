//! `/api/backtests` on the bundled data: a short backtest end to end, one at a time, cancel,
//! progress events, bad input refused with a message, and the token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{Value, json};
use trading_planner::config::Config;
use trading_planner::events::{BacktestState, Event};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::common;

const SHORT: &str = r#"{"start": "2017-01-01", "end": "2018-12-31", "deposit": 0}"#;

fn state_with(config: Config) -> (tempfile::TempDir, Arc<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let state = AppState::new(config, Arc::new(store)).unwrap();
    (dir, Arc::new(state))
}

fn app() -> (tempfile::TempDir, Arc<AppState>, Router) {
    let (dir, state) = state_with(Config::default());
    let app = router(Arc::clone(&state));
    (dir, state, app)
}

/// Polls `/api/backtests/current` until backtest `id` is no longer running; its last progress.
async fn wait_for_end(app: &Router, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, current) = common::call(app, "GET", "/api/backtests/current", "").await;
        assert_eq!(status, 200, "{current}");
        assert_eq!(&current["backtest_id"], id, "{current}");
        if current["state"] != "running" {
            return current;
        }
        assert!(Instant::now() < deadline, "still running: {current}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_short_backtest_reports_every_figure_of_every_strategy_and_a_monthly_chart() {
    let (_dir, _state, app) = app();
    let (status, current) = common::call(&app, "GET", "/api/backtests/current", "").await;
    assert_eq!(
        (status, current),
        (200, json!({"state": "idle", "latest_backtest_id": null}))
    );

    let (status, started) = common::call(&app, "POST", "/api/backtests", SHORT).await;
    assert_eq!(status, 202, "{started}");
    let id = started["backtest_id"].clone();
    let ended = wait_for_end(&app, &id).await;
    assert_eq!(ended["state"], "finished", "{ended}");
    assert_eq!(ended["days_done"], ended["days_total"], "{ended}");
    assert!(ended["days_total"].as_u64().unwrap() > 2 * 400, "{ended}");
    assert_eq!(ended["latest_backtest_id"], id);

    let (status, latest) = common::call(&app, "GET", "/api/backtests/latest", "").await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["backtest_id"], id);
    assert_eq!(latest["scenario"]["initial_cash_eur"], 10000.0);
    let runs = latest["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "one window, one deposit");
    let run = &runs[0];
    assert_eq!(run["monthly_deposit_eur"], 0.0);
    assert_eq!(
        run["start"], "2017-01-03",
        "the first trading day on or after the start"
    );
    let order: Vec<&str> = latest["strategy_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(order.contains(&"buy_and_hold") && order.contains(&"band_rebalancer"));
    let strategies = run["strategies"].as_object().unwrap();
    assert_eq!(strategies.len(), order.len());
    for name in &order {
        for key in common::BACKTEST_FIGURES {
            assert!(strategies[*name][key].is_number(), "{name}.{key}: {run}");
        }
    }

    // One point on the first day and at each month's end: 24 months of 2017–2018, plus one.
    let chart = &run["chart"];
    let dates = chart["dates"].as_array().unwrap();
    assert_eq!(dates.len(), 25, "{chart}");
    assert_eq!(dates[0], run["start"]);
    assert_eq!(dates[24], run["end"]);
    let series = chart["series"].as_array().unwrap();
    let names: Vec<&str> = series
        .iter()
        .map(|s| s["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(names, order, "the chart keeps the report's order");
    for s in series {
        let values = s["values"].as_array().unwrap();
        assert_eq!(values.len(), dates.len());
        let first = values[0].as_f64().unwrap();
        assert!(
            (first - 10_000.0).abs() < 100.0,
            "first-day fees only: {first}"
        );
        let name = s["strategy"].as_str().unwrap();
        let last = values[24].as_f64().unwrap();
        let reported = strategies[name]["final_value_eur"].as_f64().unwrap();
        assert!(
            (last - reported).abs() < 0.01,
            "{name}: {last} vs {reported}"
        );
    }
    assert!(latest["chart_points"].as_str().unwrap().contains("month"));
}

#[tokio::test]
async fn a_second_backtest_is_refused_while_one_runs_and_cancel_stops_it_keeping_nothing() {
    let (_dir, _state, app) = app();
    // The fourteen default runs take far longer than the next request.
    let (status, started) = common::call(&app, "POST", "/api/backtests", "").await;
    assert_eq!(status, 202, "{started}");
    let id = started["backtest_id"].clone();

    let (status, refused) = common::call(&app, "POST", "/api/backtests", SHORT).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["backtest_id"], id);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("already running"),
        "{refused}"
    );
    let (status, current) = common::call(&app, "GET", "/api/backtests/current", "").await;
    assert_eq!((status, &current["state"]), (200, &json!("running")));
    assert!(current["days_total"].as_u64().unwrap() > 14 * 2 * 1000);

    let (status, cancelling) =
        common::call(&app, "POST", "/api/backtests/current/cancel", "").await;
    assert_eq!(status, 202, "{cancelling}");
    assert_eq!(cancelling["backtest_id"], id);
    let ended = wait_for_end(&app, &id).await;
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert!(ended["days_done"].as_u64() < ended["days_total"].as_u64());
    assert_eq!(ended["latest_backtest_id"], Value::Null);
    let (status, body) = common::call(&app, "GET", "/api/backtests/latest", "").await;
    assert_eq!(status, 404, "a cancelled backtest keeps no report: {body}");
    let (status, body) = common::call(&app, "POST", "/api/backtests/current/cancel", "").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["detail"], "no backtest is running");

    // The slot is free again.
    let (status, again) = common::call(&app, "POST", "/api/backtests", SHORT).await;
    assert_eq!(status, 202, "{again}");
    assert_ne!(again["backtest_id"], id);
    assert_eq!(
        wait_for_end(&app, &again["backtest_id"]).await["state"],
        "finished"
    );
}

#[tokio::test]
async fn progress_and_the_end_arrive_as_events() {
    let (_dir, state, app) = app();
    let mut subscription = state.events.subscribe().unwrap();
    let (status, started) = common::call(&app, "POST", "/api/backtests", SHORT).await;
    assert_eq!(status, 202, "{started}");
    let id = started["backtest_id"].as_u64().unwrap();
    let mut done = 0;
    let end = loop {
        let event = tokio::time::timeout(Duration::from_secs(120), subscription.receiver.recv())
            .await
            .expect("an event in time")
            .unwrap();
        match event {
            Event::BacktestProgress(p) => {
                assert_eq!((p.backtest_id, p.state), (id, BacktestState::Running));
                assert!(p.days_done >= done, "progress went back");
                done = p.days_done;
            }
            Event::BacktestFinished(p) => break p,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!((end.backtest_id, end.state), (id, BacktestState::Finished));
    assert_eq!(end.days_done, end.days_total);
    let json = serde_json::to_value(Event::BacktestFinished(end)).unwrap();
    assert_eq!(
        (&json["type"], &json["state"]),
        (&json!("backtest_finished"), &json!("finished"))
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_naming_the_problem_and_starts_nothing() {
    let (_dir, _state, app) = app();
    let long = "x".repeat(5000);
    let wrong_type = format!(r#"{{"deposit": "{long}"}}"#);
    let cases: [(&str, &str, &str, u16, &str); 14] = [
        (
            "POST",
            "/api/backtests",
            r#"{"start": "1980-01-01"}"#,
            422,
            "before the data",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"start": "2030-01-01"}"#,
            422,
            "after the data",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"start": "2010-01-01", "end": "2009-01-01"}"#,
            422,
            "must come before",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"start": "2010-01-01", "end": "2010-01-01"}"#,
            422,
            "must come before",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"deposit": -1}"#,
            422,
            "deposit must not be negative",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"fee_fixed": -1}"#,
            422,
            "fee.fixed_eur must not be negative",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"fee_rate": -0.1}"#,
            422,
            "fee.rate must not be negative",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"start": "2010-13-01"}"#,
            422,
            "start",
        ),
        (
            "POST",
            "/api/backtests",
            r#"{"window": 3}"#,
            422,
            "unknown field `window`",
        ),
        (
            "POST",
            "/api/backtests",
            &wrong_type,
            422,
            "deposit: invalid type",
        ),
        ("POST", "/api/backtests", "{not json", 400, "JSON object"),
        (
            "POST",
            "/api/backtests/current/cancel",
            "",
            404,
            "no backtest is running",
        ),
        (
            "GET",
            "/api/backtests/latest",
            "",
            404,
            "no backtest has finished yet",
        ),
        (
            "PUT",
            "/api/backtests/current",
            "",
            405,
            "Method Not Allowed",
        ),
    ];
    for (method, path, body, expected, message) in cases {
        let what = format!("{method} {path} {}", &body[..body.len().min(60)]);
        let (status, answer) = common::call(&app, method, path, body.to_string()).await;
        assert_eq!(status, expected, "{what}: {answer}");
        let detail = answer["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {answer}"));
        assert!(detail.contains(message), "{what}: {detail}");
        assert!(
            detail.len() < 300,
            "{what}: the input is not echoed back: {detail}"
        );
    }
    let (_, current) = common::call(&app, "GET", "/api/backtests/current", "").await;
    assert_eq!(current["state"], "idle", "nothing started: {current}");
}

#[tokio::test]
async fn unreadable_data_is_the_service_s_problem_named_in_the_answer() {
    let empty = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.backtest.data_dir = empty.path().to_str().unwrap().to_string();
    let (_dir, state) = state_with(config);
    let app = router(state);
    let (status, answer) = common::call(&app, "POST", "/api/backtests", SHORT).await;
    assert_eq!(status, 503, "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(detail.contains("sp500_prices.csv"), "{detail}");
}

#[tokio::test]
async fn without_the_token_a_backtest_cannot_start_or_be_cancelled_but_can_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut state = AppState::new(Config::default(), Arc::new(store)).unwrap();
    state.token = Some("secret".into());
    let state = Arc::new(state);
    let app = router(Arc::clone(&state));
    for path in ["/api/backtests", "/api/backtests/current/cancel"] {
        let (status, answer) = common::call(&app, "POST", path, SHORT).await;
        assert_eq!(status, 401, "{path}: {answer}");
    }
    assert!(state.backtests.current().is_none(), "nothing started");
    let (status, _) = common::call(&app, "GET", "/api/backtests/current", "").await;
    assert_eq!(status, 200, "reads stay open with open_reads");
}
