//! The HTTP surface around the routes: bearer authentication, request ids, `/metrics`, the
//! access token's sources, and how the binary stops (SIGTERM, SIGINT, systemd notifications).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request};
use axum::routing::get;
use serde_json::Value;
use tower::ServiceExt;
use trading_planner::config::{AuthConfig, CompatRoutes, Config};
use trading_planner::gateway::AppState;
use trading_planner::gateway::auth::{TOKEN_FILE_NAME, TokenOrigin, load_or_create_token};
use trading_planner::store::Store;
use trading_planner::upstream::current_request_id;

use crate::cli::{clean_command, free_port, http_with};
use crate::fake_upstreams::{FakeKind, FakeUpstream};

const TOKEN: &str = "secret";

/// Every route that changes state, including a proxied write and a route nobody serves: the
/// token is checked before routing, so none of them reaches a handler without it.
const STATE_CHANGING: &[(&str, &str)] = &[
    ("POST", "/evaluator/evaluate"),
    ("POST", "/opportunity/identify"),
    ("POST", "/generator/generate"),
    ("POST", "/coordinator/create-plan"),
    ("POST", "/planning/create"),
    ("POST", "/gateway/trading-cycle"),
    ("POST", "/api/plans"),
    ("PUT", "/api/settings"),
    ("POST", "/api/runs/current/cancel"),
    ("POST", "/api/backtests"),
    ("POST", "/api/backtests/current/cancel"),
    ("POST", "/universe/securities"),
    ("DELETE", "/api/plans/1"),
    ("POST", "/no/such/route"),
];

/// Reads that `open_reads: false` closes.
const READS: &[&str] = &[
    "/api/plans",
    "/api/backtests/current",
    "/api/backtests/latest",
    "/metrics",
    "/gateway/status",
    "/evaluator/health",
];

/// A loopback URL nothing listens on: configured, never called.
fn refused_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// A state with the token set, over a store in a temporary directory.
fn secured_state(open_reads: bool, tradernet_url: String) -> (tempfile::TempDir, Arc<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let mut config = Config::default();
    config.auth.open_reads = open_reads;
    config.upstream.tradernet.url = tradernet_url;
    config.upstream.tradernet.min_interval_secs = 0.0;
    let mut state = AppState::new(config, store).unwrap();
    state.token = Some(TOKEN.to_string());
    (dir, Arc::new(state))
}

fn secured_router(open_reads: bool) -> (tempfile::TempDir, Arc<AppState>, Router) {
    let (dir, state) = secured_state(open_reads, refused_url());
    let router = trading_planner::gateway::router(Arc::clone(&state));
    (dir, state, router)
}

/// One request through `router` with extra headers: status, response headers, body.
async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

fn assert_refused(what: &str, status: u16, headers: &HeaderMap, body: &[u8]) {
    assert_eq!(status, 401, "{what}: {}", String::from_utf8_lossy(body));
    assert_eq!(headers["www-authenticate"], "Bearer", "{what}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{what}"
    );
    let json: Value = serde_json::from_slice(body).unwrap();
    assert!(json["detail"].is_string(), "{what}: {json}");
}

