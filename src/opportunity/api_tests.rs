//! The request model, its validation, the path choice, and the worked example of spec §7.1–7.2.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use crate::domain::py_json::to_python_json;
use crate::domain::validation::decode_body;
use crate::domain::{ActionCandidate, Side};

use super::api::{IdentifyOpportunitiesRequest, identify_request};
use super::heuristic::HeuristicEnv;
use super::identified::IdentificationPath;

const SPEC_7_1: &str = r#"{"portfolio_context": {"positions": {"AAA": 2500.0, "BBB": 2000.0, "CCC": 4500.0}, "total_value": 10000.0},
 "positions": [
  {"symbol": "AAA", "quantity": 50,  "avg_price": 40.0,  "market_value_eur": 2500.0, "unrealized_pnl_pct": 0.25},
  {"symbol": "BBB", "quantity": 100, "avg_price": 30.0,  "market_value_eur": 2000.0, "unrealized_pnl_pct": -0.3333},
  {"symbol": "CCC", "quantity": 45,  "avg_price": 100.0, "market_value_eur": 4500.0, "unrealized_pnl_pct": 0.0}],
 "securities": [
  {"symbol": "AAA", "name": "Alpha", "isin": "XX0000000001", "country": "US", "industry": "Tech"},
  {"symbol": "BBB", "name": "Beta",  "isin": "XX0000000002", "country": "DE", "industry": "Industrials"},
  {"symbol": "CCC", "name": "Gamma", "isin": "XX0000000003", "country": "US", "industry": "Finance"},
  {"symbol": "DDD", "name": "Delta", "isin": "XX0000000004", "country": "FR", "industry": "Tech"}],
 "available_cash": 1000.0,
 "target_weights": {"AAA": 0.15, "BBB": 0.30, "CCC": 0.40, "DDD": 0.10},
 "current_prices": {"AAA": 50.0, "BBB": 20.0, "CCC": 100.0, "DDD": 25.0}}"#;

/// Spec §7.2 as Python's `json.dumps` writes it.
const SPEC_7_2: &str = concat!(
    r#"{"profit_taking": [], "averaging_down": [{"side": "BUY", "symbol": "BBB", "name": "Beta", "quantity": 49, "price": 20.0, "value_eur": 980.0, "currency": "EUR", "priority": 9.999999999999998, "reason": "Optimizer target: 30.0% (current: 20.0%)", "tags": ["averaging_down", "optimizer_target"]}], "#,
    r#""rebalance_sells": [{"side": "SELL", "symbol": "AAA", "name": "Alpha", "quantity": 20, "price": 50.0, "value_eur": 1000.0, "currency": "EUR", "priority": 10.0, "reason": "Optimizer target: 15.0% (current: 25.0%)", "tags": ["rebalance", "optimizer_target"]}, "#,
    r#"{"side": "SELL", "symbol": "CCC", "name": "Gamma", "quantity": 4, "price": 100.0, "value_eur": 400.0, "currency": "EUR", "priority": 4.999999999999999, "reason": "Optimizer target: 40.0% (current: 45.0%)", "tags": ["rebalance", "optimizer_target"]}], "#,
    r#""rebalance_buys": [{"side": "BUY", "symbol": "DDD", "name": "Delta", "quantity": 40, "price": 25.0, "value_eur": 1000.0, "currency": "EUR", "priority": 10.0, "reason": "Optimizer target: 10.0% (current: 0.0%)", "tags": ["rebalance", "optimizer_target"]}], "#,
    r#""opportunity_buys": []}"#
);

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn spec_request() -> IdentifyOpportunitiesRequest {
    serde_json::from_str(SPEC_7_1).expect("the spec request parses")
}

fn spec_value() -> Value {
    serde_json::from_str(SPEC_7_1).unwrap()
}

/// Edits of the spec request made as JSON values. `serde_json::Value` sorts object keys, so
/// tests whose outcome depends on map order edit the text instead (see [`spec_text_with`]).
fn parse(value: Value) -> IdentifyOpportunitiesRequest {
    serde_json::from_value(value).unwrap()
}

