//! Readiness and the upstream report through the router, their answers to wrong methods, and
//! the first start of the binary on an empty data directory.

use std::time::Duration;

use trading_planner::store::Store;

use crate::common;
use crate::server::{ServerProcess, wait_for};

#[tokio::test]
async fn readyz_reports_the_schema_and_unconfigured_services() {
    let (_dir, router) = common::empty_router();
    let (status, body) = common::call(&router, "GET", "/readyz", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["schema_version"], Store::latest_schema_version());
    let names: Vec<_> = body["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].clone(), u["configured"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("tradernet".into(), false.into()),
            ("scoring".into(), false.into())
        ]
    );
}

#[tokio::test]
async fn upstreams_lists_each_service_with_its_data_kinds() {
    let (_dir, router) = common::empty_router();
    let (status, body) = common::call(&router, "GET", "/api/upstreams?ignored=1", "").await;
    assert_eq!(status, 200, "{body}");
    let services = body["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    let tradernet = &services[0];
    assert_eq!(tradernet["name"], "tradernet");
    assert_eq!(tradernet["configured"], false);
    assert_eq!(tradernet["url"], serde_json::Value::Null);
    assert_eq!(tradernet["breaker"], "closed");
    let kinds: Vec<_> = tradernet["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            // Never refreshed is stale.
            assert_eq!(d["stale"], true);
            d["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["positions", "cash", "pending_orders", "quotes", "trades"]
    );
    assert_eq!(services[1]["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn wrong_methods_get_a_json_405_and_change_nothing() {
    let (dir, router) = common::empty_router();
    for path in ["/readyz", "/api/upstreams", "/healthz"] {
        let (status, body) = common::call(&router, "POST", path, "{\"x\": 1}").await;
        assert_eq!(status, 405, "{path}: {body}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    assert!(store.upstream_statuses().unwrap().is_empty());
    assert!(store.all_data_freshness().unwrap().is_empty());
}

#[test]
fn a_first_start_plans_on_demo_data_in_research_mode() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let (_, upstreams) = server.get("/api/upstreams");
    let positions = &upstreams["services"][0]["data"][0];
    assert_eq!(positions["kind"], "positions");
    assert_eq!(positions["source"], "demo");
    drop(server);
    let store = Store::open(&dir.path().join("trading-planner.db")).unwrap();
    assert_eq!(store.securities().unwrap().len(), 40);
    assert_eq!(
        store.trading_mode().unwrap(),
        trading_planner::store::TradingMode::Research
    );
    assert!(!dir.path().join("trading-planner.db.partial").exists());
}

/// A first start killed while it loads the demo data leaves either no database or a complete
/// one, never a half-loaded one that the next start would take as the user's.
#[test]
fn a_first_start_killed_early_never_leaves_a_half_loaded_database() {
    for delay_ms in [0, 5, 10, 20, 40, 80] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("trading-planner.db");
        let mut server = ServerProcess::spawn(dir.path(), &[]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill();
        if db.exists() {
            let store = Store::open(&db).unwrap();
            assert_eq!(store.securities().unwrap().len(), 40, "after {delay_ms} ms");
            assert_eq!(store.positions().unwrap().len(), 14, "after {delay_ms} ms");
        }
        let server = ServerProcess::start(dir.path(), &[]);
        wait_for(Duration::from_secs(10), "readiness", || {
            (server.get("/readyz").0 == 200).then_some(())
        });
        drop(server);
        let store = Store::open(&db).unwrap();
        assert_eq!(store.positions().unwrap().len(), 14, "after {delay_ms} ms");
    }
}

/// An open event stream does not hold the shutdown up: the server ends it and exits.
#[test]
fn sigterm_ends_open_event_streams_and_exits_promptly() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    write!(
        stream,
        "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let started = std::time::Instant::now();
    let status = server
        .terminate(Duration::from_secs(5))
        .expect("the server did not exit within 5 s");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
