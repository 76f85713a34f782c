use chrono::Duration as Days;

use super::*;
use crate::domain::Currency;
use crate::store::{DailyClose, SecurityRecord};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn noon(text: &str) -> NaiveDateTime {
    day(text).and_hms_opt(12, 0, 0).unwrap()
}

/// A store with three active securities: LONG.US with two years of closes, SHORT.US with a
/// month, SCORED.US with a year and a half and a valid CAGR_5Y from the scoring service.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    let usd = Currency::new("USD").unwrap();
    store
        .insert_missing_securities(
            &["LONG.US", "SHORT.US", "SCORED.US"].map(|s| SecurityRecord::new(s, s, usd)),
        )
        .unwrap();
    let series = |symbol: &str, days: i64| -> Vec<DailyClose> {
        (0..days)
            .map(|i| DailyClose {
                symbol: symbol.into(),
                day: day("2026-12-04") - Days::days(days - 1 - i),
                // A wavy rise, so returns vary and drawdowns exist.
                close: 100.0 + i as f64 * 0.05 + 3.0 * ((i as f64) / 7.0).sin(),
            })
            .collect()
    };
    for (symbol, days) in [("LONG.US", 730), ("SHORT.US", 30), ("SCORED.US", 550)] {
        store
            .put_daily_closes(&series(symbol, days), false)
            .unwrap();
    }
    store
        .put_metric(
            "SCORED.US",
            "CAGR_5Y",
            0.123,
            "2026-12-04T03:00:00",
            Some("2026-12-11T03:00:00"),
            "calculated",
        )
        .unwrap();
    (dir, store)
}

#[test]
fn history_fills_the_gaps_the_scoring_service_leaves_and_says_when_it_is_too_short() {
    let (_dir, store) = store();
    let now = noon("2026-12-05");
    let report = refresh_history_metrics(&store, day("2026-12-05"), now).unwrap();
    assert_eq!(report.computed, ["LONG.US", "SCORED.US"]);
    assert_eq!(report.not_enough_history, ["SHORT.US"]);

    let origins = store.metric_origins().unwrap();
    let origin = |symbol: &str, metric: &str| {
        origins
            .iter()
            .find(|o| o.symbol == symbol && o.metric == metric)
            .cloned()
    };
    let sharpe = origin("LONG.US", "SHARPE").unwrap();
    assert_eq!(sharpe.source, HISTORY_SOURCE);
    assert_eq!(
        sharpe.expires_at.as_deref(),
        Some("2026-12-07T12:00:00.000000")
    );
    assert!(origin("LONG.US", "VOLATILITY_ANNUAL").is_some());
    assert!(
        origin("LONG.US", "CAGR_5Y").is_none(),
        "two years give no 5-year CAGR"
    );
    let scored = origin("SCORED.US", "CAGR_5Y").unwrap();
    assert_eq!(
        (scored.source.as_str(), scored.calculated_at.as_str()),
        ("calculated", "2026-12-04T03:00:00"),
        "the service's valid value is kept"
    );
    assert_eq!(
        origin("SCORED.US", "MAX_DRAWDOWN").unwrap().source,
        HISTORY_SOURCE
    );
    assert!(origins.iter().all(|o| o.symbol != "SHORT.US"));
}

#[test]
fn provenance_gives_each_securitys_sources_age_and_history() {
    let (_dir, store) = store();
    let now = noon("2026-12-05");
    refresh_history_metrics(&store, day("2026-12-05"), now).unwrap();
    let provenance = metrics_provenance(&store, now).unwrap();
    let scored = &provenance["SCORED.US"];
    assert_eq!(scored.sources, ["calculated", HISTORY_SOURCE]);
    assert_eq!(scored.calculated_at.as_deref(), Some("2026-12-04T03:00:00"));
    assert_eq!(scored.age_hours, Some(33.0));
    assert_eq!(scored.history_days, 550);
    assert!(!scored.not_enough_history);
    let short = &provenance["SHORT.US"];
    assert!(short.not_enough_history);
    assert_eq!((short.valid, short.history_days), (0, 30));
}

#[test]
fn the_planner_does_not_buy_a_security_without_metrics_and_says_why() {
    let (_dir, store) = store();
    let now = noon("2026-12-05");
    refresh_history_metrics(&store, day("2026-12-05"), now).unwrap();
    let snapshot = crate::coordinator::snapshot::Snapshot::take(&store, now).unwrap();
    assert_eq!(snapshot.not_enough_history, ["SHORT.US"]);
    let short = snapshot
        .securities
        .iter()
        .find(|s| s.symbol == "SHORT.US")
        .unwrap();
    assert!(!short.allow_buy, "not scored as average, not bought");
    let long = snapshot
        .securities
        .iter()
        .find(|s| s.symbol == "LONG.US")
        .unwrap();
    assert!(long.allow_buy);
}
