//! Twenty research-mode trading cycles in a row on the demo data, without deposits and with
//! 500 EUR before each: every planned step executes, nothing is sold cycle after cycle, plans
//! do not repeat, idle cash ends within a point of the portfolio, and the distances to the
//! targets end no worse than they start.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use trading_planner::config::Config;
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::common;

const CYCLES: usize = 20;

/// The summed distance of the country and industry groups to their targets, in points, and
/// the idle cash (above the reserve and its band) as a fraction.
async fn distances(app: &axum::Router) -> (f64, f64) {
    let (status, targets) = common::call(app, "GET", "/api/targets", "").await;
    assert_eq!(status, 200, "{targets}");
    let groups: f64 = targets["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["drift"].as_f64().unwrap().abs() * 50.0)
        .sum();
    (groups, targets["cash"]["idle"].as_f64().unwrap())
}

async fn cycles(deposit: f64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    // Twenty cycles in a row stand for twenty days, but run within a second: limits counted
    // in real days would stop each name after its first trade and trading after the first
    // cycles. The day's and week's limits and the cooldowns are lifted, so what keeps a name
    // from being sold cycle after cycle is the bands alone; the holding period stays.
    store
        .set_settings(&[
            ("max_trades_per_day".into(), "1000".into()),
            ("max_trades_per_week".into(), "1000".into()),
            ("buy_cooldown_days".into(), "0".into()),
            ("sell_cooldown_days".into(), "0".into()),
        ])
        .unwrap();
    let app = router(Arc::new(
        AppState::new(Config::default(), Arc::clone(&store)).unwrap(),
    ));
    let (start, _) = distances(&app).await;
    let mut plans: Vec<Vec<(String, String, String)>> = Vec::new();
    let mut sold: Vec<Vec<String>> = Vec::new();
    for cycle in 1..=CYCLES {
        let body = format!(r#"{{"deposit_amount": {deposit}}}"#);
        let (status, answer) = common::call(&app, "POST", "/gateway/trading-cycle", body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["success"], true, "cycle {cycle}: {answer}");
        let results = &answer["final_update"]["results"];
        let count = |key: &str| -> usize { results[key].as_str().unwrap().parse().unwrap() };
        assert_eq!(
            count("skipped"),
            0,
            "cycle {cycle} (deposit {deposit}): a planned step could not be executed: {results}"
        );
        let plan_id = results["plan_id"].as_str().unwrap();
        let (_, plan) = common::call(&app, "GET", &format!("/api/plans/{plan_id}"), "").await;
        let steps: Vec<(String, String, String)> = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let text = |k: &str| match &s[k] {
                    Value::String(t) => t.clone(),
                    other => other.to_string(),
                };
                (text("side"), text("symbol"), text("quantity"))
            })
            .collect();
        sold.push(
            steps
                .iter()
                .filter(|s| s.0.eq_ignore_ascii_case("sell"))
                .map(|s| s.1.clone())
                .collect(),
        );
        plans.push(steps);
    }
    for window in sold.windows(3) {
        for symbol in &window[0] {
            assert!(
                !(window[1].contains(symbol) && window[2].contains(symbol)),
                "{symbol} sold three cycles running (deposit {deposit}): {sold:?}"
            );
        }
    }
    for window in plans.windows(3) {
        assert!(
            window[0].is_empty() || !(window[0] == window[1] && window[1] == window[2]),
            "the same plan three cycles running (deposit {deposit}): {:?}",
            window[0]
        );
    }
    let (end, idle) = distances(&app).await;
    assert!(
        idle <= 0.01,
        "idle cash {:.2} % of the portfolio at the end (deposit {deposit})",
        idle * 100.0
    );
    assert!(
        end <= start + 1e-9,
        "group distance {start:.2} → {end:.2} pp (deposit {deposit})"
    );
    let trades: BTreeMap<&str, usize> = plans.iter().flatten().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.1.as_str()).or_default() += 1;
        m
    });
    assert!(!trades.is_empty(), "twenty cycles and not one trade");
}

#[tokio::test]
async fn twenty_research_cycles_without_deposits_keep_the_portfolio_on_target() {
    cycles(0.0).await;
}

#[tokio::test]
async fn twenty_research_cycles_with_a_deposit_before_each_invest_it() {
    cycles(500.0).await;
}
