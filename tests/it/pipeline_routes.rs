//! The opportunity and generator routes beyond the worked example: health, a clear 4xx JSON
//! answer for every kind of bad input (after which the server keeps serving), and the
//! exhaustive mode of `POST /generator/generate`.

use std::collections::HashSet;

use serde_json::{Value, json};
use trading_planner::config::Config;

use crate::common::{self, with};

/// A weight-path request to `POST /opportunity/identify`: its answer does not depend on the
/// database. Raw text, so its maps keep the order written here (`target_weights` not sorted)
/// where the text is sent as it is.
pub const IDENTIFY: &str = r#"{
    "portfolio_context": {"positions": {"AAA": 2500.0, "BBB": 2000.0}, "total_value": 10000.0},
    "positions": [
        {"symbol": "AAA", "quantity": 50, "avg_price": 40.0, "market_value_eur": 2500.0, "unrealized_pnl_pct": 0.25},
        {"symbol": "BBB", "quantity": 100, "avg_price": 30.0, "market_value_eur": 2000.0, "unrealized_pnl_pct": -0.33}],
    "securities": [
        {"symbol": "AAA", "name": "Alpha", "isin": "XX0000000001"},
        {"symbol": "BBB", "name": "Beta", "isin": "XX0000000002"}],
    "available_cash": 1000.0,
    "target_weights": {"BBB": 0.30, "AAA": 0.15},
    "current_prices": {"AAA": 50.0, "BBB": 20.0}
}"#;

/// [`IDENTIFY`] as a JSON value (its maps sorted by key).
pub fn identify_request() -> Value {
    serde_json::from_str(IDENTIFY).unwrap()
}

fn action(side: &str, symbol: &str, quantity: i64, price: f64, priority: f64) -> Value {
    json!({"side": side, "symbol": symbol, "name": symbol, "quantity": quantity, "price": price,
           "value_eur": quantity as f64 * price, "currency": "EUR", "priority": priority,
           "reason": "test", "tags": []})
}

/// A request to `POST /generator/generate`: two sells, three buys.
pub fn generate_request() -> Value {
    json!({
        "opportunities": {
            "rebalance_sells": [action("SELL", "AAA", 20, 50.0, 10.0), action("SELL", "CCC", 4, 100.0, 5.0)],
            "averaging_down": [action("BUY", "BBB", 49, 20.0, 9.9)],
            "rebalance_buys": [action("BUY", "DDD", 40, 25.0, 10.0), action("BUY", "EEE", 10, 30.0, 3.0)]
        },
        "feasibility": {"available_cash": 1000.0},
        "batch_size": 10
    })
}

#[tokio::test]
async fn module_health_routes_answer_as_the_reference() {
    let (_dir, router) = common::empty_router();
    for module in ["opportunity", "generator"] {
        let (status, content_type, body) =
            common::call_raw(&router, "GET", &format!("/{module}/health"), "").await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"healthy":true,"version":"1.0.0","status":"OK","checks":{}}"#
        );
    }
}

/// (what, route, body, expected status, expected error type, expected location).
type BadInput = (
    &'static str,
    &'static str,
    String,
    u16,
    &'static str,
    Option<Value>,
);

