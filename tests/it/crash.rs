//! Crash safety: the binary is killed with SIGKILL at random moments while its sync jobs write,
//! fifty times on one database. After every kill the database passes SQLite's integrity and
//! foreign-key checks, holds either the old or the new version of each synced table (never a
//! mix), and the next start migrates it again without complaint.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{all_fresh_from, fast_sync_env, service_report};

const KILLS: usize = 50;

fn query_set(conn: &rusqlite::Connection, sql: &str) -> BTreeSet<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The symbols of the demo positions and the currencies of the demo cash.
fn demo_sets() -> (BTreeSet<String>, BTreeSet<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store = trading_planner::store::Store::open(&dir.path().join("demo.db")).unwrap();
    trading_planner::demo::load_if_empty(&store).unwrap();
    let positions = store
        .positions()
        .unwrap()
        .into_iter()
        .map(|p| p.symbol)
        .collect();
    let cash = store
        .cash_balances()
        .unwrap()
        .into_iter()
        .map(|m| m.currency().to_string())
        .collect();
    (positions, cash)
}

/// Checks the database after a kill; returns whether the positions were the synced ones.
fn check_after_kill(
    db: &Path,
    demo: &(BTreeSet<String>, BTreeSet<String>),
    synced: &(BTreeSet<String>, BTreeSet<String>),
) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let broken_keys: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken_keys, 0, "rows refer to missing rows");
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version,
        trading_planner::store::Store::latest_schema_version()
    );
    let positions = query_set(&conn, "SELECT symbol FROM positions");
    let cash = query_set(&conn, "SELECT currency FROM cash_balances");
    assert!(
        positions == demo.0 || positions == synced.0,
        "half-written positions: {positions:?}"
    );
    assert!(
        cash == demo.1 || cash == synced.1,
        "half-written cash: {cash:?}"
    );
    positions == synced.0
}

/// Whether the synced positions are in the database, read while the server writes (WAL).
fn synced_positions_stored(db: &std::path::Path, synced: &BTreeSet<String>) -> bool {
    if !db.exists() {
        return false;
    }
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    let Ok(mut stmt) = conn.prepare("SELECT symbol FROM positions") else {
        return false;
    };
    let symbols: Result<BTreeSet<String>, _> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect());
    symbols.is_ok_and(|s| &s == synced)
}

#[test]
fn sigkill_during_sync_writes_never_corrupts_or_half_writes() {
    let tradernet = FakeUpstream::start(FakeKind::Tradernet);
    let scoring = FakeUpstream::start(FakeKind::Scoring);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("trading-planner.db");
    let mut env = fast_sync_env(FakeKind::Tradernet, &tradernet.url());
    env.extend(fast_sync_env(FakeKind::Scoring, &scoring.url()));
    // Later entries win: every job runs every 20 ms, so a kill lands among writes.
    for (_, value) in env
        .iter_mut()
        .filter(|(k, _)| k.starts_with("TRADING_PLANNER_SYNC__"))
    {
        *value = "0.02".to_string();
    }
    let demo = demo_sets();
    let synced = (
        ["0700.HK", "AAPL.US", "ASML.EU", "SHEL.UK"]
            .map(String::from)
            .into(),
        ["EUR", "GBP", "HKD", "USD"].map(String::from).into(),
    );

    let mut rng = ChaCha8Rng::seed_from_u64(20261125);
    let mut saw_synced = 0;
    // Kills land up to this long after a start; widened to the time the first sync took, so
    // that on a slow machine (or under an emulator) kills still fall among the sync writes.
    let mut window_ms: u64 = 400;
    for kill in 0..KILLS {
        let started = std::time::Instant::now();
        let mut server = ServerProcess::spawn(dir.path(), &env);
        if kill == 0 {
            // The first start creates the database; it is killed only once a sync has written.
            wait_for(Duration::from_secs(60), "the first sync", || {
                synced_positions_stored(&db, &synced.0).then_some(())
            });
            let first_sync = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            window_ms = window_ms.max(first_sync.saturating_mul(2));
        } else {
            std::thread::sleep(Duration::from_millis(rng.random_range(20..window_ms)));
        }
        server.kill();
        let log = server.stderr();
        assert!(!log.contains("panicked"), "a panic was logged:\n{log}");
        // Every kill is checked; the first, placed after a sync by construction, is not counted.
        if db.exists() && check_after_kill(&db, &demo, &synced) && kill > 0 {
            saw_synced += 1;
        }
    }
    assert!(saw_synced > 0, "no random kill happened after a sync wrote");

    let server = ServerProcess::start(dir.path(), &env);
    let (status, ready) = server.get("/readyz");
    assert_eq!(status, 200, "{ready}");
    wait_for(
        Duration::from_secs(20),
        "a complete sync after the kills",
        || all_fresh_from(&service_report(&server, "tradernet"), "tradernet").then_some(()),
    );
}
