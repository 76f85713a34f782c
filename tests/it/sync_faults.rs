//! The fault matrix: the binary synced against each fake Python service while the service
//! misbehaves in each way it can. Through every fault the binary stays up, answers `/healthz`
//! within 100 ms, keeps the stored data exactly as it was, marks it stale, opens the breaker
//! when the service fails and closes it once the service is back, and logs no panic.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};

const WAIT: Duration = Duration::from_secs(20);

/// Fast resilience settings and sync intervals, so a scenario takes seconds.
pub fn fast_sync_env(kind: FakeKind, url: &str) -> Vec<(&'static str, String)> {
    let service = service_key(kind);
    let mut env = vec![
        ("URL", url.to_string()),
        ("TIMEOUT_SECS", "0.3".to_string()),
        ("RETRIES", "1".to_string()),
        ("RETRY_BACKOFF_SECS", "0.01".to_string()),
        ("BREAKER_FAILURES", "3".to_string()),
        ("BREAKER_OPEN_SECS", "0.5".to_string()),
        ("MIN_INTERVAL_SECS", "0".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| {
        let name: &'static str =
            Box::leak(format!("TRADING_PLANNER_UPSTREAM__{service}__{key}").into_boxed_str());
        (name, value)
    })
    .collect::<Vec<_>>();
    for job in [
        "POSITIONS",
        "CASH",
        "PENDING_ORDERS",
        "QUOTES",
        "TRADES",
        "SCORES",
        "METRICS",
    ] {
        for which in ["OPEN_SECS", "CLOSED_SECS"] {
            let name: &'static str =
                Box::leak(format!("TRADING_PLANNER_SYNC__{job}__{which}").into_boxed_str());
            env.push((name, "0.1".to_string()));
        }
    }
    env
}

fn service_key(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::Tradernet => "TRADERNET",
        FakeKind::Scoring => "SCORING",
    }
}

fn service_name(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::Tradernet => "tradernet",
        FakeKind::Scoring => "scoring",
    }
}