#[tokio::test]
async fn every_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(trading_planner::store::Store::open(&dir.path().join("t.db")).unwrap());
    let mut config = Config::default();
    config.server.max_body_bytes = 8192;
    let router = common::router(config, store.clone());
    let identify = identify_request();
    let generate = generate_request();
    const ID: &str = "/opportunity/identify";
    const GEN: &str = "/generator/generate";
    let cases: Vec<BadInput> = vec![
        (
            "identify: malformed JSON",
            ID,
            "{\"positions\": [".into(),
            422,
            "json_invalid",
            None,
        ),
        (
            "identify: empty body",
            ID,
            String::new(),
            422,
            "missing",
            Some(json!(["body"])),
        ),
        (
            "identify: missing available_cash",
            ID,
            {
                let mut v = identify.clone();
                v.as_object_mut().unwrap().remove("available_cash");
                v.to_string()
            },
            422,
            "missing",
            Some(json!(["body", "available_cash"])),
        ),
        (
            "identify: quantity not an integer",
            ID,
            with(identify.clone(), "/positions/0/quantity", json!(1.5)).to_string(),
            422,
            "int_type",
            Some(json!(["body", "positions", 0, "quantity"])),
        ),
        (
            "identify: average price 0",
            ID,
            with(identify.clone(), "/positions/1/avg_price", json!(0.0)).to_string(),
            422,
            "value_error",
            Some(json!(["body", "positions", 1, "avg_price"])),
        ),
        (
            "identify: negative quantity",
            ID,
            with(identify.clone(), "/positions/0/quantity", json!(-3)).to_string(),
            422,
            "value_error",
            Some(json!(["body", "positions", 0, "quantity"])),
        ),
        (
            "identify: blank security name",
            ID,
            with(identify.clone(), "/securities/0/name", json!("  ")).to_string(),
            422,
            "value_error",
            Some(json!(["body", "securities", 0, "name"])),
        ),
        (
            "identify: weights are not numbers",
            ID,
            with(identify.clone(), "/target_weights/AAA", json!("a lot")).to_string(),
            422,
            "float_type",
            None,
        ),
        (
            "identify: oversized body",
            ID,
            with(
                identify.clone(),
                "/securities/0/name",
                json!("x".repeat(9000)),
            )
            .to_string(),
            413,
            "",
            None,
        ),
        (
            "generate: malformed JSON",
            GEN,
            "{\"opportunities\": ".into(),
            422,
            "json_invalid",
            None,
        ),
        (
            "generate: missing feasibility",
            GEN,
            {
                let mut v = generate.clone();
                v.as_object_mut().unwrap().remove("feasibility");
                v.to_string()
            },
            422,
            "missing",
            Some(json!(["body", "feasibility"])),
        ),
        (
            "generate: missing available cash",
            GEN,
            with(generate.clone(), "/feasibility", json!({})).to_string(),
            422,
            "missing",
            Some(json!(["body", "feasibility", "available_cash"])),
        ),
        (
            "generate: negative cash",
            GEN,
            with(generate.clone(), "/feasibility/available_cash", json!(-1.0)).to_string(),
            422,
            "greater_than_equal",
            Some(json!(["body", "feasibility", "available_cash"])),
        ),
        (
            "generate: lower-case side",
            GEN,
            with(
                generate.clone(),
                "/opportunities/rebalance_sells/0/side",
                json!("sell"),
            )
            .to_string(),
            422,
            "enum",
            Some(json!([
                "body",
                "opportunities",
                "rebalance_sells",
                0,
                "side"
            ])),
        ),
        (
            "generate: batch size 9",
            GEN,
            with(generate.clone(), "/batch_size", json!(9)).to_string(),
            422,
            "greater_than_equal",
            Some(json!(["body", "batch_size"])),
        ),
        (
            "generate: batch size 5001",
            GEN,
            with(generate.clone(), "/batch_size", json!(5001)).to_string(),
            422,
            "less_than_equal",
            None,
        ),
        (
            "generate: depth 0",
            GEN,
            with(generate.clone(), "/combinatorial", json!({"max_depth": 0})).to_string(),
            422,
            "greater_than_equal",
            Some(json!(["body", "combinatorial", "max_depth"])),
        ),
        (
            "generate: cost percent 0.2",
            GEN,
            with(
                generate.clone(),
                "/feasibility/transaction_cost_percent",
                json!(0.2),
            )
            .to_string(),
            422,
            "less_than_equal",
            None,
        ),
        (
            "generate: blank security name",
            GEN,
            with(
                generate.clone(),
                "/securities",
                json!([{"symbol": "AAA", "name": ""}]),
            )
            .to_string(),
            422,
            "value_error",
            Some(json!(["body", "securities", 0, "name"])),
        ),
        (
            "generate: unknown mode",
            GEN,
            with(generate.clone(), "/mode", json!("everything")).to_string(),
            422,
            "enum",
            Some(json!(["body", "mode"])),
        ),
        (
            "generate: exhaustive depth 11",
            GEN,
            with(
                with(generate.clone(), "/mode", json!("exhaustive")),
                "/exhaustive",
                json!({"max_depth": 11}),
            )
            .to_string(),
            422,
            "less_than_equal",
            Some(json!(["body", "exhaustive", "max_depth"])),
        ),
        (
            "generate: oversized body",
            GEN,
            with(
                generate.clone(),
                "/opportunities/rebalance_sells/0/reason",
                json!("x".repeat(9000)),
            )
            .to_string(),
            413,
            "",
            None,
        ),
    ];
    for (what, route, body, status, kind, loc) in cases {
        let (got, answer) = common::call(&router, "POST", route, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        match &answer["detail"] {
            Value::Array(errors) => {
                assert_eq!(errors[0]["type"], kind, "{what}: {answer}");
                assert!(
                    errors[0]["msg"].as_str().is_some_and(|m| !m.is_empty()),
                    "{what}"
                );
                if let Some(loc) = loc {
                    assert_eq!(errors[0]["loc"], loc, "{what}: {answer}");
                }
            }
            Value::String(message) => {
                assert!(status != 422 && !message.is_empty(), "{what}: {answer}");
            }
            other => panic!("{what}: no detail in {other}"),
        }
    }
    // Nothing was written, and the server still answers good requests.
    assert!(
        store
            .valid_metrics_now(&["AAA", "BBB"], &["CAGR_5Y"])
            .unwrap()
            .is_empty()
    );
    let (status, _) = common::call(&router, "POST", ID, identify.to_string()).await;
    assert_eq!(status, 200);
    let (status, _, _) = common::call_raw(&router, "POST", GEN, generate.to_string()).await;
    assert_eq!(status, 200);
    let (status, answer) = common::call(&router, "GET", GEN, "").await;
    assert_eq!(
        (status, &answer["detail"]),
        (405, &json!("Method Not Allowed"))
    );
}

