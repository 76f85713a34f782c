//! The binary's command line: help texts, errors, the bench line, and `serve` over real TCP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common;

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_trading-planner")
}

/// Runs the binary with `args` and no `TRADING_PLANNER_*` variables from the environment.
pub fn run_cli(args: &[&str]) -> Output {
    let mut command = clean_command();
    command.args(args);
    command.output().expect("the binary runs")
}

/// The binary without the test environment's `TRADING_PLANNER_*` variables (such as the oracle
/// location), which the binary would read as configuration.
pub fn clean_command() -> Command {
    let mut command = match runner() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(binary());
            command
        }
        None => Command::new(binary()),
    };
    for (key, _) in std::env::vars() {
        if key.starts_with("TRADING_PLANNER_") {
            command.env_remove(key);
        }
    }
    command
}

/// The emulator that runs the binary when the tests were built for another architecture:
/// `TRADING_PLANNER_TEST_RUNNER` (e.g. `qemu-aarch64 -cpu cortex-a53`), or, for an aarch64
/// build that the kernel cannot execute (no binfmt_misc), qemu for the board's core. The
/// emulated test binary can still start the host's emulator, which then runs the binary.
fn runner() -> Option<(String, Vec<String>)> {
    static RUNNER: std::sync::OnceLock<Option<(String, Vec<String>)>> = std::sync::OnceLock::new();
    RUNNER
        .get_or_init(|| {
            if let Ok(line) = std::env::var("TRADING_PLANNER_TEST_RUNNER") {
                let mut words = line.split_whitespace().map(str::to_owned);
                let program = words.next()?;
                return Some((program, words.collect()));
            }
            // The kernel refuses the file: spawning fails with "Exec format error", or, when
            // the test binary itself runs under qemu, the child exits 127 without a word.
            let foreign = cfg!(target_arch = "aarch64")
                && match Command::new(binary()).arg("--version").output() {
                    Err(e) => e.raw_os_error() == Some(ENOEXEC),
                    Ok(out) => out.status.code() == Some(127) && out.stdout.is_empty(),
                };
            foreign.then(|| {
                let args = ["-cpu", "cortex-a53"].map(str::to_owned).to_vec();
                ("qemu-aarch64".to_owned(), args)
            })
        })
        .clone()
}

/// "Exec format error": the kernel knows no way to run the file.
const ENOEXEC: i32 = 8;

/// Runs the binary and requires success.
pub fn run_cli_ok(args: &[&str]) -> Output {
    let out = run_cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn help_of_every_subcommand_explains_every_flag() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--help"],
            &[
                "serve",
                "evaluate",
                "import",
                "bench",
                "backtest",
                "--data-dir",
                "--config",
            ],
        ),
        (
            &["backtest", "--help"],
            &[
                "--data",
                "--scenario",
                "--start",
                "--end",
                "--deposit",
                "--initial-cash",
                "--fee-fixed",
                "--fee-rate",
                "--fx-rate",
                "--json",
                "--csv",
            ],
        ),
        (&["serve", "--help"], &["--bind", "--data-dir", "--config"]),
        (
            &["evaluate", "--help"],
            &[
                "REQUEST.json",
                "--metrics",
                "--profile",
                "python-compat",
                "corrected",
                "--data-dir",
                "--config",
            ],
        ),
        (
            &["import", "metrics", "--help"],
            &["FILE.json", "--source", "--data-dir", "--config"],
        ),
        (
            &["bench", "evaluate", "--help"],
            &[
                "--positions",
                "--sequences",
                "--depth",
                "--threads",
                "--runs",
                "--batch-size",
                "--seed",
                "--data-dir",
            ],
        ),
    ];
    for (args, needles) in cases {
        let out = run_cli(args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for needle in *needles {
            assert!(
                text.contains(needle),
                "{args:?} help lacks {needle}:\n{text}"
            );
        }
    }
}

