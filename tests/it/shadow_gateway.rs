//! Shadow mode and fallback (`migration.<module>`): the binary in front of a fake of the old
//! Python evaluator that answers a recorded oracle answer, with the oracle scenario's metrics
//! imported so the local evaluator gives the same answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::cli::{clean_command, http, run_cli_ok};
use crate::common;
use crate::fake_upstreams::FakeUpstream;
use crate::server::{ServerProcess, wait_for};

const TOKEN: &str = "shadow-test-token";
const GOLDEN: &str = "py_eval_n010_default";

fn golden_path(suffix: &str) -> PathBuf {
    common::oracle_dir()
        .join("golden")
        .join(format!("{GOLDEN}.{suffix}.json"))
}

/// The recorded request and answer, as bytes.
fn golden_bytes() -> (Vec<u8>, Vec<u8>) {
    let read = |suffix| {
        let path = golden_path(suffix);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    (read("request"), read("response"))
}

fn fake_evaluator() -> FakeUpstream {
    let answer = golden_path("response");
    FakeUpstream::start_script("fake_evaluator.py", &["--answer", answer.to_str().unwrap()])
}

/// A data directory whose database holds the metrics of the scenario of the golden pair `name`,
/// imported as a user would.
fn data_dir_with_metrics(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let metrics = common::write_scenario_metrics(dir.path(), name);
    run_cli_ok(&[
        "import",
        "metrics",
        metrics.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    dir
}

/// Starts the binary with the evaluator's migration settings `settings` (`KEY`, value).
fn start(data: &Path, settings: &[(&str, String)]) -> ServerProcess {
    let names: Vec<String> = settings
        .iter()
        .map(|(key, _)| format!("TRADING_PLANNER_MIGRATION__EVALUATOR__{key}"))
        .collect();
    let mut env: Vec<(&str, String)> = names
        .iter()
        .zip(settings)
        .map(|(name, (_, value))| (name.as_str(), value.clone()))
        .collect();
    env.push(("TRADING_PLANNER_AUTH__TOKEN", TOKEN.to_string()));
    ServerProcess::start(data, &env)
}

/// The fake evaluator answering the golden pair, and the binary in front of it ([`start`]) on
/// the golden scenario's metrics, with `settings` and the fake's `URL`.
fn start_before_the_fake(
    settings: &[(&str, String)],
) -> (FakeUpstream, tempfile::TempDir, ServerProcess) {
    let fake = fake_evaluator();
    let data = data_dir_with_metrics(GOLDEN);
    let mut settings = settings.to_vec();
    settings.push(("URL", fake.url()));
    let server = start(data.path(), &settings);
    (fake, data, server)
}

struct Answer {
    status: u16,
    content_type: String,
    request_id: String,
    body: Vec<u8>,
}

/// `POST /evaluator/evaluate` with `body`, the token and a request id: the answer as bytes.
async fn evaluate(port: u16, body: &[u8], request_id: &str) -> Answer {
    let client = trading_planner::upstream::http_client(Duration::from_secs(60)).unwrap();
    let response = client
        .post(format!("http://127.0.0.1:{port}/evaluator/evaluate"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("cookie", "dashboard=ours")
        .header("x-request-id", request_id)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    Answer {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        request_id: header("x-request-id"),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// The value of the `/metrics` sample `name{labels…}` whose labels include every one of
/// `labels`, or `None` while it does not exist.
fn metric(port: u16, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let (status, text) = http(port, "GET", "/metrics", "").ok()?;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// The labels of the evaluator's samples with `outcome`.
fn evaluator_outcome(outcome: &str) -> [(&str, &str); 2] {
    [("module", "evaluator"), ("outcome", outcome)]
}

fn wait_for_metric(port: u16, name: &str, labels: &[(&str, &str)], want: f64) {
    wait_for(
        Duration::from_secs(30),
        &format!("{name}{labels:?} = {want}"),
        || (metric(port, name, labels) == Some(want)).then_some(()),
    );
}

/// `text` without ANSI escape sequences, which the log may carry around field names.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, ended by a letter.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Requires the local evaluator's answer to the golden request: not the `recorded` bytes
/// (ours is compact, the recording indented), the same numbers.
fn assert_answered_locally(answer: &Answer, recorded: &[u8]) {
    assert_eq!(answer.status, 200);
    assert!(answer.body != recorded, "not the fake's bytes");
    assert_eq!(
        common::json_diff(&json(recorded), &json(&answer.body), 1e-12),
        None
    );
}

/// The `detail` of an error answer.
fn detail(answer: &Answer) -> String {
    json(&answer.body)["detail"].as_str().unwrap().to_string()
}

/// The evaluator's entry of `migration` in `GET /api/upstreams`.
fn evaluator_mode(server: &ServerProcess) -> Value {
    let (status, upstreams) = server.get("/api/upstreams");
    assert_eq!(status, 200);
    upstreams["migration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"] == "evaluator")
        .unwrap()
        .clone()
}

#[test]
fn the_fake_evaluator_answers_the_recorded_bytes_and_alters_one_number() {
    let fake = fake_evaluator();
    let (request, recorded) = golden_bytes();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = trading_planner::upstream::http_client(Duration::from_secs(10)).unwrap();
    let post = || async {
        let response = client
            .post(format!("{}/evaluator/evaluate", fake.url()))
            .header("authorization", "Bearer sent-directly")
            .body(request.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.unwrap().to_vec()
    };
    assert_eq!(runtime.block_on(post()), recorded);

    fake.control(serde_json::json!({"alter": "total_score"}));
    let altered = runtime.block_on(post());
    assert_eq!(
        altered.len(),
        recorded.len(),
        "one number of the same length"
    );
    let (want, got) = (json(&recorded), json(&altered));
    let path = "/top_sequences/0/total_score";
    let difference = got.pointer(path).unwrap().as_f64().unwrap()
        - want.pointer(path).unwrap().as_f64().unwrap();
    assert!((difference - 0.25).abs() < 1e-12, "{difference}");
    assert_eq!(
        common::json_diff(&want, &got, 0.0).unwrap(),
        format!(
            "{path}: expected {:?}, got {:?}",
            want.pointer(path).unwrap().as_f64().unwrap(),
            got.pointer(path).unwrap().as_f64().unwrap()
        ),
        "the first difference is that number"
    );

    let log = fake.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["path"], "/evaluator/evaluate");
    assert_eq!(log[0]["headers"]["authorization"], "Bearer sent-directly");
    assert_eq!(log[0]["body"], json(&request));
}

#[tokio::test]
async fn python_primary_with_shadow_serves_the_python_bytes_and_counts_match_then_mismatch() {
    let (fake, _data, server) =
        start_before_the_fake(&[("PRIMARY", "python".into()), ("SHADOW", "on".into())]);
    let (request, recorded) = golden_bytes();

    let answer = evaluate(server.port(), &request, "shadow-match-1").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.request_id, "shadow-match-1");
    assert!(answer.body == recorded, "the client gets the fake's bytes");
    wait_for_metric(
        server.port(),
        "shadow_requests_total",
        &evaluator_outcome("match"),
        1.0,
    );
    assert_eq!(
        metric(
            server.port(),
            "shadow_requests_total",
            &evaluator_outcome("mismatch")
        ),
        None
    );

    // What crossed the hop: the body, the content type and the request id; not our token or
    // the dashboard's cookie.
    let log = fake.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["body"], json(&request));
    assert_eq!(
        log[0]["headers"],
        serde_json::json!({"x-request-id": "shadow-match-1", "content-type": "application/json"})
    );

    fake.control(serde_json::json!({"alter": "total_score"}));
    fake.clear_requests();
    let answer = evaluate(server.port(), &request, "shadow-mismatch-1").await;
    assert_eq!(answer.status, 200);
    assert!(answer.body != recorded);
    let altered = json(&answer.body);
    assert_eq!(
        common::json_diff(&json(&recorded), &altered, 0.0)
            .unwrap()
            .split(':')
            .next(),
        Some("/top_sequences/0/total_score"),
        "the client gets the fake's altered answer"
    );
    wait_for_metric(
        server.port(),
        "shadow_requests_total",
        &evaluator_outcome("mismatch"),
        1.0,
    );
    assert_eq!(
        metric(
            server.port(),
            "shadow_requests_total",
            &evaluator_outcome("match")
        ),
        Some(1.0)
    );
    let log = without_colours(&server.stderr());
    let warning = log
        .lines()
        .find(|l| l.contains("shadow answer differs"))
        .unwrap_or_else(|| panic!("no mismatch warning:\n{log}"));
    for part in [
        "WARN",
        "module=\"evaluator\"",
        "path=\"/evaluator/evaluate\"",
        "shadow-mismatch-1",
        "$.top_sequences[0].total_score",
    ] {
        assert!(warning.contains(part), "{part} in {warning}");
    }

    let evaluator = evaluator_mode(&server);
    assert_eq!(evaluator["primary"], "python");
    assert_eq!(evaluator["shadow"], "on");
    assert_eq!(evaluator["url"], fake.url());
    assert_eq!(evaluator["breaker"], "closed");
}

#[tokio::test]
async fn every_oracle_request_matches_in_shadow_mode_in_front_of_the_recorded_evaluator() {
    let golden = common::oracle_dir().join("golden");
    let fake =
        FakeUpstream::start_script("fake_evaluator.py", &["--golden", golden.to_str().unwrap()]);
    // The largest scenario's metrics hold the smaller one's, with the same values.
    let (name, _, _) = common::golden_pair("n025_default");
    let data = data_dir_with_metrics(&name);
    let server = start(
        data.path(),
        &[
            ("PRIMARY", "python".into()),
            ("SHADOW", "on".into()),
            ("URL", fake.url()),
        ],
    );
    let pairs = common::golden_pairs();
    assert_eq!(pairs.len(), 6);
    for (name, _, _) in &pairs {
        let request = std::fs::read(golden.join(format!("{name}.request.json"))).unwrap();
        let recorded = std::fs::read(golden.join(format!("{name}.response.json"))).unwrap();
        let answer = evaluate(server.port(), &request, name).await;
        assert_eq!(answer.status, 200, "{name}");
        assert!(answer.body == recorded, "{name}: the recorded bytes");
    }
    wait_for_metric(
        server.port(),
        "shadow_requests_total",
        &evaluator_outcome("match"),
        6.0,
    );
    for outcome in ["mismatch", "error", "skipped"] {
        assert_eq!(
            metric(
                server.port(),
                "shadow_requests_total",
                &evaluator_outcome(outcome)
            ),
            None,
            "{outcome}"
        );
    }

    // A request the recording does not hold is the fake's 404, passed on unchanged.
    let answer = evaluate(server.port(), b"{}", "not-recorded").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        json(&answer.body),
        serde_json::json!({"detail": "no recorded answer for this request"})
    );
}

#[tokio::test]
async fn local_primary_with_shadow_serves_the_local_answer_and_asks_python_aside() {
    let (fake, _data, server) = start_before_the_fake(&[("SHADOW", "on".into())]);
    let (request, recorded) = golden_bytes();

    let answer = evaluate(server.port(), &request, "local-shadow-1").await;
    assert_answered_locally(&answer, &recorded);
    wait_for_metric(
        server.port(),
        "shadow_requests_total",
        &evaluator_outcome("match"),
        1.0,
    );
    let log = fake.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["headers"]["x-request-id"], "local-shadow-1");
}

#[tokio::test]
async fn the_fallback_drill_answers_from_python_and_fails_clearly_once_python_is_gone() {
    let (fake, _data, server) = start_before_the_fake(&[("FAIL_LOCAL", "true".into())]);
    let (request, recorded) = golden_bytes();

    let answer = evaluate(server.port(), &request, "drill-1").await;
    assert_eq!(answer.status, 200);
    assert!(answer.body == recorded, "the fake's answer");
    assert_eq!(fake.requests().len(), 1);
    wait_for_metric(
        server.port(),
        "fallback_requests_total",
        &evaluator_outcome("ok"),
        1.0,
    );
    let log = without_colours(&server.stderr());
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("answered from the Python service")
            && l.contains("drill-1")),
        "{log}"
    );

    drop(fake);
    let answer = evaluate(server.port(), &request, "drill-2").await;
    assert_eq!(answer.status, 502);
    let detail = detail(&answer);
    assert!(
        detail.starts_with(
            "evaluator failed here (500) and its Python fallback could not answer: \
             evaluator is unreachable: "
        ),
        "{detail}"
    );
    assert_eq!(
        metric(
            server.port(),
            "fallback_requests_total",
            &evaluator_outcome("connect_error")
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn without_the_drill_the_local_answer_is_served_and_python_hears_nothing() {
    let (fake, _data, server) = start_before_the_fake(&[("FAIL_LOCAL", "false".into())]);
    let (request, recorded) = golden_bytes();
    let answer = evaluate(server.port(), &request, "no-drill-1").await;
    assert_answered_locally(&answer, &recorded);
    // Health is a compat route too; it stays local as well.
    let (status, _) = server.get("/evaluator/health");
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(200));
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(
        metric(
            server.port(),
            "fallback_requests_total",
            &[("module", "evaluator")]
        ),
        None
    );
}

#[tokio::test]
async fn python_primary_down_is_a_clear_error_and_its_breaker_opens() {
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}")
    };
    let data = tempfile::tempdir().unwrap();
    let server = start(
        data.path(),
        &[
            ("PRIMARY", "python".into()),
            ("SHADOW", "on".into()),
            ("URL", refused),
            ("BREAKER_FAILURES", "2".into()),
        ],
    );
    let (request, _) = golden_bytes();
    for n in 0..2 {
        let answer = evaluate(server.port(), &request, &format!("down-{n}")).await;
        assert_eq!(answer.status, 502);
        let detail = detail(&answer);
        assert!(detail.starts_with("evaluator is unreachable: "), "{detail}");
    }
    let answer = evaluate(server.port(), &request, "down-open").await;
    assert_eq!(answer.status, 503);
    let detail = detail(&answer);
    assert!(
        detail.starts_with("evaluator is unavailable: circuit open after 2 failures; retrying in"),
        "{detail}"
    );

    let evaluator = evaluator_mode(&server);
    assert_eq!(evaluator["breaker"], "open");
    assert_eq!(evaluator["consecutive_failures"], 2);
    assert!(evaluator["retry_in_secs"].as_u64().unwrap() > 0);
    assert_eq!(
        metric(
            server.port(),
            "migration_breaker_state",
            &[("module", "evaluator")]
        ),
        Some(2.0)
    );
    // No answer from the primary, so nothing to compare: no shadow is counted.
    assert_eq!(
        metric(
            server.port(),
            "shadow_requests_total",
            &[("module", "evaluator")]
        ),
        None
    );
    // Still serving, and nothing panicked.
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[test]
fn python_primary_without_a_url_exits_with_a_readable_message() {
    let data = tempfile::tempdir().unwrap();
    let out = clean_command()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("TRADING_PLANNER_MIGRATION__EVALUATOR__PRIMARY", "python")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for part in [
        "migration.evaluator.url is empty",
        "primary: python",
        "http://127.0.0.1:8010",
    ] {
        assert!(stderr.contains(part), "{part} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}
