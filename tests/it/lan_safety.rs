//! What a misbehaving client on the LAN can do: hold connections, ask for big lists, send huge
//! or bad bodies, reach the proxy without the token, crowd the event streams, read through a
//! foreign host name, send absurd amounts of money. The limits are configured down so the
//! tests stay small; the full sizes are measured by `benches/lan_safety.py`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use trading_planner::config::Config;
use trading_planner::domain::{Currency, Money, Quantity, Side};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::{NewPlan, PlanStepRecord, Store};

use crate::common::call;
use crate::server::ServerProcess;

const TOKEN: &str = "lan-safety-token";

fn state_with(
    config: Config,
    token: Option<&str>,
) -> (tempfile::TempDir, Arc<Store>, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let mut state = AppState::new(config, Arc::clone(&store)).unwrap();
    state.token = token.map(str::to_string);
    (dir, store, router(Arc::new(state)))
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<axum::body::Body>,
) -> (u16, Vec<u8>) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

// 1. Connections --------------------------------------------------------------------------

#[test]
fn a_new_client_is_served_while_idle_connections_fill_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("TRADING_PLANNER_SERVER__MAX_CONNECTIONS", "4".into()),
            // Only the cap may close the idle connections here, not their header timeout.
            (
                "TRADING_PLANNER_SERVER__HEADER_READ_TIMEOUT_SECS",
                "3600".into(),
            ),
        ],
    );
    // Three times the cap of connections that never send a byte.
    let idle: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port())).unwrap())
        .collect();
    let (status, body) = server.get("/healthz");
    assert_eq!(status, 200, "{body}");
    // The oldest idle connections were closed to make room: reading them ends.
    let mut first = idle.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(first.read(&mut buf).unwrap_or(0), 0);
}

#[test]
fn a_connection_that_sends_no_request_head_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[(
            "TRADING_PLANNER_SERVER__HEADER_READ_TIMEOUT_SECS",
            "1".into(),
        )],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    // The server closes the connection (perhaps after a 408); it does not wait for us.
    let _ = stream.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || String::from_utf8_lossy(&answer).contains(" 408 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn a_request_body_that_stalls_is_cut_after_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into()),
            ("TRADING_PLANNER_SERVER__BODY_READ_TIMEOUT_SECS", "1".into()),
        ],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    write!(
        stream,
        "PUT /api/settings HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    // Far longer than the body timeout: a server that waits for the body fails the read.
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the server waited for the body instead of cutting it");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || text.starts_with("HTTP/1.1 4"),
        "{text}"
    );
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[(
            "TRADING_PLANNER_SERVER__HEADER_READ_TIMEOUT_SECS",
            "1".into(),
        )],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // The answer comes, then the connection stays idle until the server closes it.
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the idle connection was kept open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

// 2. Lists --------------------------------------------------------------------------------

fn plan(n: usize) -> NewPlan {
    NewPlan {
        portfolio_hash: format!("hash-{n}"),
        score_before: Some(0.5),
        score_after: Some(0.6),
        body: json!({"narrative": format!("plan {n}"), "total_value_eur": "100.00"}),
        steps: vec![PlanStepRecord {
            side: Side::Buy,
            symbol: "SAP.EU".into(),
            quantity: Quantity::from_shares(1).unwrap(),
            value_eur: Money::parse("231.50", Currency::EUR).unwrap(),
            narrative: "Add to SAP".into(),
            reason: "quality".into(),
        }],
    }
}

#[tokio::test]
async fn a_large_list_is_cut_to_the_page_size_and_pages_reach_every_plan() {
    let mut config = Config::default();
    config.server.max_page_size = 2;
    let (_dir, store, app) = state_with(config, None);
    for n in 0..5 {
        store.save_plan(&plan(n)).unwrap();
    }
    let mut seen = Vec::new();
    let mut uri = "/api/plans?limit=500".to_string();
    loop {
        let (status, body) = call(&app, "GET", &uri, "").await;
        assert_eq!(status, 200, "{body}");
        let plans = body["plans"].as_array().unwrap();
        assert!(plans.len() <= 2, "{body}");
        seen.extend(plans.iter().map(|p| p["portfolio_hash"].clone()));
        match body["next_before"].as_i64() {
            Some(id) => uri = format!("/api/plans?limit=500&before={id}"),
            None => break,
        }
    }
    let expected: Vec<Value> = (0..5).rev().map(|n| json!(format!("hash-{n}"))).collect();
    assert_eq!(seen, expected);
    let (status, body) = call(&app, "GET", "/api/plans?before=x", "").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["query", "before"]));
}

