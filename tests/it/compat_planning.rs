//! The coordinator and planning compatibility routes: `POST /coordinator/create-plan` on the
//! oracle's scenarios, its bounds, and the planning service's create / get / list / best over
//! kept plans.

use std::sync::Arc;

use serde_json::{Value, json};
use trading_planner::config::Config;
use trading_planner::domain::Currency;
use trading_planner::store::{SecurityRecord, Store};

use crate::common;

/// A create-plan request from a golden evaluator request: its portfolio, positions and
/// securities, equal target weights over the securities, prices from the positions (then the
/// securities, for what is not held).
fn create_plan_request(golden: &Value) -> Value {
    let securities = golden["securities"].as_array().unwrap();
    let weight = 1.0 / securities.len() as f64;
    let targets: serde_json::Map<String, Value> = securities
        .iter()
        .map(|s| (s["symbol"].as_str().unwrap().to_string(), json!(weight)))
        .collect();
    let mut prices = serde_json::Map::new();
    for p in golden["positions"].as_array().unwrap() {
        prices.insert(
            p["symbol"].as_str().unwrap().into(),
            p["current_price"].clone(),
        );
    }
    for s in securities {
        let symbol = s["symbol"].as_str().unwrap().to_string();
        prices.entry(symbol).or_insert(s["current_price"].clone());
    }
    json!({
        "portfolio_context": golden["portfolio_context"],
        "positions": golden["positions"],
        "securities": golden["securities"],
        "available_cash": golden["portfolio_context"]["available_cash"],
        "target_weights": targets,
        "current_prices": prices,
    })
}

fn scenario(fragment: &str) -> (tempfile::TempDir, Arc<Store>, axum::Router, Value) {
    let (name, golden, _) = common::golden_pair(fragment);
    let (dir, store) = common::store_with_metrics(&name);
    let router = common::router(Config::default(), Arc::clone(&store));
    (dir, store, router, create_plan_request(&golden))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted<'a>(list: &[&'a str]) -> Vec<&'a str> {
    let mut list = list.to_vec();
    list.sort_unstable();
    list
}