/// The service's entry in `/api/upstreams`.
pub fn service_report(server: &ServerProcess, name: &str) -> Value {
    let (status, body) = server.get("/api/upstreams");
    assert_eq!(status, 200, "{body}");
    body["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

/// Whether every kind of data the service feeds was refreshed from it and is fresh.
pub fn all_fresh_from(report: &Value, name: &str) -> bool {
    report["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["source"] == name && d["stale"] == false)
}

/// Whether every kind of data the service feeds over HTTP is stale. The scoring service's
/// metrics are read from its calculations.db, which faults of its HTTP answers do not touch.
fn all_stale(report: &Value) -> bool {
    report["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] != "metrics")
        .all(|d| d["stale"] == true)
}

/// The values (not the refresh times) of everything the sync writes.
pub fn stored_data(data_dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("trading-planner.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    [
        "SELECT symbol || ' ' || quantity || ' ' || avg_price FROM positions ORDER BY symbol",
        "SELECT currency || ' ' || amount_minor FROM cash_balances ORDER BY currency",
        "SELECT symbol || ' ' || price FROM quotes ORDER BY symbol",
        "SELECT broker_id || ' ' || symbol || ' ' || side || ' ' || quantity FROM broker_orders ORDER BY broker_id",
        "SELECT coalesce(order_id, '') || ' ' || symbol || ' ' || quantity FROM trades ORDER BY id",
        "SELECT symbol || ' ' || total_score FROM security_scores ORDER BY symbol",
        // Metrics computed here from the price history (the broker's candles feed it) are
        // not the synced data a fault could corrupt; they may appear whenever that job runs.
        "SELECT symbol || ' ' || metric || ' ' || value FROM calculated_metrics \
         WHERE source <> 'history' ORDER BY symbol, metric",
    ]
    .iter()
    .flat_map(|sql| {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    })
    .collect()
}

/// Fails listing only the rows that differ.
fn assert_same_data(before: &[String], after: &[String], context: &str) {
    let gone: Vec<_> = before.iter().filter(|r| !after.contains(r)).collect();
    let new: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "stored data changed during {context}: gone {gone:?}, new {new:?}"
    );
}

/// `/healthz` answers within 100 ms, a few times in a row.
fn healthz_is_quick(server: &ServerProcess) {
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _) = server.get("/healthz");
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(took < Duration::from_millis(100), "/healthz took {took:?}");
    }
}

fn scenario(kind: FakeKind, fault: &str) {
    let dir = tempfile::tempdir().unwrap();
    // The fake scoring service writes its metrics where the real one does, to calculations.db.
    let calculations = dir.path().join("calculations.db");
    let fake = match kind {
        FakeKind::Scoring => {
            FakeUpstream::start_with(kind, &["--calculations-db", calculations.to_str().unwrap()])
        }
        FakeKind::Tradernet => FakeUpstream::start(kind),
    };
    let mut env = fast_sync_env(kind, &fake.url());
    if matches!(kind, FakeKind::Scoring) {
        env.push((
            "TRADING_PLANNER_FEEDS__CALCULATIONS_DB",
            calculations.display().to_string(),
        ));
    }
    let server = ServerProcess::start(dir.path(), &env);
    let name = service_name(kind);

    wait_for(WAIT, "a first complete sync", || {
        all_fresh_from(&service_report(&server, name), name).then_some(())
    });
    let before = stored_data(dir.path());
    assert!(!before.is_empty());

    // Within the timeout a slow answer is still an answer.
    let delay_ms = (fault == "delay").then_some(100);
    fake.set_fault(fault, delay_ms);
    let failing = !matches!(fault, "delay" | "empty");
    if failing {
        wait_for(WAIT, "the breaker to open", || {
            (service_report(&server, name)["breaker"] == "open").then_some(())
        });
    }
    if fault == "delay" {
        let seen = fake.requests().len();
        wait_for(WAIT, "slow syncs to go on", || {
            (fake.requests().len() > seen + 10).then_some(())
        });
        let report = service_report(&server, name);
        assert_eq!(report["breaker"], "closed", "{report}");
    } else {
        wait_for(WAIT, "the data to be marked stale", || {
            all_stale(&service_report(&server, name)).then_some(())
        });
        // More bad answers, in case a second one in a row would be taken for the truth.
        let seen = fake.requests().len();
        wait_for(WAIT, "more syncs during the fault", || {
            (fake.requests().len() > seen + 3).then_some(())
        });
        std::thread::sleep(Duration::from_millis(300));
    }
    healthz_is_quick(&server);
    let (status, ready) = server.get("/readyz");
    assert_eq!(status, 200, "{ready}");
    assert_same_data(&before, &stored_data(dir.path()), fault);

    fake.set_fault("none", None);
    wait_for(WAIT, "recovery after the service returns", || {
        let report = service_report(&server, name);
        (report["breaker"] == "closed" && all_fresh_from(&report, name)).then_some(())
    });
    assert_same_data(&before, &stored_data(dir.path()), "recovery");
    let log = server.stderr();
    assert!(!log.contains("panicked"), "a panic was logged:\n{log}");
}

macro_rules! fault_matrix {
    ($($test:ident: $kind:expr, $fault:literal;)*) => {
        $(
            #[test]
            fn $test() {
                scenario($kind, $fault);
            }
        )*
    };
}

fault_matrix! {
    tradernet_delay: FakeKind::Tradernet, "delay";
    tradernet_hang: FakeKind::Tradernet, "hang";
    tradernet_http500: FakeKind::Tradernet, "http500";
    tradernet_http429: FakeKind::Tradernet, "http429";
    tradernet_malformed: FakeKind::Tradernet, "malformed";
    tradernet_empty: FakeKind::Tradernet, "empty";
    tradernet_die_mid_response: FakeKind::Tradernet, "die_mid_response";
    scoring_delay: FakeKind::Scoring, "delay";
    scoring_hang: FakeKind::Scoring, "hang";
    scoring_http500: FakeKind::Scoring, "http500";
    scoring_http429: FakeKind::Scoring, "http429";
    scoring_malformed: FakeKind::Scoring, "malformed";
    scoring_empty: FakeKind::Scoring, "empty";
    scoring_die_mid_response: FakeKind::Scoring, "die_mid_response";
}