// 3. Bodies -------------------------------------------------------------------------------

#[tokio::test]
async fn oversize_bodies_of_small_routes_are_413_and_bad_bodies_are_not_echoed() {
    let mut config = Config::default();
    config.server.max_small_body_bytes = 1024;
    let (_dir, store, app) = state_with(config, None);
    let before = store.settings().unwrap();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(4096));
    for (method, uri) in [
        ("PUT", "/api/settings"),
        ("POST", "/api/plans"),
        ("POST", "/gateway/trading-cycle"),
        ("POST", "/api/backtests"),
    ] {
        let (status, body) = send(&app, method, uri, &[], big.clone()).await;
        assert_eq!(
            status,
            413,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(body.len() < 512, "{method} {uri}");
    }
    // Within the limit but malformed: 422, quoting only an excerpt of the input.
    let long = format!("{{\"deposit_amount\": \"{}\"}}", "9".repeat(900));
    let (status, body) = send(&app, "POST", "/gateway/trading-cycle", &[], long).await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert!(body.len() < 900, "{} bytes echoed", body.len());
    // A large malformed body on a route that takes large bodies: 422, no echo.
    let huge = format!("{{\"portfolio\": \"{}\"}}", "z".repeat(200_000));
    let (status, body) = send(&app, "POST", "/evaluator/evaluate", &[], huge).await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    assert!(body.len() < 2048, "{} bytes echoed", body.len());
    assert_eq!(store.settings().unwrap(), before);
}

/// Every route that takes a body, with an over-limit body: 413, whatever the route does.
#[tokio::test]
async fn a_body_over_the_limit_is_413_on_every_route() {
    let mut config = Config::default();
    config.server.max_body_bytes = 4096;
    config.server.max_small_body_bytes = 1024;
    config.upstream.universe.url = "http://127.0.0.1:9".into();
    let (_dir, store, app) = state_with(config, None);
    let before = store.settings().unwrap();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(8192));
    for (method, uri) in [
        ("PUT", "/api/settings"),
        ("POST", "/api/plans"),
        ("POST", "/api/runs/current/cancel"),
        ("POST", "/api/runs/1/cancel"),
        ("POST", "/api/backtests"),
        ("POST", "/api/backtests/current/cancel"),
        ("POST", "/gateway/trading-cycle"),
        ("POST", "/evaluator/evaluate"),
        ("POST", "/opportunity/identify"),
        ("POST", "/generator/generate"),
        ("POST", "/coordinator/create-plan"),
        ("POST", "/planning/create"),
        ("POST", "/universe/securities"),
        ("GET", "/api/plans"),
    ] {
        let (status, body) = send(&app, method, uri, &[], big.clone()).await;
        assert_eq!(
            status,
            413,
            "{method} {uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(body.len() < 512, "{method} {uri}");
    }
    assert_eq!(store.settings().unwrap(), before);
    assert!(store.planning_run(1).unwrap().is_none(), "a run started");
}

// 4. Exhaustive generation ----------------------------------------------------------------

