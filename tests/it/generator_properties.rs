//! Properties of `POST /generator/generate` on random candidates, in both modes: the same
//! request gives byte-identical NDJSON whatever the number of threads, no line exceeds the batch
//! size, and every exhaustive sequence is feasible, repeats no symbol and passes the reference's
//! feasibility walk.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use trading_planner::config::Config;
use trading_planner::domain::ActionCandidate;
use trading_planner::generator::{FeasibilityCheck, FeasibilitySettings};

use crate::common;

const SYMBOLS: [&str; 7] = ["A.EU", "B.US", "C.GB", "D.HK", "E.EU", "F.US", "G.EU"];
const CATEGORIES: [&str; 5] = [
    "profit_taking",
    "averaging_down",
    "rebalance_sells",
    "rebalance_buys",
    "opportunity_buys",
];

fn opportunities() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            0usize..5,
            0..SYMBOLS.len(),
            1i64..50,
            5.0f64..200.0,
            0.0f64..1.0,
        ),
        0..9,
    )
    .prop_map(|raw| {
        let mut lists: Vec<Vec<Value>> = vec![Vec::new(); 5];
        for (category, symbol, quantity, price, priority) in raw {
            let side = if category == 0 || category == 2 {
                "SELL"
            } else {
                "BUY"
            };
            lists[category].push(json!({
                "side": side, "symbol": SYMBOLS[symbol], "name": SYMBOLS[symbol],
                "quantity": quantity, "price": price, "value_eur": quantity as f64 * price,
                "currency": "EUR", "priority": priority, "reason": "test", "tags": ["t"]
            }));
        }
        let mut object = serde_json::Map::new();
        for (name, list) in CATEGORIES.iter().zip(lists) {
            object.insert(name.to_string(), Value::Array(list));
        }
        Value::Object(object)
    })
}

fn router_with_threads(threads: usize) -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = trading_planner::store::Store::open(&dir.path().join("t.db")).unwrap();
    let mut config = Config::default();
    config.evaluator.threads = threads;
    config.generator.batch_size = 7;
    (dir, common::router(config, std::sync::Arc::new(store)))
}

fn post(router: &axum::Router, body: &Value) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, _, bytes) = runtime.block_on(common::call_raw(
        router,
        "POST",
        "/generator/generate",
        body.to_string(),
    ));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ndjson_is_reproducible_and_bounded(
        opportunities in opportunities(),
        cash in 0.0f64..3000.0,
        exhaustive in any::<bool>(),
        seed in any::<u64>(),
        batch_size in 10i64..14,
        depth in 1i64..5,
    ) {
        let request = json!({
            "opportunities": opportunities,
            "feasibility": {"available_cash": cash, "min_trade_value": 20.0, "priority_threshold": 0.0},
            "combinatorial": {"seed": seed, "max_depth": depth},
            "batch_size": batch_size,
            "mode": if exhaustive { "exhaustive" } else { "reference" },
            "exhaustive": {"max_depth": depth}
        });
        let (_a, one_thread) = router_with_threads(1);
        let (_b, three_threads) = router_with_threads(3);
        let first = post(&one_thread, &request);
        prop_assert_eq!(&first, &post(&one_thread, &request));
        prop_assert_eq!(&first, &post(&three_threads, &request));

        let feasibility: FeasibilitySettings =
            serde_json::from_value(request["feasibility"].clone()).unwrap();
        let check = FeasibilityCheck::new(&feasibility);
        let text = String::from_utf8(first).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let total = lines[0]["total_batches"].as_u64().unwrap() as usize;
        prop_assert_eq!(lines.len(), total);
        for line in &lines {
            let sequences: Vec<Vec<ActionCandidate>> =
                serde_json::from_value(line["sequences"].clone()).unwrap();
            prop_assert!(sequences.len() <= batch_size as usize);
            if !exhaustive {
                continue;
            }
            for sequence in &sequences {
                let symbols: HashSet<&str> = sequence.iter().map(|a| a.symbol.as_str()).collect();
                prop_assert_eq!(symbols.len(), sequence.len(), "repeated symbol: {:?}", sequence);
                prop_assert!(sequence.len() <= depth as usize);
                prop_assert!(
                    check.filter(vec![sequence.clone()]).len() == 1,
                    "fails the feasibility walk: {:?}", sequence
                );
            }
        }
    }
}