fn parse_lines(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn exhaustive_mode_streams_every_valid_combination() {
    let (_dir, router) = common::empty_router();
    let request = with(generate_request(), "/mode", json!("exhaustive"));
    let request = with(request, "/exhaustive", json!({"max_depth": 3}));
    let request = with(request, "/batch_size", json!(10));
    let (status, content_type, body) =
        common::call_raw(&router, "POST", "/generator/generate", request.to_string()).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-ndjson")
    );
    let lines = parse_lines(&body);
    let total = lines[0]["total_batches"].as_u64().unwrap() as usize;
    assert_eq!(lines.len(), total);
    let mut seen = HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["batch_number"], i);
        assert_eq!(line["more_available"], i + 1 < total);
        let sequences = line["sequences"].as_array().unwrap();
        assert!(!sequences.is_empty() && sequences.len() <= 10);
        for s in sequences {
            let mut key: Vec<String> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|a| format!("{}:{}", a["side"], a["symbol"]))
                .collect();
            let symbols: HashSet<&str> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["symbol"].as_str().unwrap())
                .collect();
            assert_eq!(symbols.len(), key.len(), "a symbol repeats in {s}");
            key.sort();
            assert!(seen.insert(key), "a set repeats: {s}");
            // Running cash with costs never goes below zero.
            let mut cash = 1000.0;
            for a in s.as_array().unwrap() {
                let v = a["value_eur"].as_f64().unwrap();
                let cost = 2.0 + v * 0.002;
                cash += if a["side"] == "SELL" {
                    v - cost
                } else {
                    -(v + cost)
                };
                assert!(cash >= 0.0, "{s}");
            }
        }
    }
    // The route streams exactly what the library generator counts for the same inputs.
    let opportunities: trading_planner::domain::Opportunities =
        serde_json::from_value(generate_request()["opportunities"].clone()).unwrap();
    let constraints = trading_planner::generator::exhaustive::Constraints {
        available_cash: 1000.0,
        transaction_cost_fixed: 2.0,
        transaction_cost_percent: 0.002,
        min_trade_value: 100.0,
        ..Default::default()
    };
    let generator = trading_planner::generator::exhaustive::ExhaustiveGenerator::new(
        &opportunities,
        &constraints,
        &trading_planner::generator::exhaustive::ExhaustiveSettings {
            max_depth: 3,
            ..Default::default()
        },
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    assert_eq!(seen.len() as u64, generator.count(&pool));
    assert!(seen.len() > 10);

    // A cap keeps the first sequences and says so in total_batches.
    let capped = with(
        request,
        "/exhaustive",
        json!({"max_depth": 3, "max_sequences": 12}),
    );
    let (_, _, body) =
        common::call_raw(&router, "POST", "/generator/generate", capped.to_string()).await;
    let capped_lines = parse_lines(&body);
    assert_eq!(capped_lines.len(), 2);
    assert_eq!(capped_lines[0]["total_batches"], 2);
    assert_eq!(capped_lines[1]["sequences"].as_array().unwrap().len(), 2);
    assert_eq!(capped_lines[0]["sequences"], lines[0]["sequences"]);
}