/// The spec request with textual replacements, keeping every map in its written order.
fn spec_text_with(replacements: &[(&str, &str)]) -> IdentifyOpportunitiesRequest {
    let mut text = SPEC_7_1.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "{from} is in the spec request");
        text = text.replacen(from, to, 1);
    }
    serde_json::from_str(&text).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn assert_candidate(
    c: &ActionCandidate,
    side: Side,
    symbol: &str,
    name: &str,
    quantity: i64,
    price: f64,
    value_eur: f64,
    priority: f64,
    reason: &str,
    tags: &[&str],
) {
    assert_eq!(c.side, side, "{symbol} side");
    assert_eq!(c.symbol, symbol);
    assert_eq!(c.name, name, "{symbol} name");
    assert_eq!(c.quantity, quantity, "{symbol} quantity");
    assert_eq!(c.price.to_bits(), price.to_bits(), "{symbol} price");
    assert_eq!(c.value_eur.to_bits(), value_eur.to_bits(), "{symbol} value");
    assert_eq!(c.currency, "EUR", "{symbol} currency");
    assert_eq!(
        c.priority.to_bits(),
        priority.to_bits(),
        "{symbol} priority"
    );
    assert_eq!(c.reason, reason, "{symbol} reason");
    assert_eq!(c.tags, tags, "{symbol} tags");
}

#[test]
fn spec_7_1_gives_exactly_spec_7_2() {
    let req = spec_request();
    assert!(req.validate().is_empty());
    let result = identify_request(&req, &HeuristicEnv::new(now()));
    assert_eq!(result.path, IdentificationPath::Weights);
    assert_eq!(to_python_json(&result.opportunities).unwrap(), SPEC_7_2);
    assert!(result.rejected.is_empty(), "{:?}", result.rejected);
    assert!(result.windfall.is_empty());

    let o = &result.opportunities;
    assert!(o.profit_taking.is_empty());
    assert!(o.opportunity_buys.is_empty());
    assert_eq!(o.averaging_down.len(), 1);
    assert_candidate(
        &o.averaging_down[0],
        Side::Buy,
        "BBB",
        "Beta",
        49,
        20.0,
        980.0,
        9.999999999999998,
        "Optimizer target: 30.0% (current: 20.0%)",
        &["averaging_down", "optimizer_target"],
    );
    assert_eq!(o.rebalance_sells.len(), 2);
    assert_candidate(
        &o.rebalance_sells[0],
        Side::Sell,
        "AAA",
        "Alpha",
        20,
        50.0,
        1000.0,
        10.0,
        "Optimizer target: 15.0% (current: 25.0%)",
        &["rebalance", "optimizer_target"],
    );
    assert_candidate(
        &o.rebalance_sells[1],
        Side::Sell,
        "CCC",
        "Gamma",
        4,
        100.0,
        400.0,
        4.999999999999999,
        "Optimizer target: 40.0% (current: 45.0%)",
        &["rebalance", "optimizer_target"],
    );
    assert_eq!(o.rebalance_buys.len(), 1);
    assert_candidate(
        &o.rebalance_buys[0],
        Side::Buy,
        "DDD",
        "Delta",
        40,
        25.0,
        1000.0,
        10.0,
        "Optimizer target: 10.0% (current: 0.0%)",
        &["rebalance", "optimizer_target"],
    );
}