#[tokio::test]
async fn state_changing_routes_need_the_token() {
    let (_dir, state, router) = secured_router(true);
    let settings_before = state.store.settings().unwrap();
    let wrong = format!("Bearer {TOKEN}x");
    for &(method, path) in STATE_CHANGING {
        let what = format!("{method} {path}");
        let (status, headers, body) = send(&router, method, path, &[], "{}").await;
        assert_refused(&what, status, &headers, &body);
        for authorization in [wrong.as_str(), "Bearer ", "Basic c2VjcmV0", TOKEN] {
            let (status, headers, body) = send(
                &router,
                method,
                path,
                &[("authorization", authorization)],
                "{}",
            )
            .await;
            assert_refused(
                &format!("{what} with {authorization:?}"),
                status,
                &headers,
                &body,
            );
        }
    }
    assert!(state.store.plans(10).unwrap().is_empty(), "nothing planned");
    assert_eq!(state.store.settings().unwrap(), settings_before);

    // With the token the request reaches its route; a body that cannot be decoded keeps the
    // routes from acting on it.
    let right = format!("Bearer {TOKEN}");
    for &(method, path) in STATE_CHANGING {
        for authorization in [right.as_str(), "bearer secret"] {
            let (status, _, body) = send(
                &router,
                method,
                path,
                &[("authorization", authorization)],
                "{not json",
            )
            .await;
            assert_ne!(
                status,
                401,
                "{method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

#[tokio::test]
async fn reads_are_open_unless_the_config_closes_them() {
    let (_dir, _state, open) = secured_router(true);
    for &path in READS.iter().chain(&["/healthz", "/readyz"]) {
        let (status, _, _) = send(&open, "GET", path, &[], "").await;
        assert_ne!(status, 401, "open GET {path}");
    }

    let (_dir, _state, closed) = secured_router(false);
    for &path in READS {
        let (status, headers, body) = send(&closed, "GET", path, &[], "").await;
        assert_refused(&format!("closed GET {path}"), status, &headers, &body);
        let (status, _, _) = send(
            &closed,
            "GET",
            path,
            &[("authorization", "Bearer secret")],
            "",
        )
        .await;
        assert_ne!(status, 401, "closed GET {path} with the token");
    }
    let (status, _, _) = send(&closed, "GET", "/healthz", &[], "").await;
    assert_eq!(status, 200, "supervisors probe without a token");
    let (status, _, _) = send(&closed, "GET", "/readyz", &[], "").await;
    assert_ne!(status, 401);
}

#[tokio::test]
async fn without_a_token_nothing_is_refused() {
    let (_dir, router) = crate::common::empty_router();
    let (status, _, _) = send(&router, "POST", "/evaluator/evaluate", &[], "{}").await;
    assert_ne!(status, 401);
}

#[tokio::test]
async fn request_ids_are_echoed_or_created_on_every_answer() {
    let (_dir, _state, router) = secured_router(true);
    let (_, headers, _) = send(&router, "GET", "/healthz", &[("x-request-id", "abc-1")], "").await;
    assert_eq!(headers["x-request-id"], "abc-1");

    let (status, headers, _) = send(
        &router,
        "POST",
        "/api/plans",
        &[("x-request-id", "r-401")],
        "",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(headers["x-request-id"], "r-401", "refusals carry it too");

    let mut seen = std::collections::HashSet::new();
    for bad in [None, Some("has space"), Some("é")] {
        let headers_in: Vec<(&str, &str)> = bad.map(|b| ("x-request-id", b)).into_iter().collect();
        let (_, headers, _) = send(&router, "GET", "/no/such/page", &headers_in, "").await;
        let id = headers["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 32, "{bad:?}: {id}");
        assert!(seen.insert(id), "ids are not reused");
    }
}

/// The gateway's layers around a handler that calls the tradernet fake: the id the client
/// sent, or the one the gateway made, is the id the upstream sees.
#[tokio::test]
async fn request_ids_reach_upstream_calls() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let (_dir, state) = secured_state(true, fake.url());
    async fn probe(State(state): State<Arc<AppState>>) -> String {
        let client = state.upstreams.tradernet.as_ref().expect("configured");
        client.health().await.expect("the fake answers");
        current_request_id().unwrap_or_default()
    }
    let routes = Router::new().route("/probe", get(probe));
    let router =
        trading_planner::gateway::middleware::apply(routes, Arc::clone(&state)).with_state(state);

    let (status, headers, body) =
        send(&router, "GET", "/probe", &[("x-request-id", "probe-7")], "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "probe-7");
    assert_eq!(body, b"probe-7");

    let (_, headers, body) = send(&router, "GET", "/probe", &[], "").await;
    let made = headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(body, made.as_bytes());

    let ids: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r["headers"]["x-request-id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["probe-7".to_string(), made]);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let (_dir, _state, router) = secured_router(true);
    let (status, _, _) = send(&router, "GET", "/healthz", &[], "").await;
    assert_eq!(status, 200);
    let (status, _, _) = send(&router, "POST", "/evaluator/evaluate", &[], "{}").await;
    assert_eq!(status, 401);
    let (status, _, _) = send(&router, "GET", "/api/plans/unlikely-path-7c1f", &[], "").await;
    assert_ne!(status, 401);
    let (status, _, _) = send(&router, "GET", "/nowhere-5e2d", &[], "").await;
    assert_eq!(status, 404);

    let (status, headers, body) = send(&router, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(body).unwrap();
    for expected in [
        r#"http_requests_total{method="GET",route="/healthz",status="200"}"#,
        r#"http_requests_total{method="POST",route="/evaluator/evaluate",status="401"}"#,
        r#"http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"}"#,
        "# TYPE http_request_duration_seconds histogram",
        "process_resident_memory_bytes ",
        r#"upstream_breaker_state{service="tradernet"} 0"#,
        "events_subscribers ",
        "# HELP upstream_breaker_state",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("unlikely-path-7c1f"),
        "raw paths never become labels"
    );
    assert!(
        !text.contains("nowhere-5e2d"),
        "raw paths never become labels"
    );
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 1e6, "{rss}");
}

fn auth(token: &str, token_file: &str) -> AuthConfig {
    AuthConfig {
        token: token.to_string(),
        token_file: token_file.to_string(),
        open_reads: true,
        ..AuthConfig::default()
    }
}

#[test]
fn token_sources_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (generated, origin) = load_or_create_token(&auth("", ""), dir.path()).unwrap();
    let path = dir.path().join(TOKEN_FILE_NAME);
    assert_eq!(origin, TokenOrigin::Generated(path.clone()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        generated.as_str()
    );
    let (again, origin) = load_or_create_token(&auth("", ""), dir.path()).unwrap();
    assert_eq!(
        (again, origin),
        (generated.clone(), TokenOrigin::File(path))
    );

    let file = dir.path().join("token.txt");
    std::fs::write(&file, "from-file\n").unwrap();
    let (token, _) = load_or_create_token(&auth("", file.to_str().unwrap()), dir.path()).unwrap();
    assert_eq!(token, "from-file");
    let (token, origin) =
        load_or_create_token(&auth("from-config", file.to_str().unwrap()), dir.path()).unwrap();
    assert_eq!(
        (token.as_str(), origin),
        ("from-config", TokenOrigin::Config)
    );

    let missing = dir.path().join("missing");
    assert!(load_or_create_token(&auth("", missing.to_str().unwrap()), dir.path()).is_err());
}

/// The binary serving on a free port, stdout and stderr kept in files; killed on drop.
struct Served {
    child: Child,
    port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Served {
    fn start(data_dir: &Path, env: &[(&str, String)]) -> Served {
        let port = free_port();
        let stdout = data_dir.join(format!("stdout-{port}.txt"));
        let stderr = data_dir.join(format!("stderr-{port}.txt"));
        let mut command = clean_command();
        command
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
                data_dir.to_str().unwrap(),
            ])
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let served = Served {
            child: command.spawn().unwrap(),
            port,
            stdout,
            stderr,
        };
        let started = Instant::now();
        while request(port, "GET", "/healthz", None, "").is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start:\n{}",
                served.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        served
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running {limit:?} after the signal:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with an optional bearer token: status and body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> std::io::Result<(u16, String)> {
    http_with(port, method, path, body, token)
}

/// The last connection to close checkpoints the WAL and deletes it: a WAL file left behind
/// means the process ended with the database still open.
fn assert_database_intact(data_dir: &Path) {
    let path = data_dir.join("trading-planner.db");
    assert!(
        !data_dir.join("trading-planner.db-wal").exists(),
        "the database was not closed"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// The generated token is printed once, on the first start, and required afterwards; SIGINT
/// and SIGTERM both stop the server cleanly, a planning run in flight included.
#[test]
fn the_binary_prints_its_token_once_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let budget = [("TRADING_PLANNER_PLANNER__TIME_BUDGET_SECS", "3".to_string())];
    let mut first = Served::start(dir.path(), &budget);
    let printed = first.stdout();
    let token_path = dir.path().join(TOKEN_FILE_NAME);
    let token = std::fs::read_to_string(&token_path)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        printed.trim(),
        format!("access token: {token} (saved in {})", token_path.display())
    );
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let (status, _) = request(first.port, "POST", "/api/plans", None, "{}").unwrap();
    assert_eq!(status, 401);
    let (status, body) = request(first.port, "POST", "/api/plans", Some(&token), "{}").unwrap();
    assert_ne!(status, 401, "{body}");
    first.signal("INT");
    assert!(
        first.wait_exit(Duration::from_secs(15)).success(),
        "{}",
        first.stderr()
    );
    assert_database_intact(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("trading-planner.db")).unwrap();
    let statuses: Vec<String> = conn
        .prepare("SELECT status FROM planning_runs")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    if status == 202 {
        assert_eq!(statuses.len(), 1);
    }
    assert!(
        statuses
            .iter()
            .all(|s| s == "succeeded" || s == "cancelled"),
        "the run ended before the process: {statuses:?}"
    );

    let mut second = Served::start(dir.path(), &[]);
    assert_eq!(second.stdout(), "", "printed only when generated");
    let (status, _) = request(second.port, "POST", "/no/such/route", Some(&token), "{}").unwrap();
    assert_eq!(status, 404, "the saved token still holds");
    second.signal("TERM");
    assert!(
        second.wait_exit(Duration::from_secs(5)).success(),
        "{}",
        second.stderr()
    );
    assert_database_intact(dir.path());

    let mut third = Served::start(
        dir.path(),
        &[("TRADING_PLANNER_AUTH__TOKEN", "from-env".to_string())],
    );
    let (status, _) = request(third.port, "POST", "/no/such/route", Some(&token), "{}").unwrap();
    assert_eq!(status, 401, "the configured token wins over the file");
    let (status, _) =
        request(third.port, "POST", "/no/such/route", Some("from-env"), "{}").unwrap();
    assert_eq!(status, 404);
    third.signal("TERM");
    assert!(third.wait_exit(Duration::from_secs(5)).success());
}

/// Datagrams received on a fake `NOTIFY_SOCKET`.
struct FakeSystemd {
    socket: UnixDatagram,
    path: PathBuf,
    received: Vec<String>,
}

impl FakeSystemd {
    fn bind(dir: &Path) -> FakeSystemd {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        FakeSystemd {
            socket,
            path,
            received: Vec::new(),
        }
    }

    /// Waits until a datagram holds the line `line`; returns that datagram.
    fn expect(&mut self, line: &str, limit: Duration) -> String {
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).to_string();
                self.received.push(message.clone());
                if message.lines().any(|l| l == line) {
                    return message;
                }
            }
            assert!(
                started.elapsed() < limit,
                "no {line} within {limit:?}; received {:?}",
                self.received
            );
        }
    }
}

#[test]
fn under_systemd_it_reports_ready_feeds_the_watchdog_and_announces_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut systemd = FakeSystemd::bind(dir.path());
    let mut served = Served::start(
        dir.path(),
        &[
            ("NOTIFY_SOCKET", systemd.path.to_str().unwrap().to_string()),
            ("WATCHDOG_USEC", "200000".to_string()),
        ],
    );
    let ready = systemd.expect("READY=1", Duration::from_secs(5));
    assert!(
        ready.contains(&format!("STATUS=serving on 127.0.0.1:{}", served.port)),
        "{ready}"
    );
    for _ in 0..3 {
        systemd.expect("WATCHDOG=1", Duration::from_secs(2));
    }
    served.signal("TERM");
    systemd.expect("STOPPING=1", Duration::from_secs(5));
    assert!(
        served.wait_exit(Duration::from_secs(5)).success(),
        "{}",
        served.stderr()
    );
    assert_database_intact(dir.path());
}

/// The compatibility routes that only compute, and routes that write or trade.
const COMPUTE: &[&str] = &[
    "/evaluator/evaluate",
    "/opportunity/identify",
    "/generator/generate",
    "/coordinator/create-plan",
];
const WRITES: &[(&str, &str)] = &[
    ("POST", "/planning/create"),
    ("POST", "/gateway/trading-cycle"),
    ("POST", "/api/plans"),
    ("PUT", "/api/settings"),
    ("POST", "/universe/securities"),
];

/// One request through `router` as if it came from `peer`, without a token.
async fn send_from(router: &Router, peer: &str, method: &str, uri: &str) -> u16 {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let peer: std::net::SocketAddr = peer.parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    router
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn router_with_compat(rule: CompatRoutes) -> (tempfile::TempDir, Router) {
    let (dir, state) = secured_state(true, refused_url());
    let mut state = Arc::try_unwrap(state).ok().unwrap();
    state.config.auth.compat_routes = rule;
    (dir, trading_planner::gateway::router(Arc::new(state)))
}

#[tokio::test]
async fn compat_routes_open_computation_to_loopback_by_default_and_never_open_writes() {
    const LOCAL: &[&str] = &["127.0.0.1:50000", "[::1]:50000", "[::ffff:127.0.0.1]:50000"];
    const REMOTE: &str = "192.0.2.7:50000";
    let (_dir, default) = router_with_compat(CompatRoutes::default());
    for path in COMPUTE {
        for peer in LOCAL {
            // Past the token check: the bad body is refused by the route itself.
            let status = send_from(&default, peer, "POST", path).await;
            assert_eq!(status, 422, "{path} from {peer}");
        }
        assert_eq!(
            send_from(&default, REMOTE, "POST", path).await,
            401,
            "{path}"
        );
    }
    let (_dir, open) = router_with_compat(CompatRoutes::Open);
    let (_dir, token) = router_with_compat(CompatRoutes::Token);
    for path in COMPUTE {
        assert_eq!(
            send_from(&open, REMOTE, "POST", path).await,
            422,
            "open {path}"
        );
        assert_eq!(
            send_from(&token, LOCAL[0], "POST", path).await,
            401,
            "token {path}"
        );
    }
    for &(method, path) in WRITES {
        for router in [&default, &open] {
            let status = send_from(router, LOCAL[0], method, path).await;
            assert_eq!(status, 401, "{method} {path} from loopback");
        }
    }
}

#[test]
fn an_unmodified_client_on_loopback_gets_200_from_the_evaluator_without_a_token() {
    let (name, request, expected) = crate::common::golden_pair("n010_default");
    let dir = tempfile::tempdir().unwrap();
    let metrics = crate::common::write_scenario_metrics(dir.path(), &name);
    let imported = clean_command()
        .args(["import", "metrics", metrics.to_str().unwrap(), "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let server = crate::server::ServerProcess::start(
        dir.path(),
        &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.into())],
    );
    let (status, answer) =
        server.request("POST", "/evaluator/evaluate", &request.to_string(), None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(crate::common::json_diff(&expected, &answer, 1e-12), None);
    let (status, _) = server.request("POST", "/api/plans", "{}", None);
    assert_eq!(status, 401, "a route that writes keeps the token");
}
