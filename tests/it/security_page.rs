//! `GET /api/securities/{symbol}`: one security's page on the demo data, and bad input refused
//! with a short JSON error.

use std::sync::Arc;

use trading_planner::config::Config;
use trading_planner::gateway::{AppState, router};
use trading_planner::store::{DailyClose, Store};

use crate::common;

fn demo_app() -> (tempfile::TempDir, Arc<Store>, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    let app = router(Arc::new(
        AppState::new(Config::default(), Arc::clone(&store)).unwrap(),
    ));
    (dir, store, app)
}

#[tokio::test]
async fn a_security_page_answers_its_history_metrics_score_and_target() {
    let (_dir, store, app) = demo_app();
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let closes: Vec<DailyClose> = (0..50)
        .map(|i| DailyClose {
            symbol: "ASML.EU".into(),
            day: first + chrono::Duration::days(i),
            close: 600.0 + i as f64,
        })
        .collect();
    store.put_daily_closes(&closes, false).unwrap();
    let (status, page) = common::call(&app, "GET", "/api/securities/asml.eu?days=20", "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["symbol"], "ASML.EU");
    assert_eq!(page["history"].as_array().unwrap().len(), 20);
    assert_eq!(page["history_days"], 50);
    assert_eq!(page["history"][19]["close"], 649.0);
    assert!(!page["metrics"].as_array().unwrap().is_empty(), "{page}");
    assert!(page["metrics"][0]["source"].is_string());
    assert!(page["score"]["total"].is_number());
    assert!(page["score"]["components"].is_object());
    let (_, targets) = common::call(&app, "GET", "/api/targets", "").await;
    let expected = targets["securities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "ASML.EU")
        .unwrap();
    assert_eq!(page["target"]["target"], expected["target"]);
    assert_eq!(page["target"]["weight"], expected["weight"]);
    assert!(page["trades"].is_array() && page["orders"].is_array());
}

#[tokio::test]
async fn an_unknown_security_is_a_404_naming_it_briefly() {
    let (_dir, _store, app) = demo_app();
    let long = "X".repeat(5000);
    let (status, body) = common::call(&app, "GET", &format!("/api/securities/{long}"), "").await;
    assert_eq!(status, 404, "{body}");
    let text = body.to_string();
    assert!(text.len() < 300, "{} bytes", text.len());
    assert!(
        body["detail"].is_string() || body["error"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn a_bad_history_length_is_a_422_naming_the_field() {
    let (_dir, _store, app) = demo_app();
    let long = "9".repeat(4000);
    for days in ["0", "abc", "1301", "-5", long.as_str()] {
        let (status, body) = common::call(
            &app,
            "GET",
            &format!("/api/securities/ASML.EU?days={days}"),
            "",
        )
        .await;
        assert!(
            (400..500).contains(&status),
            "days={}: {status}",
            &days[..days.len().min(10)]
        );
        let text = body.to_string();
        assert!(text.contains("days"), "{text}");
        assert!(text.len() < 400, "{} bytes echoed", text.len());
    }
}