#[test]
fn lower_case_security_and_target_change_the_result() {
    let req = spec_text_with(&[
        (
            r#"{"symbol": "AAA", "name": "Alpha""#,
            r#"{"symbol": "aaa", "name": "Alpha""#,
        ),
        (r#""target_weights": {"AAA""#, r#""target_weights": {"aaa""#),
    ]);
    assert!(req.validate().is_empty());
    let result = identify_request(&req, &HeuristicEnv::new(now()));
    let o = &result.opportunities;

    // `AAA` (held, no target) is sold in full; the `aaa` buy gap finds no price under its key.
    assert_eq!(o.rebalance_sells.len(), 2);
    assert_candidate(
        &o.rebalance_sells[0],
        Side::Sell,
        "AAA",
        "Alpha",
        50,
        50.0,
        2500.0,
        25.0,
        "Optimizer target: 0.0% (current: 25.0%)",
        &["rebalance", "optimizer_target"],
    );
    assert_eq!(o.rebalance_sells[1].symbol, "CCC");
    assert_eq!(o.rebalance_sells[1].quantity, 4);
    assert_eq!(o.averaging_down.len(), 1);
    assert_eq!(o.averaging_down[0].quantity, 49);
    assert_eq!(o.rebalance_buys.len(), 1);
    assert_eq!(o.rebalance_buys[0].symbol, "DDD");
    assert!(
        !o.iter()
            .any(|(_, c)| c.symbol.eq_ignore_ascii_case("aaa") && c.side == Side::Buy)
    );
    assert_eq!(result.rejected.len(), 1);
    assert_eq!(result.rejected[0].symbol, "aaa");
    assert_eq!(result.rejected[0].code(), "no_price");
    assert_eq!(result.rejected[0].side, Some(Side::Buy));
}

#[test]
fn lower_case_target_with_its_own_price_finds_no_security() {
    let req = spec_text_with(&[
        (
            r#"{"symbol": "AAA", "name": "Alpha""#,
            r#"{"symbol": "aaa", "name": "Alpha""#,
        ),
        (r#""target_weights": {"AAA""#, r#""target_weights": {"aaa""#),
        (
            r#""current_prices": {"#,
            r#""current_prices": {"aaa": 50.0, "#,
        ),
    ]);
    let result = identify_request(&req, &HeuristicEnv::new(now()));
    let aaa = result
        .rejected
        .iter()
        .find(|r| r.symbol == "aaa")
        .expect("the aaa gap is rejected");
    assert_eq!(aaa.code(), "no_security");
}

#[test]
fn optional_fields_take_their_defaults() {
    let req = parse(json!({
        "portfolio_context": {"positions": {}, "total_value": 0.0},
        "positions": [],
        "securities": [{"symbol": "x", "name": "X", "isin": "I"}],
        "available_cash": 0,
    }));
    assert_eq!(req.transaction_cost_fixed, 2.0);
    assert_eq!(req.transaction_cost_percent, 0.002);
    assert_eq!(req.target_weights, None);
    assert_eq!(req.current_prices, None);
    assert_eq!(req.recently_sold, None);
    assert_eq!(req.ineligible_symbols, None);
    assert!(req.portfolio_context.country_weights.is_empty());
    assert!(req.portfolio_context.industry_weights.is_empty());
    assert_eq!(req.portfolio_context.security_countries, None);
    let s = &req.securities[0];
    assert!(s.allow_buy && s.allow_sell);
    assert_eq!((s.country.clone(), s.industry.clone()), (None, None));
}

#[test]
fn a_missing_required_field_is_a_422_shape_error() {
    let body = br#"{"portfolio_context": {"positions": {}, "total_value": 1.0}, "positions": [], "securities": []}"#;
    let errors = decode_body::<IdentifyOpportunitiesRequest>(body).unwrap_err();
    assert_eq!(errors[0].kind, "missing");
    assert_eq!(errors[0].loc, vec![json!("body"), json!("available_cash")]);
}

#[test]
fn map_order_is_the_request_order() {
    let req = spec_request();
    let keys: Vec<&str> = req
        .target_weights
        .as_ref()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["AAA", "BBB", "CCC", "DDD"]);
    let held: Vec<&str> = req
        .portfolio_context
        .positions
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(held, ["AAA", "BBB", "CCC"]);
}

#[test]
fn what_crashed_the_reference_is_a_located_value_error() {
    let mut v = spec_value();
    v["positions"][0]["avg_price"] = json!(0.0);
    v["positions"][1]["quantity"] = json!(-1);
    v["positions"][2]["symbol"] = json!("  ");
    v["securities"][1]["name"] = json!(" ");
    v["securities"][3]["symbol"] = json!("");
    let errors = parse(v).validate();
    let located: Vec<(Value, &str)> = errors
        .iter()
        .map(|e| (Value::Array(e.loc.clone()), e.kind.as_str()))
        .collect();
    assert_eq!(
        located,
        vec![
            (json!(["body", "positions", 0, "avg_price"]), "value_error"),
            (json!(["body", "positions", 1, "quantity"]), "value_error"),
            (json!(["body", "positions", 2, "symbol"]), "value_error"),
            (json!(["body", "securities", 1, "name"]), "value_error"),
            (json!(["body", "securities", 3, "symbol"]), "value_error"),
        ]
    );
    assert_eq!(
        errors[0].msg,
        "Value error, avg_price must be greater than 0"
    );
    assert_eq!(errors[0].input, json!(0.0));
    assert_eq!(errors[1].input, json!(-1));
}

#[test]
fn negative_average_price_is_refused_too() {
    let mut v = spec_value();
    v["positions"][1]["avg_price"] = json!(-5.0);
    let errors = parse(v).validate();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        Value::Array(errors[0].loc.clone()),
        json!(["body", "positions", 1, "avg_price"])
    );
}

