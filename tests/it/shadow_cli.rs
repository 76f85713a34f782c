//! The migration kit from the outside: `serve --record DIR` writes the requests to the
//! compatibility routes, `shadow` replays them against two running instances and reports what
//! differs.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use trading_planner::shadow::{RecordedRequest, request_files};

use crate::cli::{free_port, http, http_with, run_cli, run_cli_ok};
use crate::common;
use crate::pipeline_routes::{IDENTIFY, generate_request, identify_request};
use crate::server::{ServerProcess, wait_for};

const TOKEN: &str = "shadow-test-token";

/// `serve` with the token and `record_flags` (`--record DIR` and its bounds).
fn recording_server(data_dir: &Path, record_flags: &[&str]) -> ServerProcess {
    std::fs::create_dir_all(data_dir).unwrap();
    let server = ServerProcess::spawn_with(
        data_dir,
        &[("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_string())],
        record_flags,
    );
    server.wait_until_up(Duration::from_secs(60));
    server
}

/// `method path` with `body` and the token: status and body text.
fn send(server: &ServerProcess, method: &str, path: &str, body: &str) -> (u16, String) {
    http_with(server.port(), method, path, body, Some(TOKEN)).unwrap()
}

/// Positions in securities of the demo data, which every first start loads.
fn planning_request() -> Value {
    json!({
        "portfolio_hash": "shadow-test",
        "available_cash": 5000.0,
        "positions": [
            {"symbol": "ASML.EU", "quantity": 5, "average_price": 500.0, "current_price": 650.0, "market_value": 3250.0},
            {"symbol": "IBE.EU", "quantity": 100, "average_price": 12.0, "current_price": 14.0, "market_value": 1400.0}],
        "constraints": {}
    })
}

/// Loads the metrics of every golden scenario into `data_dir` (creating its database), with
/// `change` applied to them first.
fn import_oracle_metrics(
    data_dir: &Path,
    change: impl Fn(&mut trading_planner::domain::MetricsBySymbol),
) {
    std::fs::create_dir_all(data_dir).unwrap();
    let mut scenarios: Vec<String> = common::golden_pairs()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    scenarios.dedup_by_key(|name| name.split('_').nth(2).unwrap().to_string());
    for name in scenarios {
        let mut metrics = common::scenario_metrics(&name);
        change(&mut metrics);
        let path = data_dir.join(format!("{name}.metrics.json"));
        std::fs::write(&path, serde_json::to_string(&metrics).unwrap()).unwrap();
        run_cli_ok(&[
            "import",
            "metrics",
            path.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ]);
    }
}

/// An instance serving the demo data and the oracle's metrics, `change`d.
fn instance(
    data_dir: &Path,
    change: impl Fn(&mut trading_planner::domain::MetricsBySymbol),
) -> ServerProcess {
    import_oracle_metrics(data_dir, change);
    // Every compatibility route behind the token, so a replay without it shows how it is told.
    ServerProcess::start(
        data_dir,
        &[
            ("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_string()),
            ("TRADING_PLANNER_AUTH__COMPAT_ROUTES", "token".to_string()),
        ],
    )
}

fn base(server: &ServerProcess) -> String {
    format!("http://127.0.0.1:{}", server.port())
}

fn shadow(primary: &str, candidate: &str, requests: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "shadow",
        "--primary",
        primary,
        "--candidate",
        candidate,
        "--requests",
        requests.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_cli(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report's row of `route`: requests, matches, differences, errors.
fn row(stdout: &str, route: &str) -> [u64; 4] {
    let line = stdout
        .lines()
        .find(|l| {
            l.strip_prefix(route)
                .is_some_and(|rest| rest.starts_with("  "))
        })
        .unwrap_or_else(|| panic!("no row for {route}:\n{stdout}"));
    let numbers: Vec<u64> = line[route.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    numbers.try_into().unwrap_or_else(|_| panic!("{line}"))
}

fn file_names(dir: &Path) -> Vec<String> {
    request_files(dir)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[test]
fn help_explains_the_record_and_shadow_flags() {
    let out = run_cli_ok(&["serve", "--help"]);
    for flag in ["--record", "--record-max-files", "--record-max-bytes"] {
        assert!(
            text(&out.stdout).contains(flag),
            "serve --help lacks {flag}"
        );
    }
    let out = run_cli_ok(&["shadow", "--help"]);
    for flag in [
        "--primary",
        "--candidate",
        "--requests",
        "--token",
        "--token-file",
        "--abs-tolerance",
        "--rel-tolerance",
        "--ignore",
        "--no-default-ignores",
        "--timeout-secs",
        "--json",
    ] {
        assert!(
            text(&out.stdout).contains(flag),
            "shadow --help lacks {flag}"
        );
    }
    let out = run_cli_ok(&["--help"]);
    assert!(text(&out.stdout).contains("shadow"));
}

#[test]
fn recorded_requests_replay_with_every_answer_matching_a_twin() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    let recorder = recording_server(
        &dir.path().join("recorder"),
        &["--record", records.to_str().unwrap()],
    );

    // What is recorded, in this order.
    let mut sent: Vec<(&str, String, Option<Value>)> = Vec::new();
    for (name, request, _) in common::golden_pairs() {
        let (status, body) = send(
            &recorder,
            "POST",
            "/evaluator/evaluate",
            &request.to_string(),
        );
        assert_eq!(status, 200, "{name}: {body}");
        sent.push(("POST", "/evaluator/evaluate".into(), Some(request)));
    }
    let (status, answer) = send(&recorder, "POST", "/opportunity/identify", IDENTIFY);
    assert_eq!(status, 200, "{answer}");
    sent.push((
        "POST",
        "/opportunity/identify".into(),
        Some(identify_request()),
    ));
    for (method, path, body) in [
        ("POST", "/generator/generate", Some(generate_request())),
        ("POST", "/planning/create", Some(planning_request())),
        (
            "GET",
            "/planning/plans?portfolio_hash=shadow-test&limit=5",
            None,
        ),
        ("GET", "/gateway/status", None),
    ] {
        let text = body.as_ref().map_or(String::new(), Value::to_string);
        let (status, answer) = send(&recorder, method, path, &text);
        assert_eq!(status, 200, "{method} {path}: {answer}");
        sent.push((method, path.to_string(), body));
    }
    // Not recorded: the native API, probes, metrics, module health, a refused request.
    for (method, path) in [
        ("GET", "/api/portfolio"),
        ("GET", "/api/plans"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/evaluator/health"),
    ] {
        let (status, body) = send(&recorder, method, path, "");
        assert_eq!(status, 200, "{method} {path}: {body}");
    }
    // A write without the token is refused (computation routes are open to loopback clients).
    let (status, _) = http(recorder.port(), "POST", "/gateway/trading-cycle", "{}").unwrap();
    assert_eq!(status, 401);

    let names = wait_for(Duration::from_secs(30), "the recorded files", || {
        let names = file_names(&records);
        (names.len() >= sent.len()).then_some(names)
    });
    std::thread::sleep(Duration::from_millis(300));
    let names_now = file_names(&records);
    assert_eq!(names_now, names, "nothing else is recorded");
    assert_eq!(names.len(), sent.len(), "{names:?}");
    for (n, (name, (method, path, body))) in names.iter().zip(&sent).enumerate() {
        assert!(
            name.starts_with(&format!("{:06}-{}-", n + 1, method.to_lowercase())),
            "{name}"
        );
        let file = records.join(name);
        let raw = std::fs::read_to_string(&file).unwrap();
        for secret in [TOKEN, "authorization", "Authorization", "Bearer"] {
            assert!(!raw.contains(secret), "{name} holds {secret}:\n{raw}");
        }
        let recorded = RecordedRequest::load(&file).unwrap();
        assert_eq!(&recorded.method, method);
        assert_eq!(&recorded.path, path);
        assert_eq!(recorded.headers["content-type"], "application/json");
        let file_json: Value = serde_json::from_str(&raw).unwrap();
        match body {
            Some(body) => assert_eq!(&file_json["body"], body, "{name}"),
            None => assert!(file_json.get("body").is_none(), "{name}: {raw}"),
        }
    }
    // The body's text is kept for the replay, only without the whitespace between tokens: map
    // order (the reference iterates maps in the order given) and number text (`0.30`) too.
    let identify_file = records.join(&names[names.len() - 5]);
    let identify = std::fs::read_to_string(&identify_file).unwrap();
    assert!(
        identify.contains(r#""target_weights":{"BBB":0.30,"AAA":0.15}"#),
        "{identify}"
    );
    // IDENTIFY has no whitespace inside its strings.
    let compact: String = IDENTIFY.split_whitespace().collect();
    assert_eq!(
        String::from_utf8(RecordedRequest::load(&identify_file).unwrap().body).unwrap(),
        compact
    );
    drop(recorder);

    // Two instances on the same data answer alike.
    let primary = instance(&dir.path().join("primary"), |_| {});
    let candidate = instance(&dir.path().join("candidate"), |_| {});
    let out = shadow(
        &base(&primary),
        &base(&candidate),
        &records,
        &["--token", TOKEN],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let evaluations = common::golden_pairs().len() as u64;
    assert_eq!(
        row(&stdout, "POST /evaluator/evaluate"),
        [evaluations, evaluations, 0, 0]
    );
    for route in [
        "POST /opportunity/identify",
        "POST /generator/generate",
        "POST /planning/create",
        "GET /planning/plans",
        "GET /gateway/status",
    ] {
        assert_eq!(row(&stdout, route), [1, 1, 0, 0], "{route}:\n{stdout}");
    }
    let total = sent.len() as u64;
    assert_eq!(row(&stdout, "all routes"), [total, total, 0, 0]);
    assert!(
        stdout.contains(&format!("All {total} answers match.")),
        "{stdout}"
    );
}

#[test]
fn drift_from_a_changed_metric_is_reported_with_its_route_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let (golden, request, _) = common::golden_pair("n010_default");
    let records = dir.path().join("records");
    std::fs::create_dir(&records).unwrap();
    let save = |n: u64, path: &str, body: &Value| {
        RecordedRequest::new(
            "POST",
            path,
            [("content-type", b"application/json".as_slice())],
            body.to_string().into_bytes(),
        )
        .save(&records, n)
        .unwrap()
    };
    save(1, "/evaluator/evaluate", &request);
    RecordedRequest::new(
        "POST",
        "/opportunity/identify",
        [("content-type", b"application/json".as_slice())],
        IDENTIFY.as_bytes().to_vec(),
    )
    .save(&records, 2)
    .unwrap();

    // The same data, but for one security's 5-year CAGR.
    let symbol = request["securities"][0]["symbol"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(common::scenario_metrics(&golden)[&symbol].contains_key("CAGR_5Y"));
    let primary = instance(&dir.path().join("primary"), |_| {});
    let altered = instance(&dir.path().join("altered"), |metrics| {
        if let Some(cagr) = metrics.get_mut(&symbol).and_then(|m| m.get_mut("CAGR_5Y")) {
            *cagr += 0.05;
        }
    });

    let out = shadow(
        &base(&primary),
        &base(&altered),
        &records,
        &["--token", TOKEN],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(row(&stdout, "POST /evaluator/evaluate"), [1, 0, 1, 0]);
    assert_eq!(row(&stdout, "POST /opportunity/identify"), [1, 1, 0, 0]);
    assert!(
        stdout.contains("Drift in POST /evaluator/evaluate: 1 of 1 requests differ"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  000001-post-evaluator-evaluate.json  $.top_sequences["),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 of 2 requests differ, 0 errors."),
        "{stdout}"
    );

    // The same as JSON.
    let out = shadow(
        &base(&primary),
        &base(&altered),
        &records,
        &["--token", TOKEN, "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["differences"], 1);
    assert_eq!(report["matches"], 1);
    let route = &report["routes"][0];
    assert_eq!(route["route"], "POST /evaluator/evaluate");
    let first = &route["first_differences"][0];
    assert_eq!(first["file"], "000001-post-evaluator-evaluate.json");
    assert!(
        first["path"]
            .as_str()
            .unwrap()
            .starts_with("$.top_sequences["),
        "{first}"
    );
    assert_ne!(first["primary"], first["candidate"]);

    // Ignoring what differs makes them match; the default ignores still apply.
    let out = shadow(
        &base(&primary),
        &base(&altered),
        &records,
        &["--token", TOKEN, "--ignore", "$.top_sequences"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // Without the token nothing is compared, and the report says why.
    let out = shadow(&base(&primary), &base(&altered), &records, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(row(&stdout, "POST /evaluator/evaluate"), [1, 0, 0, 1]);
    assert!(stdout.contains("answered 401"), "{stdout}");
    assert!(stdout.contains("--token"), "{stdout}");
}

#[test]
fn recording_stops_at_its_bound_with_one_warning_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir(&records).unwrap();
    // A file already there counts towards the bound and is left alone.
    let mine = records.join("000007-post-opportunity-identify.json");
    let mine_text = "{\"method\": \"GET\", \"path\": \"/planning/plans\"}\n";
    std::fs::write(&mine, mine_text).unwrap();
    let server = recording_server(
        &dir.path().join("data"),
        &[
            "--record",
            records.to_str().unwrap(),
            "--record-max-files",
            "3",
        ],
    );
    let body = IDENTIFY;
    for _ in 0..5 {
        let (status, answer) = send(&server, "POST", "/opportunity/identify", body);
        assert_eq!(status, 200, "{answer}");
    }
    wait_for(Duration::from_secs(30), "the warning", || {
        server.stderr().contains("recording stopped").then_some(())
    });
    for _ in 0..2 {
        let (status, _) = send(&server, "POST", "/opportunity/identify", body);
        assert_eq!(status, 200);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        file_names(&records),
        vec![
            "000007-post-opportunity-identify.json",
            "000008-post-opportunity-identify.json",
            "000009-post-opportunity-identify.json"
        ]
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), mine_text);
    let log = server.stderr();
    assert_eq!(log.matches("recording stopped").count(), 1, "{log}");
    assert_eq!(log.matches("WARN").count(), 1, "{log}");

    // A bad bound is a usage error of serve.
    let out = run_cli(&[
        "serve",
        "--record",
        records.to_str().unwrap(),
        "--record-max-bytes",
        "lots",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--record-max-bytes"));
    let out = run_cli(&["serve", "--record-max-files", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--record"));
}

#[test]
fn bad_input_gets_a_clear_message_and_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let ok_url = "http://127.0.0.1:9";
    let usage = |out: &Output, needle: &str| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert!(out.stdout.is_empty());
    };

    let missing = dir.path().join("missing");
    usage(&shadow(ok_url, ok_url, &missing, &[]), "no such directory");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    usage(&shadow(ok_url, ok_url, &empty, &[]), "no request files");

    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("000001-post-evaluator-evaluate.json"),
        "{\"method\": 1}",
    )
    .unwrap();
    usage(
        &shadow(ok_url, ok_url, &bad, &[]),
        "000001-post-evaluator-evaluate.json is not a recorded request",
    );

    let good = dir.path().join("good");
    std::fs::create_dir(&good).unwrap();
    RecordedRequest::new("GET", "/gateway/status", [], Vec::new())
        .save(&good, 1)
        .unwrap();
    usage(
        &shadow("localhost:8000", ok_url, &good, &[]),
        "--primary \"localhost:8000\" is not a base URL",
    );
    usage(
        &shadow(ok_url, "nowhere", &good, &[]),
        "--candidate \"nowhere\" is not a base URL",
    );
    usage(
        &shadow(ok_url, ok_url, &good, &["--ignore", "$.a["]),
        "--ignore",
    );

    // Nothing listens there: an error reaching a target, not a usage error.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = shadow(&closed, &closed, &good, &["--timeout-secs", "5"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach the primary at {closed}/")),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("1 errors"),
        "{}",
        text(&out.stdout)
    );
}
