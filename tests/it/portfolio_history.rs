//! `GET /api/portfolio/history`: the stored daily values with the ledger's deposits of each
//! day and their time-weighted returns, and a deposit of a trading cycle shown on its day.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use trading_planner::config::Config;
use trading_planner::domain::{Currency, Money};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::{Store, TradingMode};

use crate::common;

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn ago(days: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(days)).unwrap()
}

fn store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    (dir, store)
}

#[tokio::test]
async fn history_lists_the_days_asked_for_and_returns_over_the_whole_history() {
    let (_dir, store) = store();
    store
        .put_backfilled_values(
            &[(ago(400), 800.0), (ago(367), 1000.0), (ago(40), 1100.0)],
            "t",
        )
        .unwrap();
    store.put_daily_value(ago(32), 1210.0, "t").unwrap();
    // Base days a little more than a month and a year back, whatever the month. Today: +10 %
    // and a deposit of 500 in the ledger.
    store.put_daily_value(today(), 1831.0, "t").unwrap();
    store
        .record_deposit(
            Money::from_minor(50_000, Currency::EUR),
            today().and_hms_opt(12, 0, 0).unwrap(),
        )
        .unwrap()
        .unwrap();
    let app = common::router(Config::default(), Arc::clone(&store));

    let (status, body) = common::call(&app, "GET", "/api/portfolio/history", "").await;
    assert_eq!(status, 200, "{body}");
    let points = body["points"].as_array().unwrap();
    assert_eq!(points.len(), 4, "400 days by default: {body}");
    assert_eq!(points[0]["date"], ago(367).to_string());
    assert_eq!(points[0]["backfilled"], true);
    assert_eq!(points[3]["date"], today().to_string());
    assert_eq!(points[3]["value_eur"], 1831.0);
    assert_eq!(points[3]["deposit_eur"], 500.0);
    assert_eq!(points[3]["backfilled"], false);
    let twr = |key: &str| body["twr"][key].as_f64().unwrap();
    assert!((twr("one_month") - 0.10).abs() < 1e-9, "{body}");
    assert!((twr("one_year") - (1.331 - 1.0)).abs() < 1e-9, "{body}");
    assert!(
        (twr("since_start") - (1.25 * 1.331 - 1.0)).abs() < 1e-9,
        "{body}"
    );

    let (status, body) = common::call(&app, "GET", "/api/portfolio/history?days=33", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["points"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn history_without_stored_days_has_no_returns() {
    let (_dir, store) = store();
    let app = common::router(Config::default(), store);
    let (status, body) = common::call(&app, "GET", "/api/portfolio/history?days=1", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["points"], serde_json::json!([]));
    for key in ["one_month", "one_year", "since_start"] {
        assert!(body["twr"][key].is_null(), "{body}");
    }
}

#[tokio::test]
async fn history_refuses_a_bad_number_of_days_without_echoing_it() {
    let (_dir, store) = store();
    let app = common::router(Config::default(), store);
    let long = "9".repeat(5000);
    for days in ["0", "-1", "abc", "3661", "1.5", long.as_str()] {
        let uri = format!("/api/portfolio/history?days={days}");
        let (status, _, bytes) = common::call_raw(&app, "GET", &uri, "").await;
        assert_eq!(status, 422, "days={days}");
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body["detail"][0]["loc"],
            serde_json::json!(["query", "days"])
        );
        assert!(bytes.len() < 1000, "the input is not echoed in bulk");
    }
}

#[tokio::test]
async fn a_deposit_of_a_trading_cycle_is_kept_with_the_days_value() {
    let mut config = Config::default();
    config.planner.max_depth = 3;
    config.planner.time_budget_secs = 5.0;
    let (_dir, store) = store();
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    store.set_trading_mode(TradingMode::Research).unwrap();
    let app = router(Arc::new(AppState::new(config, Arc::clone(&store)).unwrap()));
    let (status, body) = common::call(
        &app,
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 500}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, history) = common::call(&app, "GET", "/api/portfolio/history", "").await;
    let last = history["points"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["date"], today().to_string());
    assert_eq!(last["deposit_eur"], 500.0, "{history}");
    assert_eq!(last["backfilled"], false);
    let (_, portfolio) = common::call(&app, "GET", "/api/portfolio", "").await;
    let total = portfolio["total_value_eur"].as_f64().unwrap();
    // Recorded when the run started, before its trades and their fees.
    assert!(
        last["value_eur"].as_f64().unwrap() >= total - 50.0,
        "{last} against {total}"
    );
}

/// The quotes sync records the day's value: 2 ASML.EU at the fake broker's 702.4 EUR and
/// 5,000 EUR cash.
#[tokio::test]
async fn the_quotes_sync_records_the_days_value() {
    use trading_planner::config::{ServiceConfig, UpstreamConfig};
    use trading_planner::domain::Quantity;
    use trading_planner::store::{AllowEmpty, PositionRecord, SecurityRecord};
    use trading_planner::sync::jobs::{Job, Syncer};

    let fake =
        crate::fake_upstreams::FakeUpstream::start(crate::fake_upstreams::FakeKind::Tradernet);
    let (_dir, store) = store();
    let asml = SecurityRecord::new("ASML.EU", "ASML Holding", Currency::EUR);
    store.replace_securities(&[asml], AllowEmpty::No).unwrap();
    store
        .replace_positions(
            &[PositionRecord {
                symbol: "ASML.EU".into(),
                quantity: Quantity::from_shares(2).unwrap(),
                avg_price: "600".parse().unwrap(),
                currency: Currency::EUR,
            }],
            AllowEmpty::No,
        )
        .unwrap();
    store
        .replace_cash_balances(
            &[Money::parse("5000", Currency::EUR).unwrap()],
            AllowEmpty::No,
        )
        .unwrap();
    let config = UpstreamConfig {
        tradernet: ServiceConfig {
            url: fake.url(),
            min_interval_secs: 0.0,
            ..ServiceConfig::default()
        },
        ..Default::default()
    };
    let upstreams = Arc::new(trading_planner::upstream::Upstreams::new(&config).unwrap());
    let syncer = Syncer::new(Arc::clone(&store), upstreams, Default::default()).unwrap();
    syncer.run(Job::Quotes).await.unwrap();
    let values = store.daily_values().unwrap();
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values[0].day, today());
    assert!(!values[0].backfilled);
    assert_eq!(values[0].value_eur, 2.0 * 702.4 + 5000.0);
}