#[test]
fn non_finite_numbers_are_refused_where_they_are() {
    let mut req = spec_request();
    req.portfolio_context.total_value = f64::INFINITY;
    req.target_weights
        .as_mut()
        .unwrap()
        .insert("BBB".into(), f64::NAN);
    req.current_prices
        .as_mut()
        .unwrap()
        .insert("123".into(), f64::NEG_INFINITY);
    req.positions[2].avg_price = f64::NAN;
    let errors = req.validate();
    let locs: Vec<Value> = errors.iter().map(|e| Value::Array(e.loc.clone())).collect();
    assert_eq!(
        locs,
        vec![
            json!(["body", "portfolio_context", "total_value"]),
            json!(["body", "positions", 2, "avg_price"]),
            json!(["body", "target_weights", "BBB"]),
            // A numeric-looking key stays a string, as pydantic writes dict keys.
            json!(["body", "current_prices", "123"]),
        ]
    );
    assert!(errors.iter().all(|e| e.kind == "finite_number"));
}

#[test]
fn positions_convert_as_the_reference_does() {
    let mut v = spec_value();
    v["positions"][0]["symbol"] = json!("  aaa ");
    v["positions"][1]["quantity"] = json!(0);
    v["positions"][2]["market_value_eur"] = json!(4500.0);
    let positions = parse(v).domain_positions();
    assert_eq!(positions[0].symbol, "AAA");
    assert_eq!(positions[0].quantity, 50.0);
    assert_eq!(positions[0].current_price, Some(2500.0 / 50.0));
    assert_eq!(positions[0].currency, "EUR");
    // Nothing held: the average price stands in for the current price.
    assert_eq!(positions[1].current_price, Some(30.0));
    assert_eq!(positions[2].current_price, Some(100.0));
    assert_eq!(positions[2].market_value_eur, Some(4500.0));
    assert_eq!(positions[2].unrealized_pnl_pct, Some(0.0));
    assert_eq!(positions[2].first_bought_at, None);
}

#[test]
fn securities_convert_with_fixed_defaults() {
    let mut v = spec_value();
    v["securities"][0]["symbol"] = json!(" aaa");
    v["securities"][0]["allow_sell"] = json!(false);
    let s = &parse(v).domain_securities()[0];
    assert_eq!(s.symbol, "AAA");
    assert_eq!(s.name, "Alpha");
    assert_eq!(s.isin.as_deref(), Some("XX0000000001"));
    assert_eq!(s.country.as_deref(), Some("US"));
    assert_eq!(s.industry.as_deref(), Some("Tech"));
    assert!(s.allow_buy);
    assert!(!s.allow_sell);
    assert_eq!(s.min_lot, 1);
    assert_eq!(s.priority_multiplier, 1.0);
    assert_eq!(s.currency, None);
}

#[test]
fn recently_sold_and_ineligible_reach_the_weight_path() {
    let mut v = spec_value();
    v["recently_sold"] = json!(["AAA"]);
    v["ineligible_symbols"] = json!(["CCC"]);
    let result = identify_request(&parse(v), &HeuristicEnv::new(now()));
    assert!(result.opportunities.rebalance_sells.is_empty());
    let codes: Vec<(&str, &str)> = result
        .rejected
        .iter()
        .map(|r| (r.symbol.as_str(), r.code()))
        .collect();
    assert_eq!(
        codes,
        [("AAA", "sell_cooldown"), ("CCC", "ineligible_to_sell")]
    );
}

#[test]
fn missing_or_empty_targets_take_the_heuristic_path() {
    let mut v = spec_value();
    v["target_weights"] = json!({});
    let mut env = HeuristicEnv::new(now());
    env.prices.insert("DDD".into(), 25.0);
    env.security_scores = Some([("DDD".to_string(), 0.8)].into_iter().collect());
    let empty = identify_request(&parse(v.clone()), &env);
    assert_eq!(empty.path, IdentificationPath::Heuristic);

    v.as_object_mut().unwrap().remove("target_weights");
    let absent = identify_request(&parse(v.clone()), &env);
    assert_eq!(absent.path, IdentificationPath::Heuristic);
    assert_eq!(absent.opportunities, empty.opportunities);

    v["target_weights"] = Value::Null;
    let null = identify_request(&parse(v), &env);
    assert_eq!(null.path, IdentificationPath::Heuristic);

    // The one priced, high-quality security is an opportunity buy of 250 EUR / 25.
    let buys = &absent.opportunities.opportunity_buys;
    assert_eq!(buys.len(), 1);
    assert_eq!(buys[0].symbol, "DDD");
    assert_eq!(buys[0].quantity, 10);
    assert_eq!(buys[0].reason, "High quality (score: 0.80)");
}

#[test]
fn request_round_trips_through_json() {
    let req = spec_request();
    let text = serde_json::to_string(&req).unwrap();
    let back: IdentifyOpportunitiesRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back, req);
}