#[test]
fn evaluate_rejects_an_invalid_request_with_field_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"sequences": [], "portfolio_context": {"total_value_eur": 1000.0}, "positions": [], "securities": [], "settings": {"beam_width": 0}}"#).unwrap();
    let out = run_cli(&[
        "evaluate",
        path.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("greater_than_equal") && stderr.contains("beam_width"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn evaluate_reports_a_missing_file_clearly() {
    let out = run_cli(&["evaluate", "/nonexistent/request.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent/request.json"));
}

#[test]
fn import_rejects_a_malformed_metrics_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    std::fs::write(&path, r#"{"AAA": {"CAGR_5Y": "high"}}"#).unwrap();
    let data = dir.path().join("data");
    let out = run_cli(&[
        "import",
        "metrics",
        path.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("metric names to numbers"));
    assert!(
        !data.exists(),
        "no database is created for a file that cannot be read"
    );
}

#[test]
fn bench_prints_the_documented_line() {
    let out = run_cli(&[
        "bench",
        "evaluate",
        "--positions",
        "10",
        "--sequences",
        "20000",
        "--threads",
        "2",
        "--runs",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let rest = line
        .strip_prefix("evaluate: 20000 sequences, 10 positions, 2 threads: ")
        .unwrap_or_else(|| panic!("{line}"));
    let (rate, tail) = rest.split_once(" seq/s ").unwrap();
    assert!(rate.parse::<f64>().unwrap() > 0.0);
    assert_eq!(tail.trim(), "(median of 3 runs)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("peak RSS"), "{stderr}");
    // The size of the binary under test, as the file system reports it.
    let size = std::fs::metadata(binary()).unwrap().len();
    assert!(
        stderr.contains(&format!("binary: {size} bytes, {}", std::env::consts::ARCH)),
        "{stderr}"
    );
}

#[test]
fn bench_generate_prints_the_documented_line() {
    // 12 candidates, depth 3: C(12,1) + C(12,2) + C(12,3) = 12 + 66 + 220 combinations.
    let out = run_cli(&[
        "bench",
        "generate",
        "--candidates",
        "12",
        "--depth",
        "3",
        "--threads",
        "2",
        "--runs",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let rest = line
        .strip_prefix("generate: 298 sequences in ")
        .unwrap_or_else(|| panic!("{line}"));
    let (seconds, rest) = rest.split_once(" s = ").unwrap();
    assert!(seconds.parse::<f64>().unwrap() >= 0.0);
    let (rate, rest) = rest.split_once(" seq/s, peak RSS ").unwrap();
    assert!(rate.parse::<f64>().unwrap() > 0.0);
    let megabytes = rest.trim().strip_suffix(" MB").unwrap();
    assert!(megabytes.parse::<f64>().unwrap() > 0.0);

    let out = run_cli(&["bench", "generate", "--depth", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--depth"));
}

#[test]
fn a_bad_config_is_a_readable_startup_error() {
    let out = clean_command()
        .args(["bench", "evaluate", "--sequences", "10"])
        .env("TRADING_PLANNER_SERVER__BIND", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange over a fresh connection; returns status and body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    http_with(port, method, path, body, None)
}

/// [`http`] with an optional bearer token.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn serve_answers_over_tcp_and_survives_bad_input() {
    let (name, request, expected) = common::golden_pair("n010_default");
    let dir = tempfile::tempdir().unwrap();
    let metrics_path = common::write_scenario_metrics(dir.path(), &name);
    let data = dir.path().to_str().unwrap();
    assert!(
        run_cli(&[
            "import",
            "metrics",
            metrics_path.to_str().unwrap(),
            "--data-dir",
            data
        ])
        .status
        .success()
    );
    let port = free_port();
    let child = clean_command()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data,
        ])
        .env("TRADING_PLANNER_AUTH__TOKEN", "cli-test-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let token = Some("cli-test-token");
    let started = Instant::now();
    while http(port, "GET", "/healthz", "").is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http(port, "GET", "/evaluator/health", "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"healthy":true,"version":"1.0.0","status":"OK","checks":{}}"#
    );
    // A route that writes keeps the token even on loopback.
    let (status, body) = http(port, "POST", "/api/plans", "{}").unwrap();
    assert_eq!(status, 401, "without the token: {body}");
    let (status, body) =
        http_with(port, "POST", "/evaluator/evaluate", "{not json", token).unwrap();
    assert_eq!(status, 422, "{body}");
    let body = request.to_string();
    let (status, body) = http_with(port, "POST", "/evaluator/evaluate", &body, token).unwrap();
    assert_eq!(status, 200, "{body}");
    let actual: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(common::json_diff(&expected, &actual, 1e-12), None);
}

#[test]
fn bench_plan_and_bench_load_print_their_documented_lines() {
    let out = run_cli_ok(&[
        "bench",
        "plan",
        "--securities",
        "30",
        "--depth",
        "3",
        "--runs",
        "2",
    ]);
    let line = String::from_utf8_lossy(&out.stdout);
    let rest = line
        .strip_prefix("plan: 30 securities, depth 3, ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(rest.contains(" s (median of 2), "), "{line}");
    assert!(rest.trim_end().ends_with(" MB"), "{line}");

    let out = run_cli_ok(&[
        "bench",
        "load",
        "--clients",
        "4",
        "--seconds",
        "1",
        "--securities",
        "20",
    ]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with("load: 4 clients, one request per 100 ms each, for 1 s: "),
        "{line}"
    );
    assert!(line.contains(" 0 errors, p50 "), "{line}");

    for bad in [
        &["bench", "plan", "--depth", "0"][..],
        &["bench", "plan", "--securities", "0"],
        &["bench", "load", "--clients", "0"],
        &["bench", "load", "--seconds", "0"],
    ] {
        let out = run_cli(bad);
        assert!(!out.status.success(), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("must be"),
            "{bad:?}"
        );
    }
}
