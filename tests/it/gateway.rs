//! The evaluator routes: health, and a clear 4xx JSON answer for every kind of bad input, after
//! which the server keeps serving and nothing has been written.

use serde_json::{Value, json};
use trading_planner::config::Config;

use crate::common;

fn small_request() -> Value {
    json!({
        "sequences": [[{"side":"BUY","symbol":"CCC","name":"CCC Corp","quantity":2,"price":200.0,"value_eur":400.0,"currency":"EUR","priority":0.9,"reason":"add small","tags":[]}]],
        "portfolio_context": {"total_value_eur": 10000.0, "available_cash": 1000.0, "invested_value": 9000.0, "num_positions": 1},
        "positions": [{"symbol":"AAA","quantity":60,"average_cost":90.0,"current_price":100.0,"value_eur":6000.0,"currency":"EUR","unrealized_gain_loss":600.0,"unrealized_gain_loss_percent":11.11}],
        "securities": [{"symbol":"AAA","name":"AAA Corp","current_price":100.0,"currency":"EUR"}],
        "settings": {"beam_width": 10}
    })
}

fn rows(store: &trading_planner::store::Store) -> usize {
    let symbols = ["AAA", "BBB", "CCC"];
    store
        .valid_metrics_now(&symbols, &["CAGR_5Y"])
        .unwrap()
        .values()
        .map(|m| m.len())
        .sum()
}

#[tokio::test]
async fn health_routes_answer_as_the_reference() {
    let (_dir, store) = common::store_with_metrics("py_eval_n010_default");
    let router = common::router(Config::default(), store);
    let (status, body) = common::call(&router, "GET", "/evaluator/health", "").await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"healthy": true, "version": "1.0.0", "status": "OK", "checks": {}})
        )
    );
    let (status, body) = common::call(&router, "GET", "/healthz", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

/// (what, body, expected status, expected error type, expected location).
type BadInput = (&'static str, String, u16, &'static str, Option<Vec<Value>>);

#[tokio::test]
async fn every_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(trading_planner::store::Store::open(&dir.path().join("t.db")).unwrap());
    store
        .replace_metrics(
            &[("AAA".to_string(), [("CAGR_5Y".to_string(), 0.1)].into())].into(),
            "test",
        )
        .unwrap();
    let mut config = Config::default();
    config.server.max_body_bytes = 4096;
    let router = common::router(config, store.clone());
    let base = small_request();
    let oversized = common::with(
        base.clone(),
        "/sequences/0/0/reason",
        Value::from("x".repeat(5000)),
    );
    let cases: Vec<BadInput> = vec![
        (
            "malformed JSON",
            "{\"sequences\": [".to_string(),
            422,
            "json_invalid",
            None,
        ),
        (
            "empty body",
            String::new(),
            422,
            "missing",
            Some(vec![json!("body")]),
        ),
        (
            "body is a list",
            "[]".to_string(),
            422,
            "model_attributes_type",
            Some(vec![json!("body")]),
        ),
        (
            "missing field",
            {
                let mut v = base.clone();
                v.as_object_mut().unwrap().remove("positions");
                v.to_string()
            },
            422,
            "missing",
            Some(vec![json!("body"), json!("positions")]),
        ),
        (
            "lower-case side",
            common::with(base.clone(), "/sequences/0/0/side", json!("buy")).to_string(),
            422,
            "enum",
            Some(vec![
                json!("body"),
                json!("sequences"),
                json!(0),
                json!(0),
                json!("side"),
            ]),
        ),
        (
            "unknown side",
            common::with(base.clone(), "/sequences/0/0/side", json!("HOLD")).to_string(),
            422,
            "enum",
            None,
        ),
        (
            "quantity not an integer",
            common::with(base.clone(), "/sequences/0/0/quantity", json!("two")).to_string(),
            422,
            "int_type",
            None,
        ),
        (
            "beam width 0",
            common::with(base.clone(), "/settings/beam_width", json!(0)).to_string(),
            422,
            "greater_than_equal",
            Some(vec![json!("body"), json!("settings"), json!("beam_width")]),
        ),
        (
            "beam width 101",
            common::with(base.clone(), "/settings/beam_width", json!(101)).to_string(),
            422,
            "less_than_equal",
            None,
        ),
        (
            "percent above 0.1",
            common::with(
                base.clone(),
                "/settings/transaction_cost_percent",
                json!(0.5),
            )
            .to_string(),
            422,
            "less_than_equal",
            None,
        ),
        (
            "negative fixed cost",
            common::with(
                base.clone(),
                "/settings/transaction_cost_fixed",
                json!(-1.0),
            )
            .to_string(),
            422,
            "greater_than_equal",
            None,
        ),
        (
            "penalty above 1",
            common::with(base.clone(), "/settings/cost_penalty_factor", json!(2.0)).to_string(),
            422,
            "less_than_equal",
            None,
        ),
        (
            "9 Monte Carlo paths",
            common::with(base.clone(), "/settings/monte_carlo_paths", json!(9)).to_string(),
            422,
            "greater_than_equal",
            None,
        ),
        (
            "empty shift list",
            common::with(
                common::with(
                    base.clone(),
                    "/settings/stochastic_scenario_shifts",
                    json!([]),
                ),
                "/settings/enable_stochastic_scenarios",
                json!(true),
            )
            .to_string(),
            422,
            "too_short",
            Some(vec![
                json!("body"),
                json!("settings"),
                json!("stochastic_scenario_shifts"),
            ]),
        ),
    ];
    for (what, body, status, kind, loc) in cases {
        let (got, answer) = common::call(&router, "POST", "/evaluator/evaluate", body).await;
        assert_eq!(got, status, "{what}: {answer}");
        let detail = &answer["detail"][0];
        assert_eq!(detail["type"], kind, "{what}: {answer}");
        assert!(
            detail["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
        if let Some(loc) = loc {
            assert_eq!(detail["loc"], Value::Array(loc), "{what}: {answer}");
        }
    }
    let (status, answer) = common::call(
        &router,
        "POST",
        "/evaluator/evaluate",
        oversized.to_string(),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["detail"].as_str().unwrap().contains("4096"),
        "{answer}"
    );
    let (status, answer) = common::call(&router, "GET", "/evaluator/evaluate", "").await;
    assert_eq!(
        (status, answer),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    let (status, answer) = common::call(&router, "GET", "/nowhere", "").await;
    assert_eq!((status, answer), (404, json!({"detail": "Not Found"})));

    let (status, answer) =
        common::call(&router, "POST", "/evaluator/evaluate", base.to_string()).await;
    assert_eq!(status, 200, "still serving: {answer}");
    assert_eq!(answer["total_evaluated"], 1);
    assert_eq!(rows(&store), 1, "the evaluator writes nothing");
}

#[tokio::test]
async fn stochastic_with_monte_carlo_enabled_ignores_an_empty_shift_list() {
    // Monte Carlo wins over stochastic scenarios, so the reference never read the empty list.
    let (_dir, store) = common::store_with_metrics("py_eval_n010_default");
    let router = common::router(Config::default(), store);
    let body = common::with(
        common::with(
            common::with(
                small_request(),
                "/settings/stochastic_scenario_shifts",
                json!([]),
            ),
            "/settings/enable_stochastic_scenarios",
            json!(true),
        ),
        "/settings/enable_monte_carlo",
        json!(true),
    );
    let (status, answer) =
        common::call(&router, "POST", "/evaluator/evaluate", body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["top_sequences"][0]["metrics"]["monte_carlo"].is_object());
}