#[tokio::test]
async fn an_empty_answer_is_one_line() {
    let (_dir, router) = common::empty_router();
    let request = json!({"opportunities": {}, "feasibility": {"available_cash": 0.0}});
    for mode in ["reference", "exhaustive"] {
        let (status, _, body) = common::call_raw(
            &router,
            "POST",
            "/generator/generate",
            with(request.clone(), "/mode", json!(mode)).to_string(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"batch_number\": 0, \"sequences\": [], \"total_batches\": 1, \"more_available\": false}\n",
            "{mode}"
        );
    }
}

#[tokio::test]
async fn positions_work_instead_of_crashing() {
    // The reference crashed on any position; here they enable the sell-quantity check.
    let (_dir, router) = common::empty_router();
    let request = with(
        generate_request(),
        "/positions",
        json!([{"symbol": "AAA", "quantity": 5, "avg_price": 40.0, "market_value_eur": 250.0}]),
    );
    let (status, _, body) =
        common::call_raw(&router, "POST", "/generator/generate", request.to_string()).await;
    assert_eq!(status, 200);
    let lines = parse_lines(&body);
    let sells: Vec<&Value> = lines
        .iter()
        .flat_map(|l| l["sequences"].as_array().unwrap())
        .flat_map(|s| s.as_array().unwrap())
        .filter(|a| a["side"] == "SELL")
        .collect();
    // Selling 20 AAA with 5 held, or CCC with none held, is infeasible.
    assert!(sells.is_empty(), "{sells:?}");
    assert!(!lines[0]["sequences"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn request_map_order_decides_ties_as_in_the_reference() {
    let (_dir, router) = common::empty_router();
    let request = |targets: &str| {
        format!(
            r#"{{"portfolio_context": {{"positions": {{}}, "total_value": 10000.0}}, "positions": [],
            "securities": [{{"symbol": "DDD", "name": "Delta", "isin": "X1"}}, {{"symbol": "EEE", "name": "Echo", "isin": "X2"}}],
            "available_cash": 0.0, "target_weights": {targets},
            "current_prices": {{"DDD": 25.0, "EEE": 25.0}}}}"#
        )
    };
    for (targets, expected) in [
        (r#"{"EEE": 0.1, "DDD": 0.1}"#, ["EEE", "DDD"]),
        (r#"{"DDD": 0.1, "EEE": 0.1}"#, ["DDD", "EEE"]),
    ] {
        let (status, body) =
            common::call(&router, "POST", "/opportunity/identify", request(targets)).await;
        assert_eq!(status, 200, "{body}");
        let order: Vec<&str> = body["rebalance_buys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["symbol"].as_str().unwrap())
            .collect();
        assert_eq!(order, expected, "targets {targets}");
    }
}