/// Every key of the reference's response, with its type, and the arithmetic of spec §6.5.
fn assert_reference_shape(body: &Value, request: &Value) {
    assert_eq!(keys(body), ["plan", "stats"]);
    let plan = &body["plan"];
    assert_eq!(
        keys(plan),
        sorted(&[
            "steps",
            "narrative",
            "total_score",
            "end_state_score",
            "diversification_score",
            "risk_score",
            "total_cost",
            "cash_required",
            "feasible",
            "metadata",
        ])
    );
    for key in [
        "total_score",
        "end_state_score",
        "diversification_score",
        "risk_score",
        "total_cost",
        "cash_required",
    ] {
        assert!(plan[key].is_f64(), "{key} is a float: {}", plan[key]);
    }
    assert!(plan["feasible"].is_boolean());
    let steps = plan["steps"].as_array().unwrap();
    assert!(!steps.is_empty(), "target weights give a plan with steps");
    assert_eq!(
        plan["narrative"],
        format!("Execute {} trades to optimize portfolio.", steps.len())
    );
    assert_eq!(
        keys(&plan["metadata"]),
        ["beam_size", "best_sequence_length"]
    );
    assert_eq!(plan["metadata"]["best_sequence_length"], steps.len());
    assert!(plan["metadata"]["beam_size"].as_u64().unwrap() >= 1);

    let (fixed, percent) = (2.0, 0.002);
    let (mut cost, mut cash) = (0.0, 0.0);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            keys(step),
            sorted(&[
                "step_number",
                "action",
                "narrative",
                "reason",
                "cumulative_cost",
                "cumulative_cash_change",
            ])
        );
        assert_eq!(step["step_number"], i + 1);
        let action = &step["action"];
        assert_eq!(
            keys(action),
            sorted(&[
                "side",
                "symbol",
                "name",
                "quantity",
                "price",
                "value_eur",
                "currency",
                "priority",
                "reason",
                "tags",
            ])
        );
        assert!(action["quantity"].is_i64() && action["price"].is_f64());
        assert!(action["tags"].is_array());
        assert_eq!(step["reason"], action["reason"]);
        assert_eq!(
            step["narrative"],
            format!(
                "{} {} shares of {} ({})",
                action["side"].as_str().unwrap(),
                action["quantity"],
                action["name"].as_str().unwrap(),
                action["symbol"].as_str().unwrap()
            )
        );
        let value = action["value_eur"].as_f64().unwrap();
        let step_cost = fixed + value * percent;
        cost += step_cost;
        match action["side"].as_str().unwrap() {
            "BUY" => cash -= value + step_cost,
            "SELL" => cash += value - step_cost,
            other => panic!("side {other}"),
        }
        assert!((step["cumulative_cost"].as_f64().unwrap() - cost).abs() < 1e-9);
        assert!((step["cumulative_cash_change"].as_f64().unwrap() - cash).abs() < 1e-9);
    }
    let total_cost = plan["total_cost"].as_f64().unwrap();
    assert!((total_cost - cost).abs() < 1e-9, "{total_cost} vs {cost}");

    let stats = &body["stats"];
    assert_eq!(
        keys(stats),
        sorted(&[
            "total_time_seconds",
            "opportunities_identified",
            "sequences_generated",
            "sequences_evaluated",
            "batches_processed",
            "evaluators_used",
        ])
    );
    assert!(stats["total_time_seconds"].is_f64());
    for key in [
        "opportunities_identified",
        "sequences_generated",
        "sequences_evaluated",
        "batches_processed",
    ] {
        assert!(stats[key].is_u64(), "{key}");
    }
    assert!(stats["opportunities_identified"].as_u64().unwrap() > 0);
    assert!(stats["batches_processed"].as_u64().unwrap() >= 1);
    assert!(
        stats["sequences_evaluated"].as_u64().unwrap()
            <= stats["sequences_generated"].as_u64().unwrap()
    );
    assert_eq!(stats["evaluators_used"], 3);
    let _ = request;
}