/// CPU time (user + system) the process `pid` has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// An exhaustive generation far too large to end by itself while the test waits: 40
/// candidates, depth 10, and `max_sequences` sequences (some kilobytes each).
fn endless_generation(max_sequences: u64) -> String {
    let action = |side: &str, n: usize| {
        let symbol = format!("{}{n:02}", &side[..1]);
        json!({"side": side, "symbol": symbol, "name": symbol, "quantity": 1, "price": 100.0,
               "value_eur": 100.0, "currency": "EUR", "priority": 5.0 + n as f64 / 10.0,
               "reason": "test", "tags": []})
    };
    json!({
        "opportunities": {
            "rebalance_sells": (0..20).map(|n| action("SELL", n)).collect::<Vec<_>>(),
            "rebalance_buys": (0..20).map(|n| action("BUY", n)).collect::<Vec<_>>()
        },
        "feasibility": {"available_cash": 1e9, "min_trade_value": 1.0, "priority_threshold": 0.0},
        "batch_size": 100,
        "mode": "exhaustive",
        "exhaustive": {"max_depth": 10, "max_sequences": max_sequences}
    })
    .to_string()
}

/// Starts [`endless_generation`] on a server, lets `started` decide when the client has seen
/// enough, drops the connection, and waits until the process stops using CPU: no more than
/// 5 ticks in a window of 100 ticks (a generation keeps at least one core busy). Fails if that
/// does not happen within a minute.
fn generation_stops_when_the_client_leaves(
    max_sequences: u64,
    started: impl FnOnce(&mut TcpStream, u32),
) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into())]);
    let pid = server.pid();
    let body = endless_generation(max_sequences);
    let mut client = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    write!(
        client,
        "POST /generator/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    started(&mut client, pid);
    drop(client);
    crate::server::wait_for(Duration::from_secs(60), "the generation to stop", || {
        let before = cpu_ticks(pid);
        // A measuring window of 100 ticks (1 s at the usual 100 ticks a second).
        std::thread::sleep(Duration::from_secs(1));
        (cpu_ticks(pid) - before <= 5).then_some(())
    });
    // The server is still there for the next client.
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn a_client_leaving_during_the_count_stops_the_exhaustive_generation() {
    // A count that does not reach its end while the test waits.
    generation_stops_when_the_client_leaves(1_000_000_000_000_000, |_, pid| {
        // The count is running: the process has used a second of CPU, and no byte has come.
        let at_start = cpu_ticks(pid);
        crate::server::wait_for(Duration::from_secs(60), "the count to run", || {
            (cpu_ticks(pid) > at_start + 100).then_some(())
        });
    });
}

#[test]
fn a_client_leaving_while_the_lines_stream_stops_the_exhaustive_generation() {
    // A count that ends soon, and far more lines than the client reads.
    generation_stops_when_the_client_leaves(100_000_000, |client, _| {
        client
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let mut got = 0;
        let mut buf = [0u8; 65536];
        while got < 1 << 20 {
            let n = client.read(&mut buf).unwrap();
            assert!(n > 0, "the generation ended after {got} bytes");
            got += n;
        }
    });
}

#[test]
fn sigterm_ends_the_process_while_an_exhaustive_generation_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into()),
            ("TRADING_PLANNER_SERVER__SHUTDOWN_GRACE_SECS", "1".into()),
        ],
    );
    let pid = server.pid();
    let body = endless_generation(1_000_000_000_000_000);
    let mut client = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    write!(
        client,
        "POST /generator/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let at_start = cpu_ticks(pid);
    crate::server::wait_for(Duration::from_secs(60), "the count to run", || {
        (cpu_ticks(pid) > at_start + 100).then_some(())
    });
    // The client stays; the process must end anyway, the count cut with its request.
    let exit = server.terminate(Duration::from_secs(30));
    assert!(exit.is_some_and(|s| s.success()), "{}", server.stderr());
    drop(client);
}

// 5. OPTIONS and the proxy ----------------------------------------------------------------

