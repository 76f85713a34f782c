use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use tower::ServiceExt;

use super::*;
use crate::config::Config;
use crate::store::Store;

fn job(path: &str, body: &str) -> Job {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("authorization", "Bearer secret".parse().unwrap());
    Job {
        method: Method::POST,
        path: path.to_string(),
        headers,
        body: Bytes::from(body.to_string()),
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn sizes_take_binary_units() {
    assert_eq!(parse_size("65536"), Ok(65536));
    assert_eq!(parse_size("64MiB"), Ok(DEFAULT_MAX_BYTES));
    assert_eq!(parse_size("64 mb"), Ok(DEFAULT_MAX_BYTES));
    assert_eq!(parse_size("500K"), Ok(500 * 1024));
    assert_eq!(parse_size("1GiB"), Ok(1 << 30));
    assert_eq!(parse_size("0"), Ok(0));
    for bad in [
        "",
        "MiB",
        "1.5MiB",
        "-1",
        "12XB",
        "99999999999999999999",
        "18014398509481984GiB",
    ] {
        assert!(parse_size(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn only_the_compatibility_routes_are_recorded() {
    for (method, path, recorded) in [
        (Method::POST, "/evaluator/evaluate", true),
        (Method::POST, "/opportunity/identify", true),
        (Method::POST, "/generator/generate", true),
        (Method::POST, "/coordinator/create-plan", true),
        (Method::POST, "/planning/create", true),
        (Method::GET, "/planning/plans", true),
        (Method::GET, "/planning/plans/7", true),
        (Method::GET, "/gateway/status", true),
        (Method::GET, "/gateway/services/evaluator/health", false),
        (Method::GET, "/evaluator/health", false),
        (Method::GET, "/planning/health/", false),
        (Method::POST, "/gateway/trading-cycle", false),
        (Method::GET, "/api/plans", false),
        (Method::POST, "/api/plans", false),
        (Method::GET, "/healthz", false),
        (Method::GET, "/readyz", false),
        (Method::GET, "/metrics", false),
        (Method::GET, "/", false),
        (Method::GET, "/assets/app.js", false),
        (Method::GET, "/universe/securities", false),
        (Method::POST, "/evaluatorx", false),
        (Method::POST, "/evaluator", true),
    ] {
        assert_eq!(is_recorded(&method, path), recorded, "{method} {path}");
    }
}

#[test]
fn requests_are_written_in_order_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start(dir.path(), RecordLimits::default()).unwrap();
    recorder.submit(job("/evaluator/evaluate?x=1", r#"{"b": 1, "a": 2}"#));
    recorder.submit(job("/opportunity/identify", "{}"));
    recorder.finish();
    assert_eq!(
        names(dir.path()),
        vec![
            "000001-post-evaluator-evaluate.json",
            "000002-post-opportunity-identify.json"
        ]
    );
    let first = dir.path().join("000001-post-evaluator-evaluate.json");
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let request = RecordedRequest::load(&first).unwrap();
    assert_eq!(request.path, "/evaluator/evaluate?x=1");
    assert_eq!(request.body, br#"{"b":1,"a":2}"#);
    assert_eq!(request.headers["content-type"], "application/json");
}

#[test]
fn the_file_bound_stops_recording_and_keeps_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let limits = RecordLimits {
        max_files: 3,
        max_bytes: DEFAULT_MAX_BYTES,
    };
    let recorder = Recorder::start(dir.path(), limits).unwrap();
    for n in 0..5 {
        recorder.submit(job(&format!("/planning/plans/{n}"), ""));
    }
    // Stops once the fourth would go beyond the bound; later requests are not queued.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while recorder.is_recording() {
        assert!(std::time::Instant::now() < deadline, "still recording");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(recorder.written(), 3);
    recorder.finish();
    assert_eq!(names(dir.path()).len(), 3);

    // A new recorder on the full directory writes nothing and removes nothing.
    let again = Recorder::start(dir.path(), limits).unwrap();
    again.submit(job("/planning/plans/9", ""));
    again.finish();
    assert_eq!(names(dir.path()).len(), 3);
}

#[test]
fn the_byte_bound_counts_the_files_already_there_and_numbering_continues() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("000041-get-mine.json"), "x".repeat(1000)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "y".repeat(5000)).unwrap();
    let one = RecordedRequest::new(
        "POST",
        "/evaluator/evaluate",
        [("content-type", b"application/json".as_slice())],
        br#"{"a": 1}"#.to_vec(),
    )
    .to_json()
    .len() as u64;
    let limits = RecordLimits {
        max_files: 100,
        max_bytes: 1000 + 2 * one + one / 2,
    };
    let recorder = Recorder::start(dir.path(), limits).unwrap();
    for _ in 0..4 {
        recorder.submit(job("/evaluator/evaluate", r#"{"a": 1}"#));
    }
    recorder.finish();
    assert_eq!(
        names(dir.path()),
        vec![
            "000041-get-mine.json",
            "000042-post-evaluator-evaluate.json",
            "000043-post-evaluator-evaluate.json",
            "notes.txt"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("000041-get-mine.json")).unwrap(),
        "x".repeat(1000)
    );
}

#[test]
fn a_taken_name_is_skipped_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start(dir.path(), RecordLimits::default()).unwrap();
    // Someone else's file appears under the name the next request would take.
    std::fs::write(
        dir.path().join("000001-post-evaluator-evaluate.json"),
        "theirs",
    )
    .unwrap();
    recorder.submit(job("/evaluator/evaluate", "{}"));
    recorder.finish();
    assert_eq!(
        names(dir.path()),
        vec![
            "000001-post-evaluator-evaluate.json",
            "000002-post-evaluator-evaluate.json"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("000001-post-evaluator-evaluate.json")).unwrap(),
        "theirs"
    );
}

/// A router whose handlers echo the body they got, behind the record layer.
fn app(dir: &Path, record_dir: Option<&Path>) -> Router {
    let store = Arc::new(Store::open(&dir.join("t.db")).unwrap());
    let mut config = Config::default();
    config.server.max_body_bytes = 2048;
    let mut state = AppState::new(config, store).unwrap();
    state.recorder =
        record_dir.map(|d| Arc::new(Recorder::start(d, RecordLimits::default()).unwrap()));
    let state = Arc::new(state);
    let echo = |body: Bytes| async move { body };
    Router::new()
        .route("/evaluator/evaluate", post(echo))
        .route("/api/plans", post(echo))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            record,
        ))
        .with_state(state)
}

async fn send(router: &Router, method: &str, path: &str, body: Body) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer secret")
        .body(body)
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

#[tokio::test]
async fn the_layer_passes_the_same_body_on_and_records_compat_routes_only() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    let router = app(dir.path(), Some(&records));
    let body = r#"{"sequences": [], "z": 1, "a": 2}"#;
    let (status, echoed) = send(&router, "POST", "/evaluator/evaluate?q=1", body.into()).await;
    assert_eq!(
        (status, echoed.as_slice()),
        (StatusCode::OK, body.as_bytes())
    );
    let (status, echoed) = send(&router, "POST", "/api/plans", "{}".into()).await;
    assert_eq!(
        (status, echoed.as_slice()),
        (StatusCode::OK, b"{}".as_slice())
    );
    let (status, _) = send(&router, "GET", "/healthz", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    // Too large: refused as the handlers refuse it, and not recorded.
    let big = format!(r#"{{"x": "{}"}}"#, "a".repeat(4000));
    let (status, _) = send(&router, "POST", "/evaluator/evaluate", big.clone().into()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let stream = Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
        Bytes::from(big),
    )]));
    let (status, _) = send(&router, "POST", "/evaluator/evaluate", stream).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    drop(router);
    // Dropping the router drops the state and with it the recorder, which writes its queue.
    let files = request_files(&records).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let request = RecordedRequest::load(&files[0]).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/evaluator/evaluate?q=1");
    assert_eq!(request.body, br#"{"sequences":[],"z":1,"a":2}"#);
    assert!(!request.headers.contains_key("authorization"));
}

#[tokio::test]
async fn without_a_recorder_the_layer_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(dir.path(), None);
    let (status, echoed) = send(&router, "POST", "/evaluator/evaluate", "{}".into()).await;
    assert_eq!(
        (status, echoed.as_slice()),
        (StatusCode::OK, b"{}".as_slice())
    );
    assert!(
        names(dir.path()).iter().all(|n| n.starts_with("t.db")),
        "{:?}",
        names(dir.path())
    );
}
