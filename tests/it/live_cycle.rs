//! A live-mode trading cycle of the binary against the fakes of the real Python services (the
//! tradernet wrapper with its quirks, the scoring service with its real routes only): the
//! orders the wrapper accepts without an id are counted as placed, no buy borrows, the orders
//! settle from the broker's trades once each, and London prices are stored in pounds.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use trading_planner::store::Store;

use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{all_fresh_from, fast_sync_env, service_report};

const TOKEN: &str = "live-cycle-token";

/// The binary in live mode against `tradernet` and a scoring fake, once every feed of both
/// was synced.
fn live_server(
    dir: &std::path::Path,
    tradernet: &FakeUpstream,
    scoring: &FakeUpstream,
) -> ServerProcess {
    let calculations = dir.join("calculations.db");
    let mut env = fast_sync_env(FakeKind::Tradernet, &tradernet.url());
    env.extend(fast_sync_env(FakeKind::Scoring, &scoring.url()));
    env.push((
        "TRADING_PLANNER_FEEDS__CALCULATIONS_DB",
        calculations.display().to_string(),
    ));
    env.push(("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_string()));
    let server = ServerProcess::start(dir, &env);
    let (status, body) = server.request(
        "PUT",
        "/api/settings",
        r#"{"trading_mode": "live", "max_trades_per_cycle": 10}"#,
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    wait_for(Duration::from_secs(30), "a complete sync", || {
        (all_fresh_from(&service_report(&server, "tradernet"), "tradernet")
            && all_fresh_from(&service_report(&server, "scoring"), "scoring"))
        .then_some(())
    });
    server
}

fn start_scoring(dir: &std::path::Path) -> FakeUpstream {
    let calculations = dir.join("calculations.db");
    FakeUpstream::start_with(
        FakeKind::Scoring,
        &["--calculations-db", calculations.to_str().unwrap()],
    )
}

/// `GET path` of a fake, as JSON.
fn fake_get(fake: &FakeUpstream, path: &str) -> Value {
    let (status, body) = fake.call("GET", path, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A count from the cycle's results map.
fn count(results: &Value, key: &str) -> usize {
    results[key].as_str().unwrap().parse().unwrap()
}

/// Our orders as `/api/orders` lists them.
fn our_orders(server: &ServerProcess) -> Vec<Value> {
    let (status, view) = server.get("/api/orders");
    assert_eq!(status, 200, "{view}");
    view["orders"].as_array().unwrap().clone()
}

/// The fake's starting cash per currency.
fn balances(tradernet: &FakeUpstream) -> BTreeMap<String, f64> {
    fake_get(tradernet, "/api/portfolio/cash-balances")["data"]["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["currency"].as_str().unwrap().to_string(),
                b["amount"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_live_cycle_places_no_margin_buy_and_settles_from_the_brokers_trades() {
    // Orders stay open at the broker until the test fills them. The USD cash covers the first
    // USD buy a plan of the demo universe makes but not the next ones, and the HKD cash is
    // negative, as the wrapper reports it.
    let tradernet = FakeUpstream::start_with(
        FakeKind::Tradernet,
        &[
            "--fills",
            "held",
            "--cash",
            "EUR=20000",
            "--cash",
            "USD=800",
            "--cash",
            "GBP=1500",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let scoring = start_scoring(dir.path());
    let server = live_server(dir.path(), &tradernet, &scoring);
    let cash = balances(&tradernet);
    assert_eq!(cash["HKD"], -15.2);

    // London in pounds: the wrapper's 2712 GBp quote and 2410 GBp average.
    let (_, securities) = server.get("/api/securities");
    let shell = securities["securities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "SHEL.UK")
        .unwrap();
    assert_eq!(shell["price"], "27.12", "{shell}");
    let (_, portfolio) = server.get("/api/portfolio");
    let held = portfolio["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["symbol"] == "SHEL.UK")
        .unwrap();
    assert_eq!(
        (&held["price"], &held["avg_price"]),
        (&json!(27.12), &json!("24.1"))
    );

    let (status, cycle) = server.request("POST", "/gateway/trading-cycle", "{}", Some(TOKEN));
    assert_eq!(status, 200, "{cycle}");
    assert_eq!(cycle["success"], true, "{cycle}");
    let results = &cycle["final_update"]["results"];
    assert_eq!(results["mode"], "live");

    // Every order the wrapper accepted (with order_id "") counts as placed, nothing else.
    let sent = fake_get(&tradernet, "/_orders");
    let sent = sent.as_array().unwrap();
    let placed = count(results, "placed");
    assert!(placed >= 1, "the plan places something: {cycle}");
    assert_eq!(placed, sent.len(), "{cycle}\n{sent:?}");
    assert_eq!(count(results, "unconfirmed"), 0, "{cycle}");
    assert_eq!(
        placed + count(results, "skipped") + count(results, "already_executed"),
        count(results, "steps"),
        "{cycle}"
    );
    assert!(
        cycle["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{placed} placed")),
        "{cycle}"
    );
    assert_eq!(
        server
            .stderr()
            .matches("the broker accepted the order without an order id")
            .count(),
        placed,
        "one warning per order answered without an id"
    );
    assert_eq!(
        service_report(&server, "tradernet")["breaker"],
        "closed",
        "an answer without an id is no failure of the service"
    );
    assert_eq!(
        tradernet.unknown_calls(),
        json!([]),
        "only the wrapper's routes"
    );
    assert_eq!(
        scoring.unknown_calls(),
        json!([]),
        "only the scoring routes"
    );

    // No buy borrowed: the broker lent nothing, and in each currency the buys sent, one after
    // the other, stayed within the cash.
    assert!(sent.iter().all(|o| o["margin"] == false), "{sent:?}");
    let mut spent: BTreeMap<String, f64> = BTreeMap::new();
    for order in sent.iter().filter(|o| o["side"] == "BUY") {
        let currency = order["currency"].as_str().unwrap().to_string();
        let total = spent.entry(currency.clone()).or_default();
        *total += order["value"].as_f64().unwrap();
        assert!(
            *total <= cash.get(&currency).copied().unwrap_or(0.0),
            "{currency} buys of {total} with {:?}: {sent:?}",
            cash.get(&currency)
        );
    }
    // The plan's buys in a currency the cash does not cover are refused as margin, not sent.
    let (_, plan) = server.get(&format!(
        "/api/plans/{}",
        results["plan_id"].as_str().unwrap()
    ));
    let (_, securities) = server.get("/api/securities");
    let currency_of = |symbol: &str| {
        securities["securities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["symbol"] == symbol)
            .map(|s| s["currency"].as_str().unwrap().to_string())
            .unwrap()
    };
    let hkd_buys = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["side"] == "BUY" && currency_of(s["symbol"].as_str().unwrap()) == "HKD")
        .count();
    assert!(
        sent.iter().all(|o| o["currency"] != "HKD"),
        "no HKD buy with negative HKD cash ({hkd_buys} planned): {sent:?}"
    );
    let reasons = results["skip_reasons"].as_str().unwrap_or("");
    if spent.get("USD").copied().unwrap_or(0.0) > 0.0 {
        let usd_steps = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["side"] == "BUY" && currency_of(s["symbol"].as_str().unwrap()) == "USD")
            .count();
        let usd_sent = sent.iter().filter(|o| o["currency"] == "USD").count();
        if usd_steps > usd_sent {
            assert!(reasons.contains("margin"), "{reasons}");
        }
    }

    // The open-orders sync confirms our orders by the broker's ids; they stay open.
    wait_for(Duration::from_secs(20), "our orders confirmed", || {
        let ours = our_orders(&server);
        let open: Vec<&Value> = ours.iter().filter(|o| o["status"] == "open").collect();
        (open.len() == placed && open.iter().all(|o| o["broker_order_id"].is_string()))
            .then_some(())
    });
    let ours = our_orders(&server);
    let mut confirmed: Vec<&str> = ours
        .iter()
        .map(|o| o["broker_order_id"].as_str().unwrap())
        .collect();
    let mut broker_ids: Vec<&str> = sent
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    confirmed.sort_unstable();
    broker_ids.sort_unstable();
    assert_eq!(confirmed, broker_ids);

    // The broker executes them; the trades sync settles each from its trade.
    let (status, filled) = tradernet.call("POST", "/_fill", Some(&json!({})));
    assert_eq!(
        (status, filled["filled"].as_u64()),
        (200, Some(placed as u64))
    );
    wait_for(Duration::from_secs(20), "our orders settled", || {
        let ours = our_orders(&server);
        ours.iter()
            .all(|o| o["status"] == "filled" && o["trade_id"].is_i64())
            .then_some(())
    });
    let trades = fake_get(&tradernet, "/api/transactions/executed-trades")["data"]["trades"]
        .as_array()
        .unwrap()
        .clone();
    let store = Store::open(&dir.path().join("trading-planner.db")).unwrap();
    let recorded = store.trades(None).unwrap();
    for trade in &trades {
        let id = trade["order_id"].as_str().unwrap();
        let rows: Vec<_> = recorded
            .iter()
            .filter(|t| t.trade.order_id.as_deref() == Some(id))
            .collect();
        assert_eq!(rows.len(), 1, "execution {id} recorded once: {rows:?}");
    }
    assert_eq!(
        recorded.len(),
        trades.len(),
        "nothing recorded twice or from elsewhere"
    );
    for order in &our_orders(&server) {
        let trade_id = order["trade_id"].as_i64().unwrap();
        let row = recorded.iter().find(|t| t.id == trade_id).unwrap();
        assert_eq!(row.trade.symbol, order["symbol"].as_str().unwrap());
    }
    // London's executions are in pence too: Shell's 2410 GBp is 24.10 pounds.
    let shell = recorded
        .iter()
        .find(|t| t.trade.symbol == "SHEL.UK")
        .unwrap();
    assert_eq!(shell.trade.price.to_string(), "24.1");
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
}

/// `/api/orders` of the server.
fn orders_view(server: &ServerProcess) -> Value {
    let (status, view) = server.get("/api/orders");
    assert_eq!(status, 200, "{view}");
    view
}

#[test]
fn open_orders_show_margin_buys_and_unattributable_ones_block_live_orders() {
    let tradernet = FakeUpstream::start_with(FakeKind::Tradernet, &["--fills", "held"]);
    // A buy the HKD cash (negative) does not cover: the broker lends the rest and lists the
    // order with code "2".
    let order = json!({"symbol": "0700.HK", "side": "BUY", "quantity": 100});
    let (status, answer) = tradernet.call("POST", "/api/trading/place-order", Some(&order));
    assert_eq!(status, 200, "{answer}");
    let dir = tempfile::tempdir().unwrap();
    let scoring = start_scoring(dir.path());
    let server = live_server(dir.path(), &tradernet, &scoring);

    let view = wait_for(Duration::from_secs(20), "the margin order synced", || {
        let view = orders_view(&server);
        view["broker_orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["symbol"] == "0700.HK")
            .then_some(view)
    });
    let kinds: Vec<(&str, &str, bool)> = view["broker_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["symbol"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["margin"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("0700.HK", "buy on margin", true),
            ("AAPL.US", "sell", false),
            ("ASML.EU", "buy", false),
        ]
    );
    assert_eq!(view["live_orders_blocked"], false);
    assert_eq!(view["warning"], Value::Null);
    crate::browser::drive_dashboard(&server, &["--orders", "margin"]);

    // The live broker names the open orders' fields otherwise than the wrapper reads them.
    tradernet.control(json!({"order_fields": "live"}));
    let view = wait_for(Duration::from_secs(20), "the unattributable orders", || {
        let view = orders_view(&server);
        (view["live_orders_blocked"] == true).then_some(view)
    });
    assert_eq!(
        view["unattributable"],
        json!(["418820331", "418820342", "418830001"])
    );
    assert_eq!(view["broker_orders"], json!([]));
    let warning = view["warning"].as_str().unwrap();
    assert!(
        warning.contains("3 open order(s)") && warning.contains("live orders are blocked"),
        "{warning}"
    );

    // A cycle now sends nothing.
    let (status, cycle) = server.request("POST", "/gateway/trading-cycle", "{}", Some(TOKEN));
    assert_eq!(status, 200, "{cycle}");
    let results = &cycle["final_update"]["results"];
    assert_eq!(count(results, "placed"), 0, "{cycle}");
    if count(results, "steps") > 0 {
        let reasons = results["skip_reasons"].as_str().unwrap();
        assert!(
            reasons.contains("without a readable symbol or side"),
            "{reasons}"
        );
    }
    assert_eq!(
        fake_get(&tradernet, "/_orders").as_array().unwrap().len(),
        1,
        "only the order placed before the binary started"
    );
    crate::browser::drive_dashboard(&server, &["--orders", "unattributable"]);
}

#[tokio::test]
async fn the_orders_route_takes_no_writes_and_closed_reads_need_the_token() {
    let (_dir, app) = crate::common::empty_router();
    let (status, view) = crate::common::call(&app, "GET", "/api/orders?x=%ff", "").await;
    assert_eq!(status, 200, "an unknown query is ignored: {view}");
    assert_eq!(view["orders"], json!([]));
    let (status, body) =
        crate::common::call(&app, "POST", "/api/orders", r#"{"symbol": "AAPL.US"}"#).await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["detail"], "Method Not Allowed");

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut config = trading_planner::config::Config::default();
    config.auth.open_reads = false;
    let mut state =
        trading_planner::gateway::AppState::new(config, std::sync::Arc::new(store)).unwrap();
    state.token = Some("secret".into());
    let closed = trading_planner::gateway::router(std::sync::Arc::new(state));
    let (status, body) = crate::common::call(&closed, "GET", "/api/orders", "").await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].is_string(), "{body}");
}