#[tokio::test]
async fn options_on_a_proxied_prefix_needs_the_token_when_reads_do() {
    let mut config = Config::default();
    config.auth.open_reads = false;
    config.upstream.universe.url = "http://127.0.0.1:9".into();
    let (_dir, _store, app) = state_with(config, Some(TOKEN));
    let (status, _) = send(
        &app,
        "OPTIONS",
        "/universe/securities",
        &[],
        "x".repeat(4096),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_proxied_read_with_a_body_is_refused_before_the_service_is_called() {
    let mut config = Config::default();
    config.upstream.universe.url = "http://127.0.0.1:9".into();
    let (_dir, _store, app) = state_with(config, Some(TOKEN));
    for method in ["OPTIONS", "GET"] {
        let (status, _) = send(&app, method, "/universe/securities", &[], "x".repeat(4096)).await;
        assert_eq!(status, 413, "{method}");
    }
}

// 6. Event streams ------------------------------------------------------------------------

#[tokio::test]
async fn anonymous_event_streams_cannot_take_the_token_holders_slots() {
    use tower::ServiceExt;
    let mut config = Config::default();
    config.server.max_event_streams = 3;
    config.server.max_anonymous_event_streams = 1;
    let (_dir, _store, app) = state_with(config, Some(TOKEN));
    let open = |token: Option<&str>| {
        let mut request = axum::http::Request::builder().uri("/api/events");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        app.clone()
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
    };
    let anonymous = open(None).await.unwrap();
    assert_eq!(anonymous.status(), 200);
    let refused = open(None).await.unwrap();
    assert_eq!(refused.status(), 503);
    let first = open(Some(TOKEN)).await.unwrap();
    let second = open(Some(TOKEN)).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    drop(anonymous);
    let again = open(None).await.unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn with_closed_reads_an_anonymous_event_stream_is_refused() {
    let mut config = Config::default();
    config.auth.open_reads = false;
    let (_dir, _store, app) = state_with(config, Some(TOKEN));
    let (status, _) = send(&app, "GET", "/api/events", &[], "").await;
    assert_eq!(status, 401);
}

// 7. Host names ---------------------------------------------------------------------------

#[tokio::test]
async fn a_foreign_host_name_is_refused_and_configured_ones_pass() {
    let mut config = Config::default();
    config.server.allowed_hosts = vec!["planner.lan".into()];
    let (_dir, _store, app) = state_with(config, None);
    let (status, body) = send(
        &app,
        "GET",
        "/api/portfolio",
        &[("host", "evil.example:8000")],
        "",
    )
    .await;
    assert_eq!(status, 421, "{}", String::from_utf8_lossy(&body));
    for host in ["planner.lan:8000", "192.168.1.20:8000", "localhost:8000"] {
        let (status, _) = send(&app, "GET", "/healthz", &[("host", host)], "").await;
        assert_eq!(status, 200, "{host}");
    }
}

// 8. Money input --------------------------------------------------------------------------

#[tokio::test]
async fn a_deposit_out_of_range_is_422_naming_the_field_and_nothing_runs() {
    let (_dir, store, app) = state_with(Config::default(), None);
    let cash_before = store.cash_balances().unwrap();
    for amount in [
        "-5",
        "9.2e16",
        "92233720368547750",
        "1e308",
        "1000000000.01",
    ] {
        let body = format!("{{\"deposit_amount\": {amount}}}");
        let (status, answer) = call(&app, "POST", "/gateway/trading-cycle", body).await;
        assert_eq!(status, 422, "{amount}: {answer}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", "deposit_amount"]),
            "{amount}"
        );
    }
    assert_eq!(store.cash_balances().unwrap(), cash_before);
    assert!(store.planning_run(1).unwrap().is_none(), "a cycle ran");
}

// 9. Shutdown and files -------------------------------------------------------------------

#[test]
fn sigterm_ends_the_process_within_the_grace_while_a_client_holds_a_request_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        dir.path(),
        &[("TRADING_PLANNER_SERVER__SHUTDOWN_GRACE_SECS", "1".into())],
    );
    // A request whose body never comes: the handler waits on it.
    let mut slow = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    slow.write_all(
        b"PUT /api/settings HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    let exit = server.terminate(Duration::from_secs(30));
    assert!(exit.is_some_and(|s| s.success()), "{}", server.stderr());
    let log = server.stderr();
    assert!(!log.contains("did not stop in time"), "{log}");
}

#[test]
fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    store.save_plan(&plan(1)).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{:?} is {mode:o}", entry.file_name());
    }
}