/// The answer's text with the wall-clock field taken out.
fn without_time(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let start = text.find("\"total_time_seconds\":").unwrap();
    let end = start + text[start..].find(',').unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

#[tokio::test]
async fn create_plan_answers_the_reference_shape_on_the_oracle_scenarios() {
    for fragment in ["n010_default", "n025_default"] {
        let (_dir, _store, router, request) = scenario(fragment);
        let body = request.to_string();
        let (status, content_type, first) =
            common::call_raw(&router, "POST", "/coordinator/create-plan", body.clone()).await;
        assert_eq!(
            status,
            200,
            "{fragment}: {}",
            String::from_utf8_lossy(&first)
        );
        assert_eq!(content_type, "application/json");
        let answer: Value = serde_json::from_slice(&first).unwrap();
        assert_reference_shape(&answer, &request);

        let (status, _, second) =
            common::call_raw(&router, "POST", "/coordinator/create-plan", body).await;
        assert_eq!(status, 200);
        assert_eq!(
            without_time(&first),
            without_time(&second),
            "{fragment}: the same request gives the same plan"
        );
    }
}

#[tokio::test]
async fn the_evaluator_count_and_early_termination_follow_the_request() {
    let (_dir, _store, router, request) = scenario("n010_default");
    let request = common::with(request, "/evaluator_config", json!({"urls": ["http://a"]}));
    let small = common::with(
        request,
        "/parameters",
        json!({"batch_size": 10, "min_batches_to_evaluate": 1, "plateau_threshold": 1}),
    );
    let (status, answer) = common::call(
        &router,
        "POST",
        "/coordinator/create-plan",
        small.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["stats"]["evaluators_used"], 1);
    let stats = &answer["stats"];
    let generated = stats["sequences_generated"].as_u64().unwrap();
    let batches = stats["batches_processed"].as_u64().unwrap();
    assert!(generated <= batches * 10);

    let never_stop = common::with(
        small.clone(),
        "/parameters/enable_early_termination",
        json!(false),
    );
    let (status, full) = common::call(
        &router,
        "POST",
        "/coordinator/create-plan",
        never_stop.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(full["stats"]["batches_processed"].as_u64().unwrap() >= batches);
    assert_eq!(
        full["stats"]["sequences_generated"],
        full["stats"]["sequences_evaluated"]
    );
}

#[tokio::test]
async fn without_target_weights_the_heuristic_path_plans() {
    let (_dir, _store, router, request) = scenario("n010_default");
    let mut request = request;
    request.as_object_mut().unwrap().remove("target_weights");
    let (status, answer) = common::call(
        &router,
        "POST",
        "/coordinator/create-plan",
        request.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(keys(&answer), ["plan", "stats"]);
    if answer["plan"]["steps"].as_array().unwrap().is_empty() {
        assert_eq!(
            answer["plan"]["narrative"],
            "No feasible plan could be created."
        );
        assert_eq!(answer["plan"]["metadata"], json!({}));
        assert_eq!(answer["plan"]["feasible"], false);
    }
}

/// Each bound of `PlanningParameters`, just outside on each side that has one.
const BOUNDS: &[(&str, f64, &str)] = &[
    ("max_depth", 0.0, "greater_than_equal"),
    ("max_depth", 11.0, "less_than_equal"),
    ("beam_width", 0.0, "greater_than_equal"),
    ("beam_width", 101.0, "less_than_equal"),
    ("batch_size", 9.0, "greater_than_equal"),
    ("batch_size", 5001.0, "less_than_equal"),
    ("transaction_cost_fixed", -0.01, "greater_than_equal"),
    ("transaction_cost_percent", -0.001, "greater_than_equal"),
    ("transaction_cost_percent", 0.11, "less_than_equal"),
    ("max_opportunities_per_category", 0.0, "greater_than_equal"),
    ("max_opportunities_per_category", 21.0, "less_than_equal"),
    ("priority_threshold", -0.1, "greater_than_equal"),
    ("priority_threshold", 1.1, "less_than_equal"),
    (
        "combinatorial_max_combinations_per_depth",
        9.0,
        "greater_than_equal",
    ),
    (
        "combinatorial_max_combinations_per_depth",
        201.0,
        "less_than_equal",
    ),
    ("combinatorial_max_sells", 0.0, "greater_than_equal"),
    ("combinatorial_max_sells", 11.0, "less_than_equal"),
    ("combinatorial_max_buys", 0.0, "greater_than_equal"),
    ("combinatorial_max_buys", 11.0, "less_than_equal"),
    ("combinatorial_max_candidates", 3.0, "greater_than_equal"),
    ("combinatorial_max_candidates", 31.0, "less_than_equal"),
    ("diversity_weight", -0.1, "greater_than_equal"),
    ("diversity_weight", 1.1, "less_than_equal"),
    ("min_batches_to_evaluate", 0.0, "greater_than_equal"),
    ("min_batches_to_evaluate", 21.0, "less_than_equal"),
    ("plateau_threshold", 0.0, "greater_than_equal"),
    ("plateau_threshold", 11.0, "less_than_equal"),
    ("monte_carlo_paths", 9.0, "greater_than_equal"),
    ("monte_carlo_paths", 501.0, "less_than_equal"),
    ("cost_penalty_factor", -0.1, "greater_than_equal"),
    ("cost_penalty_factor", 1.1, "less_than_equal"),
];

const INTEGER_FIELDS: &[&str] = &[
    "max_depth",
    "beam_width",
    "batch_size",
    "max_opportunities_per_category",
    "combinatorial_max_combinations_per_depth",
    "combinatorial_max_sells",
    "combinatorial_max_buys",
    "combinatorial_max_candidates",
    "min_batches_to_evaluate",
    "plateau_threshold",
    "monte_carlo_paths",
];

fn number(field: &str, value: f64) -> Value {
    if INTEGER_FIELDS.contains(&field) {
        json!(value as i64)
    } else {
        json!(value)
    }
}

#[tokio::test]
async fn every_parameter_bound_is_a_422_in_fastapi_shape_and_writes_nothing() {
    let (_dir, store, router, request) = scenario("n010_default");
    for &(field, value, kind) in BOUNDS {
        let body = common::with(
            request.clone(),
            "/parameters",
            json!({ field: number(field, value) }),
        );
        let (status, answer) = common::call(
            &router,
            "POST",
            "/coordinator/create-plan",
            body.to_string(),
        )
        .await;
        assert_eq!(status, 422, "{field}={value}: {answer}");
        let detail = answer["detail"].as_array().unwrap();
        assert_eq!(detail.len(), 1, "{field}={value}: {answer}");
        assert_eq!(detail[0]["type"], kind, "{field}={value}");
        assert_eq!(detail[0]["loc"], json!(["body", "parameters", field]));
        assert_eq!(detail[0]["input"], number(field, value));
        assert!(
            detail[0]["msg"]
                .as_str()
                .unwrap()
                .starts_with("Input should be")
        );
    }
    let (status, answer) = common::call(
        &router,
        "POST",
        "/coordinator/create-plan",
        r#"{"positions": []}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(answer["detail"][0]["type"], "missing");
    assert!(store.plans(10).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Planning service

/// A planning request from a golden evaluator request: its positions, its cash, equal target
/// weights for every security as constraints; the universe goes into the store.
fn planning_request(golden: &Value, store: &Store, hash: &str) -> Value {
    let securities = golden["securities"].as_array().unwrap();
    for s in securities {
        let record = SecurityRecord::new(
            s["symbol"].as_str().unwrap(),
            s["name"].as_str().unwrap(),
            Currency::new(s["currency"].as_str().unwrap()).unwrap(),
        );
        store.upsert_security(&record).unwrap();
    }
    let weight = 1.0 / securities.len() as f64;
    let mut constraints = serde_json::Map::new();
    for s in securities {
        constraints.insert(
            format!("target_{}", s["symbol"].as_str().unwrap()),
            json!(weight.to_string()),
        );
    }
    constraints.insert("beam_width".into(), json!("5"));
    let positions: Vec<Value> = golden["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!({
                "symbol": p["symbol"], "isin": format!("XS-{}", p["symbol"].as_str().unwrap()),
                "quantity": p["quantity"], "average_price": p["average_cost"],
                "current_price": p["current_price"], "market_value": p["value_eur"]
            })
        })
        .collect();
    json!({
        "portfolio_hash": hash,
        "available_cash": golden["portfolio_context"]["available_cash"],
        "positions": positions,
        "constraints": constraints,
    })
}

fn planning_scenario() -> (tempfile::TempDir, Arc<Store>, axum::Router, Value) {
    let (name, golden, _) = common::golden_pair("n010_default");
    let (dir, store) = common::store_with_metrics(&name);
    let request = planning_request(&golden, &store, "hash-one");
    let router = common::router(Config::default(), Arc::clone(&store));
    (dir, store, router, request)
}

fn assert_plan_shape(plan: &Value) {
    assert_eq!(
        keys(plan),
        sorted(&[
            "id",
            "portfolio_hash",
            "actions",
            "score",
            "expected_cost",
            "expected_value",
            "created_at",
            "status",
        ])
    );
    for (i, action) in plan["actions"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            keys(action),
            sorted(&[
                "side",
                "symbol",
                "isin",
                "quantity",
                "estimated_price",
                "estimated_cost",
                "reason",
                "priority",
            ])
        );
        assert_eq!(action["priority"], i + 1);
        assert!(action["quantity"].is_i64());
    }
    assert!(["READY", "DRAFT"].contains(&plan["status"].as_str().unwrap()));
}

#[tokio::test]
async fn planning_create_keeps_the_plan_for_get_list_and_best() {
    let (_dir, store, router, request) = planning_scenario();
    let (status, created) =
        common::call(&router, "POST", "/planning/create", request.to_string()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true, "{created}");
    assert_eq!(created["message"], "Plan created successfully");
    let plan = &created["plan"];
    assert_plan_shape(plan);
    assert_eq!(created["plan_id"], plan["id"]);
    assert_eq!(plan["portfolio_hash"], "hash-one");
    let actions = plan["actions"].as_array().unwrap();
    assert!(!actions.is_empty(), "target weights give actions: {plan}");
    let buys: f64 = actions
        .iter()
        .filter(|a| a["side"] == "BUY")
        .map(|a| a["estimated_cost"].as_f64().unwrap())
        .sum();
    assert!((plan["expected_cost"].as_f64().unwrap() - buys).abs() < 1e-9);
    let held: Vec<&str> = request["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["symbol"].as_str().unwrap())
        .collect();
    for action in actions {
        if held.contains(&action["symbol"].as_str().unwrap()) {
            assert_eq!(
                action["isin"],
                format!("XS-{}", action["symbol"].as_str().unwrap())
            );
        }
    }

    // Kept, with narratives on its steps.
    let id: i64 = plan["id"].as_str().unwrap().parse().unwrap();
    let stored = store.plan(id).unwrap().unwrap();
    assert_eq!(stored.plan.portfolio_hash, "hash-one");
    assert_eq!(stored.plan.steps.len(), actions.len());
    assert!(stored.plan.steps.iter().all(|s| !s.narrative.is_empty()));
    assert!(
        stored.plan.body["narrative"]
            .as_str()
            .unwrap()
            .contains("The plan consists of")
    );
    assert!(stored.plan.body["rejected"].is_array());
    assert_eq!(plan["score"].as_f64(), stored.plan.score_after);

    let uri = format!("/planning/plans/{id}");
    let (status, found) = common::call(&router, "GET", &uri, "").await;
    assert_eq!(status, 200);
    assert_eq!(found["found"], true);
    assert_eq!(&found["plan"], plan);

    // A second plan for the same hash, another for a different one.
    let (_, second) = common::call(&router, "POST", "/planning/create", request.to_string()).await;
    assert_eq!(second["success"], true);
    let other = common::with(request.clone(), "/portfolio_hash", json!("hash-two"));
    let (_, third) = common::call(&router, "POST", "/planning/create", other.to_string()).await;
    assert_eq!(third["plan"]["portfolio_hash"], "hash-two");

    let (status, listed) = common::call(
        &router,
        "GET",
        "/planning/plans?portfolio_hash=hash-one",
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 2);
    let ids: Vec<&Value> = listed["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(ids, [&second["plan"]["id"], &plan["id"]], "newest first");
    let (_, page) = common::call(
        &router,
        "GET",
        "/planning/plans?portfolio_hash=hash-one&limit=1&offset=1",
        "",
    )
    .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["plans"].as_array().unwrap().len(), 1);
    assert_eq!(page["plans"][0]["id"], plan["id"]);
    let (_, none) =
        common::call(&router, "GET", "/planning/plans?portfolio_hash=nothing", "").await;
    assert_eq!(none, json!({"plans": [], "total": 0}));

    // Same request, same seed: equal scores, so the newer plan is the best.
    let (status, best) =
        common::call(&router, "GET", "/planning/best?portfolio_hash=hash-one", "").await;
    assert_eq!(status, 200);
    assert_eq!(best["found"], true);
    assert_eq!(best["plan"]["id"], second["plan"]["id"]);
    let (_, best) = common::call(&router, "GET", "/planning/best?portfolio_hash=nothing", "").await;
    assert_eq!(best, json!({"found": false, "plan": null}));
}

#[tokio::test]
async fn unknown_plans_are_not_found() {
    let (_dir, router) = common::empty_router();
    for id in ["12345", "not-a-number", "-1"] {
        let (status, answer) =
            common::call(&router, "GET", &format!("/planning/plans/{id}"), "").await;
        assert_eq!(status, 200);
        assert_eq!(answer, json!({"found": false, "plan": null}));
    }
}

#[tokio::test]
async fn planning_queries_are_validated_as_fastapi_does() {
    let (_dir, router) = common::empty_router();
    let cases: &[(&str, &str, &str, Value)] = &[
        ("/planning/plans", "missing", "portfolio_hash", Value::Null),
        (
            "/planning/plans?portfolio_hash=h&limit=0",
            "greater_than_equal",
            "limit",
            json!("0"),
        ),
        (
            "/planning/plans?portfolio_hash=h&limit=1001",
            "less_than_equal",
            "limit",
            json!("1001"),
        ),
        (
            "/planning/plans?portfolio_hash=h&limit=x",
            "int_parsing",
            "limit",
            json!("x"),
        ),
        (
            "/planning/plans?portfolio_hash=h&offset=-1",
            "greater_than_equal",
            "offset",
            json!("-1"),
        ),
        ("/planning/best", "missing", "portfolio_hash", Value::Null),
    ];
    for (uri, kind, field, input) in cases {
        let (status, answer) = common::call(&router, "GET", uri, "").await;
        assert_eq!(status, 422, "{uri}: {answer}");
        let detail = &answer["detail"][0];
        assert_eq!(detail["type"], *kind, "{uri}");
        assert_eq!(detail["loc"], json!(["query", field]), "{uri}");
        assert_eq!(detail["input"], *input, "{uri}");
    }
    let (status, _) = common::call(
        &router,
        "GET",
        "/planning/plans?portfolio_hash=h&limit=1000&offset=0",
        "",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_planning_requests_are_422_and_keep_nothing() {
    let (_dir, store, router, request) = planning_scenario();
    let cases: Vec<(Value, Value)> = vec![
        (
            common::with(request.clone(), "/portfolio_hash", json!(" ")),
            json!(["body", "portfolio_hash"]),
        ),
        (
            common::with(request.clone(), "/available_cash", json!(-1.0)),
            json!(["body", "available_cash"]),
        ),
        (
            common::with(request.clone(), "/positions/0/quantity", json!(-3)),
            json!(["body", "positions", 0, "quantity"]),
        ),
        (
            common::with(request.clone(), "/positions/0/average_price", json!(0.0)),
            json!(["body", "positions", 0, "average_price"]),
        ),
        (
            common::with(
                request.clone(),
                "/constraints/target_S000.EU",
                json!("lots"),
            ),
            json!(["body", "constraints", "target_S000.EU"]),
        ),
        (
            common::with(request.clone(), "/constraints/no_such_knob", json!("1")),
            json!(["body", "constraints", "no_such_knob"]),
        ),
        (
            common::with(request.clone(), "/constraints/max_depth", json!("11")),
            json!(["body", "constraints", "max_depth"]),
        ),
        (
            common::with(request.clone(), "/constraints/max_depth", json!("deep")),
            json!(["body", "constraints"]),
        ),
    ];
    for (body, loc) in cases {
        let (status, answer) =
            common::call(&router, "POST", "/planning/create", body.to_string()).await;
        assert_eq!(status, 422, "{loc}: {answer}");
        assert_eq!(answer["detail"][0]["loc"], loc, "{answer}");
    }
    let (status, answer) = common::call(
        &router,
        "POST",
        "/planning/create",
        r#"{"available_cash": 1.0, "positions": []}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        answer["detail"][0]["loc"],
        json!(["body", "portfolio_hash"])
    );
    assert!(store.plans(10).unwrap().is_empty(), "no plan kept");
}

#[tokio::test]
async fn a_plan_without_positions_or_targets_is_kept_and_empty() {
    let (_dir, router) = common::empty_router();
    let body = json!({"portfolio_hash": "empty", "available_cash": 0.0, "positions": []});
    let (status, created) =
        common::call(&router, "POST", "/planning/create", body.to_string()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["plan"]["actions"], json!([]));
    assert_eq!(created["plan"]["status"], "DRAFT");
    let (_, best) = common::call(&router, "GET", "/planning/best?portfolio_hash=empty", "").await;
    assert_eq!(best["plan"]["id"], created["plan_id"]);
}
