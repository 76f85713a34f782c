//! The demo's invented year of closes on a first start, and its end when an account's own
//! positions arrive: no invented close, no history metric computed from one and no daily value
//! of the demo portfolio is left to be taken for the account's history.

use std::path::Path;
use std::time::Duration;

use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{all_fresh_from, fast_sync_env, service_report};

fn count(data_dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("trading-planner.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_first_start_draws_a_year_and_the_brokers_positions_make_it_go() {
    // Without a broker: the demo's year is there, valued day by day.
    let demo = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(demo.path(), &[]);
    let (status, history) = server.get("/api/portfolio/history");
    assert_eq!(status, 200, "{history}");
    assert!(
        history["points"].as_array().unwrap().len() > 250,
        "{history}"
    );
    assert!(history["twr"]["one_year"].is_number(), "{history}");
    drop(server);
    assert!(
        count(
            demo.path(),
            "SELECT COUNT(*) FROM daily_prices WHERE invented = 1"
        ) > 40 * 250
    );

    // With the broker: its positions replace the demo's and the invented history goes.
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let server = ServerProcess::start(dir.path(), &fast_sync_env(FakeKind::Tradernet, &fake.url()));
    wait_for(Duration::from_secs(20), "the broker's first sync", || {
        all_fresh_from(&service_report(&server, "tradernet"), "tradernet").then_some(())
    });
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM daily_prices WHERE invented = 1"
        ),
        0
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM portfolio_values WHERE backfilled = 1"
        ),
        0,
        "no back-filled value of the demo portfolio is left"
    );
    let (_, history) = server.get("/api/portfolio/history");
    assert!(
        history["points"].as_array().unwrap().len() <= 1,
        "{history}"
    );
    let log = server.stderr();
    assert!(log.contains("replace the demo's"), "{log}");
}
