use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::*;
use crate::domain::{Currency, Quantity, Side};
use crate::store::{DailyClose, NewTrade, TradeSource};

fn demo_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    crate::demo::load_if_empty(&store).unwrap().unwrap();
    (dir, store)
}

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn closes(store: &Store, symbol: &str, days: i64) {
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let rows: Vec<DailyClose> = (0..days)
        .map(|i| DailyClose {
            symbol: symbol.into(),
            day: first + Duration::days(i),
            close: 100.0 + i as f64,
        })
        .collect();
    store.put_daily_closes(&rows, false).unwrap();
}

fn trade(symbol: &str, side: Side, executed_at: &str) -> NewTrade {
    NewTrade {
        symbol: symbol.into(),
        isin: None,
        side,
        quantity: Quantity::from_shares(2).unwrap(),
        price: "600".parse().unwrap(),
        currency: Currency::EUR,
        fx_per_eur: None,
        executed_at: executed_at.into(),
        source: TradeSource::Paper,
        order_id: None,
        idempotency_key: None,
    }
}

#[test]
fn a_security_page_holds_its_history_metrics_score_target_and_trades() {
    let (_dir, store) = demo_store();
    closes(&store, "ASML.EU", 30);
    closes(&store, "SAP.EU", 5);
    store
        .record_trade(&trade("ASML.EU", Side::Buy, "2026-01-05T10:00:00"))
        .unwrap();
    store
        .record_trade(&trade("ASML.EU", Side::Sell, "2026-06-05T10:00:00"))
        .unwrap();
    store
        .record_trade(&trade("SAP.EU", Side::Buy, "2026-03-05T10:00:00"))
        .unwrap();

    let view = security_view(&store, "asml.eu", now(), 365)
        .unwrap()
        .unwrap();
    assert_eq!(view.symbol, "ASML.EU");
    assert_eq!(view.history.len(), 30);
    assert_eq!(view.history_days, 30);
    assert_eq!(view.history[0].date, "2024-01-01");
    assert_eq!(view.history[29].close, 129.0);
    // Only its own trades, newest first.
    let sides: Vec<Side> = view.trades.iter().map(|t| t.side).collect();
    assert_eq!(sides, [Side::Sell, Side::Buy]);
    // Its metrics, each with its source; the score the planner reads.
    assert!(!view.metrics.is_empty());
    assert!(view.metrics.iter().all(|m| !m.source.is_empty()));
    let stored = store.score("ASML.EU").unwrap().unwrap();
    let score = view.score.unwrap();
    assert_eq!(score.total, stored.total_score);
    assert_eq!(score.components, stored.components);
    // The target, band and drift a plan would see now.
    let expected = targets_now(&store, now())
        .unwrap()
        .securities
        .into_iter()
        .find(|t| t.symbol == "ASML.EU")
        .unwrap();
    let target = view.target.unwrap();
    assert_eq!(target.target, expected.target);
    assert_eq!(target.weight, expected.weight);
    assert_eq!(target.outside_band, expected.outside_band);
    assert_eq!(view.provenance.unwrap().history_days, 30);
}

#[test]
fn a_security_page_shows_only_the_latest_closes_asked_for() {
    let (_dir, store) = demo_store();
    closes(&store, "ASML.EU", 40);
    let view = security_view(&store, "ASML.EU", now(), 10)
        .unwrap()
        .unwrap();
    assert_eq!(view.history.len(), 10);
    assert_eq!(view.history_days, 40);
    assert_eq!(view.history.last().unwrap().close, 139.0);
    let capped = security_view(&store, "ASML.EU", now(), usize::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(capped.history.len(), 40);
}

#[test]
fn an_unknown_security_has_no_page() {
    let (_dir, store) = demo_store();
    assert!(
        security_view(&store, "NOPE.US", now(), 10)
            .unwrap()
            .is_none()
    );
}

#[test]
fn each_metric_shows_its_source_its_age_and_whether_it_expired() {
    let (_dir, store) = demo_store();
    store
        .put_metric(
            "ASML.EU",
            "CAGR_5Y",
            0.12,
            "2026-11-24T12:00:00",
            Some("2026-11-25T00:00:00"),
            "history",
        )
        .unwrap();
    store
        .put_metric(
            "ASML.EU",
            "VOLATILITY_ANNUAL",
            0.3,
            "2026-11-25T06:00:00",
            None,
            "calculated",
        )
        .unwrap();
    let view = security_view(&store, "ASML.EU", now(), 10)
        .unwrap()
        .unwrap();
    let metric = |name: &str| view.metrics.iter().find(|m| m.name == name).unwrap();
    let cagr = metric("CAGR_5Y");
    assert_eq!(
        (cagr.value, cagr.source.as_str(), cagr.expired),
        (0.12, "history", true)
    );
    assert_eq!(cagr.age_hours, Some(24.0));
    let volatility = metric("VOLATILITY_ANNUAL");
    assert_eq!(
        (volatility.source.as_str(), volatility.expired),
        ("calculated", false)
    );
    assert_eq!(volatility.age_hours, Some(6.0));
}
