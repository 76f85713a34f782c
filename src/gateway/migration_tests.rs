use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{any, get, post};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tower::ServiceExt;

use super::*;
use crate::config::Config;
use crate::store::Store;

// ---------------------------------------------------------------------------------------------
// Decisions

fn config_with(module: &str, change: impl FnOnce(&mut MigrationModule)) -> MigrationConfig {
    let mut config = MigrationConfig::default();
    let settings = match module {
        "gateway" => &mut config.gateway,
        "coordinator" => &mut config.coordinator,
        "opportunity" => &mut config.opportunity,
        "generator" => &mut config.generator,
        "evaluator" => &mut config.evaluator,
        "planning" => &mut config.planning,
        other => panic!("{other}"),
    };
    change(settings);
    config
}

#[test]
fn modules_are_found_by_their_prefix_only() {
    assert_eq!(module_of("/evaluator/evaluate"), Some("evaluator"));
    assert_eq!(module_of("/evaluator"), Some("evaluator"));
    assert_eq!(module_of("/gateway/status"), Some("gateway"));
    assert_eq!(module_of("/planning/plans/7"), Some("planning"));
    assert_eq!(module_of("/evaluators/x"), None);
    assert_eq!(module_of("/api/upstreams"), None);
    assert_eq!(module_of("/metrics"), None);
    assert_eq!(module_of("/healthz"), None);
    assert_eq!(module_of("/universe/securities"), None);
    assert_eq!(module_of("/"), None);
    assert_eq!(module_of(""), None);
}

#[test]
fn nothing_is_touched_while_a_module_has_nothing_to_do() {
    let defaults = MigrationConfig::default();
    for path in [
        "/evaluator/evaluate",
        "/gateway/status",
        "/api/plans",
        "/metrics",
    ] {
        assert_eq!(decide(&defaults, &Method::POST, path), None, "{path}");
    }
    let python = config_with("evaluator", |m| {
        m.primary = Primary::Python;
        m.url = "http://127.0.0.1:8010".into();
    });
    // Other methods, other modules and the native surface stay local.
    assert_eq!(decide(&python, &Method::PUT, "/evaluator/evaluate"), None);
    assert_eq!(decide(&python, &Method::HEAD, "/evaluator/health"), None);
    assert_eq!(
        decide(&python, &Method::POST, "/opportunity/identify"),
        None
    );
    assert_eq!(decide(&python, &Method::GET, "/api/upstreams"), None);
    assert_eq!(
        decide(&python, &Method::GET, "/evaluator/health"),
        Some(("evaluator", Decision::Python { shadow: false }))
    );
}

#[test]
fn python_primary_shadows_every_route_but_the_writes() {
    let config = config_with("planning", |m| {
        m.primary = Primary::Python;
        m.shadow = true;
        m.url = "http://127.0.0.1:8006".into();
    });
    assert_eq!(
        decide(&config, &Method::GET, "/planning/best"),
        Some(("planning", Decision::Python { shadow: true }))
    );
    assert_eq!(
        decide(&config, &Method::POST, "/planning/create"),
        Some(("planning", Decision::Python { shadow: false }))
    );
    assert!(changes_state(&Method::POST, "/gateway/trading-cycle"));
    assert!(changes_state(&Method::POST, "/planning/create/"));
    assert!(!changes_state(&Method::GET, "/planning/create"));
    assert!(!changes_state(&Method::POST, "/coordinator/create-plan"));
}

#[test]
fn local_primary_falls_back_only_with_a_url_and_writes_only_under_the_drill() {
    let drill_without_url = config_with("evaluator", |m| m.fail_local = true);
    assert_eq!(
        decide(&drill_without_url, &Method::POST, "/evaluator/evaluate"),
        Some((
            "evaluator",
            Decision::Local {
                fail: true,
                fallback: Fallback::Never,
                shadow: false
            }
        ))
    );
    let with_url = config_with("gateway", |m| m.url = "http://127.0.0.1:8007".into());
    assert_eq!(
        decide(&with_url, &Method::GET, "/gateway/status"),
        Some((
            "gateway",
            Decision::Local {
                fail: false,
                fallback: Fallback::OnServerError,
                shadow: false
            }
        ))
    );
    assert_eq!(
        decide(&with_url, &Method::POST, "/gateway/trading-cycle"),
        Some((
            "gateway",
            Decision::Local {
                fail: false,
                fallback: Fallback::OnlyIfNotRun,
                shadow: false
            }
        ))
    );

    let error = StatusCode::INTERNAL_SERVER_ERROR;
    assert!(Fallback::OnServerError.applies(error, true));
    assert!(Fallback::OnServerError.applies(StatusCode::SERVICE_UNAVAILABLE, true));
    assert!(!Fallback::OnServerError.applies(StatusCode::NOT_FOUND, true));
    assert!(!Fallback::OnServerError.applies(StatusCode::UNPROCESSABLE_ENTITY, true));
    assert!(Fallback::OnlyIfNotRun.applies(error, false));
    assert!(!Fallback::OnlyIfNotRun.applies(error, true));
    assert!(!Fallback::Never.applies(error, false));
}

#[test]
fn mismatches_are_summarized_by_their_first_differences() {
    let difference = |n: usize| Difference {
        path: format!("$.a[{n}]"),
        primary: n.to_string(),
        candidate: (n + 1).to_string(),
    };
    assert_eq!(summarize(&[difference(0)]), "$.a[0]: 0 vs 1");
    let many: Vec<Difference> = (0..5).map(difference).collect();
    assert_eq!(
        summarize(&many),
        "$.a[0]: 0 vs 1; $.a[1]: 1 vs 2; $.a[2]: 2 vs 3; and 2 more"
    );
}

#[test]
fn modes_show_every_module_with_its_breaker() {
    let config = config_with("evaluator", |m| {
        m.primary = Primary::Python;
        m.shadow = true;
        m.url = "http://127.0.0.1:8010/".into();
    });
    let upstreams = Upstreams::from_config(&Config {
        migration: config.clone(),
        ..Config::default()
    })
    .unwrap();
    let modes = modes(&config, &upstreams);
    assert_eq!(modes.iter().map(|m| m.module).collect::<Vec<_>>(), MODULES);
    let evaluator = modes.iter().find(|m| m.module == "evaluator").unwrap();
    assert_eq!(evaluator.primary, "python");
    assert_eq!(evaluator.shadow, "on");
    assert_eq!(evaluator.url.as_deref(), Some("http://127.0.0.1:8010"));
    assert_eq!(evaluator.breaker, Some(BreakerState::Closed));
    let planning = modes.iter().find(|m| m.module == "planning").unwrap();
    assert_eq!(
        (planning.primary, planning.shadow, planning.breaker),
        ("local", "off", None)
    );
}

// ---------------------------------------------------------------------------------------------
// The layer, with a Python service on a loopback port

/// What the fake Python service received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A stand-in Python service: records each request, then answers with `answer`.
struct FakePython {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakePython {
    async fn start<F, Fut>(answer: F) -> FakePython
    where
        F: Fn() -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send,
    {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = Arc::clone(&received);
        let app = Router::new().fallback(any(move |request: Request<Body>| {
            let log = Arc::clone(&log);
            let answer = answer.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                log.lock().unwrap().push(Received {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers: parts.headers,
                    body: body.to_vec(),
                });
                answer().await
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakePython {
            url,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakePython {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL nothing listens on.
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

const LOCAL_BODY: &str = r#"{"answer":1.5,"from":"local"}"#;

/// `routes` behind the layer, on an empty store, with the default migration settings changed
/// by `change`.
fn behind_the_layer(
    routes: Router<Arc<AppState>>,
    change: impl FnOnce(&mut MigrationConfig),
) -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let mut config = Config::default();
    change(&mut config.migration);
    let state = Arc::new(AppState::new(config, store).unwrap());
    let router = routes
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            layer,
        ))
        .with_state(state);
    (dir, router)
}

/// The evaluator's routes answering [`LOCAL_BODY`] (or 500 for `/evaluator/broken`), behind the
/// layer, with the evaluator's migration settings changed by `change`.
fn app(change: impl FnOnce(&mut MigrationModule)) -> (tempfile::TempDir, Router) {
    let local = || async { ([(CONTENT_TYPE, "application/json")], LOCAL_BODY) };
    let routes = Router::new()
        .route("/evaluator/evaluate", post(local))
        .route("/evaluator/health", get(local))
        .route(
            "/evaluator/broken",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "local failure") }),
        );
    behind_the_layer(routes, |migration| change(&mut migration.evaluator))
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

fn post_evaluate(path: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer our-token")
        .header("cookie", "session=ours")
        .header("x-request-id", "req-migration-1")
        .body(Body::from(r#"{"sequences":[]}"#))
        .unwrap()
}

/// `POST /evaluator/evaluate` ([`post_evaluate`]) through `router`: the status and the body.
async fn evaluate(router: &Router) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = send(router, post_evaluate("/evaluator/evaluate")).await;
    (status, body)
}

/// Requires the local handler's answer: 200 with [`LOCAL_BODY`].
fn assert_answered_locally((status, body): (StatusCode, Vec<u8>)) {
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, LOCAL_BODY.as_bytes())
    );
}

/// The `detail` of a JSON error answer.
fn detail(body: &[u8]) -> String {
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    body["detail"].as_str().unwrap().to_string()
}

fn python_answer() -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header("content-type", "application/json; charset=odd")
        .header("retry-after", "7")
        .header("x-python-internal", "not for clients")
        .body(Body::from(" {\"answer\": 1.50, \"from\": \"python\"}\n"))
        .unwrap()
}

/// Counters of one test, from a recorder local to its thread: shadow tasks run on the test's
/// current-thread runtime, so they record there too.
struct Counts {
    snapshotter: Snapshotter,
    seen: RefCell<Vec<(CompositeKey, u64)>>,
}

impl Counts {
    fn total(&self, name: &str, outcome: &str) -> u64 {
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            if let DebugValue::Counter(n) = value {
                self.seen.borrow_mut().push((key, n));
            }
        }
        self.seen
            .borrow()
            .iter()
            .filter(|(key, _)| {
                let key = key.key();
                key.name() == name
                    && key
                        .labels()
                        .any(|l| l.key() == "outcome" && l.value() == outcome)
                    && key
                        .labels()
                        .any(|l| l.key() == "module" && l.value() == "evaluator")
            })
            .map(|(_, n)| n)
            .sum()
    }

    async fn wait_for(&self, name: &str, outcome: &str, want: u64) {
        for _ in 0..1000 {
            if self.total(name, outcome) >= want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{name}{{outcome={outcome}}} never reached {want}");
    }
}

/// Runs `test` on a current-thread runtime with a local recorder.
fn with_counts<F: Future<Output = ()>>(test: impl FnOnce(Rc<Counts>) -> F) {
    let recorder = DebuggingRecorder::new();
    let counts = Rc::new(Counts {
        snapshotter: recorder.snapshotter(),
        seen: RefCell::new(Vec::new()),
    });
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(test(counts));
    });
}

/// The shadow slots are one per process: tests that use them run one at a time.
static SLOTS_IN_USE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// [`with_counts`] for a test that uses the shadow slots: it runs holding [`SLOTS_IN_USE`].
fn with_shadow_slots<F: Future<Output = ()>>(test: impl FnOnce(Rc<Counts>) -> F) {
    with_counts(|counts| async move {
        let _slots = SLOTS_IN_USE.lock().await;
        test(counts).await;
    });
}

#[tokio::test]
async fn python_primary_answers_with_the_service_bytes_and_sends_only_content_headers() {
    let python = FakePython::start(|| async { python_answer() }).await;
    let (_dir, router) = app(|m| {
        m.primary = Primary::Python;
        m.url = python.url.clone();
    });
    let (status, headers, body) = send(&router, post_evaluate("/evaluator/evaluate?x=1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, b" {\"answer\": 1.50, \"from\": \"python\"}\n");
    assert_eq!(headers["content-type"], "application/json; charset=odd");
    assert_eq!(headers["retry-after"], "7");
    assert!(headers.get("x-python-internal").is_none());

    let received = python.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri, "/evaluator/evaluate?x=1");
    assert_eq!(request.body, br#"{"sequences":[]}"#);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["x-request-id"], "req-migration-1");
    assert!(request.headers.get("authorization").is_none());
    assert!(request.headers.get("cookie").is_none());
}

#[tokio::test]
async fn a_path_that_would_leave_the_prefix_is_not_forwarded() {
    let python = FakePython::start(|| async { python_answer() }).await;
    let (_dir, router) = app(|m| {
        m.primary = Primary::Python;
        m.url = python.url.clone();
    });
    for path in ["/evaluator/../admin", "/evaluator/%2e%2e/admin"] {
        let (status, _, _) = send(&router, post_evaluate(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(python.received().is_empty());
}

#[tokio::test]
async fn python_primary_that_cannot_answer_is_a_clear_error_and_opens_its_breaker() {
    let (_dir, router) = app(|m| {
        m.primary = Primary::Python;
        m.url = refused_url();
        m.breaker_failures = 2;
    });
    for _ in 0..2 {
        let (status, body) = evaluate(&router).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let detail = detail(&body);
        assert!(detail.starts_with("evaluator is unreachable: "), "{detail}");
    }
    let (status, body) = evaluate(&router).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let detail = detail(&body);
    assert!(
        detail.starts_with("evaluator is unavailable: circuit open after 2 failures"),
        "{detail}"
    );
}

#[tokio::test]
async fn python_primary_past_its_timeout_is_504() {
    let python = FakePython::start(|| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        python_answer()
    })
    .await;
    let (_dir, router) = app(|m| {
        m.primary = Primary::Python;
        m.url = python.url.clone();
        m.timeout_secs = 0.2;
    });
    let (status, body) = evaluate(&router).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(detail(&body), "evaluator did not answer within 0.2 s");
}

#[test]
fn local_primary_falls_back_on_a_local_5xx_and_counts_it() {
    with_counts(|counts| async move {
        let python = FakePython::start(|| async { python_answer() }).await;
        let (_dir, router) = app(|m| m.url = python.url.clone());
        // A local success stays local, and Python hears nothing.
        assert_answered_locally(evaluate(&router).await);
        assert!(python.received().is_empty());

        let (status, _, body) = send(&router, post_evaluate("/evaluator/broken")).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body, b" {\"answer\": 1.50, \"from\": \"python\"}\n");
        assert_eq!(python.received().len(), 1);
        assert_eq!(counts.total("fallback_requests_total", "ok"), 1);
    });
}

#[test]
fn a_failed_fallback_is_a_clear_error_naming_both_failures() {
    with_counts(|counts| async move {
        let (_dir, router) = app(|m| {
            m.url = refused_url();
            m.fail_local = true;
        });
        let (status, body) = evaluate(&router).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let detail = detail(&body);
        assert!(
            detail.starts_with(
                "evaluator failed here (500) and its Python fallback could not answer: \
                 evaluator is unreachable"
            ),
            "{detail}"
        );
        assert_eq!(counts.total("fallback_requests_total", "connect_error"), 1);
    });
}

#[tokio::test]
async fn the_drill_without_a_url_answers_500_without_running_the_handler() {
    let (_dir, router) = app(|m| m.fail_local = true);
    let (status, body) = evaluate(&router).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        detail(&body),
        "evaluator failed on purpose: migration.evaluator.fail_local is on (a fallback drill)"
    );
}

#[tokio::test]
async fn a_write_that_failed_after_running_locally_is_not_repeated_in_python() {
    let python = FakePython::start(|| async { python_answer() }).await;
    let routes = Router::new().route(
        "/planning/create",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "half written") }),
    );
    let (_dir, router) = behind_the_layer(routes, |migration| {
        migration.planning.url = python.url.clone();
        migration.planning.shadow = true;
    });
    let (status, _, body) = send(&router, post_evaluate("/planning/create")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, b"half written");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(python.received().is_empty(), "neither fallback nor shadow");
}

#[test]
fn local_primary_shadow_counts_match_mismatch_and_error_off_the_path() {
    with_shadow_slots(|counts| async move {
        let same = FakePython::start(|| async {
            (
                [(CONTENT_TYPE, "application/json")],
                r#"{"from":"local","answer":1.5}"#,
            )
                .into_response()
        })
        .await;
        let (_dir, router) = app(|m| {
            m.shadow = true;
            m.url = same.url.clone();
        });
        assert_answered_locally(evaluate(&router).await);
        counts.wait_for("shadow_requests_total", "match", 1).await;
        assert_eq!(
            same.received()[0].headers["x-request-id"],
            "req-migration-1"
        );

        let different = FakePython::start(|| async { python_answer() }).await;
        let (_dir, router) = app(|m| {
            m.shadow = true;
            m.url = different.url.clone();
        });
        assert_answered_locally(evaluate(&router).await);
        counts
            .wait_for("shadow_requests_total", "mismatch", 1)
            .await;

        let (_dir, router) = app(|m| {
            m.shadow = true;
            m.url = refused_url();
        });
        assert_answered_locally(evaluate(&router).await);
        counts.wait_for("shadow_requests_total", "error", 1).await;
        assert_eq!(counts.total("shadow_requests_total", "match"), 1);
        assert_eq!(counts.total("shadow_requests_total", "mismatch"), 1);
    });
}

#[test]
fn python_primary_shadow_runs_the_local_module_after_answering() {
    with_shadow_slots(|counts| async move {
        let python = FakePython::start(|| async {
            ([(CONTENT_TYPE, "application/json")], LOCAL_BODY).into_response()
        })
        .await;
        let (_dir, router) = app(|m| {
            m.primary = Primary::Python;
            m.shadow = true;
            m.url = python.url.clone();
        });
        assert_answered_locally(evaluate(&router).await);
        counts.wait_for("shadow_requests_total", "match", 1).await;

        // The drill makes the local side answer 500: a mismatch, and the client never sees it.
        let (_dir, router) = app(|m| {
            m.primary = Primary::Python;
            m.shadow = true;
            m.fail_local = true;
            m.url = python.url.clone();
        });
        assert_answered_locally(evaluate(&router).await);
        counts
            .wait_for("shadow_requests_total", "mismatch", 1)
            .await;
    });
}

/// The evaluator's routes ([`app`]) shadowed by a Python service that answers
/// [`python_answer`] only once `release` is notified.
struct HeldShadow {
    router: Router,
    release: Arc<tokio::sync::Notify>,
    _dir: tempfile::TempDir,
    _python: FakePython,
}

/// [`HeldShadow`], the shadow given `timeout_secs`.
async fn held_shadow(timeout_secs: f64) -> HeldShadow {
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::clone(&release);
    let python = FakePython::start(move || {
        let gate = Arc::clone(&gate);
        async move {
            gate.notified().await;
            python_answer()
        }
    })
    .await;
    let (dir, router) = app(|m| {
        m.shadow = true;
        m.url = python.url.clone();
        m.timeout_secs = timeout_secs;
    });
    HeldShadow {
        router,
        release,
        _dir: dir,
        _python: python,
    }
}

#[test]
fn shadow_work_never_holds_the_answer() {
    with_shadow_slots(|counts| async move {
        let held = held_shadow(60.0).await;
        // The Python side answers only after the client has its answer.
        let answer = tokio::time::timeout(Duration::from_secs(5), evaluate(&held.router))
            .await
            .expect("the answer does not wait for the shadow");
        assert_answered_locally(answer);
        assert_eq!(counts.total("shadow_requests_total", "mismatch"), 0);
        held.release.notify_one();
        counts
            .wait_for("shadow_requests_total", "mismatch", 1)
            .await;
    });
}

#[test]
fn a_shadow_past_its_timeout_counts_as_an_error() {
    with_shadow_slots(|counts| async move {
        let held = held_shadow(0.3).await;
        assert_answered_locally(evaluate(&held.router).await);
        counts.wait_for("shadow_requests_total", "error", 1).await;
        held.release.notify_one();
        assert_eq!(counts.total("shadow_requests_total", "mismatch"), 0);
    });
}

#[test]
fn busy_shadow_slots_skip_the_comparison_and_count_it() {
    with_shadow_slots(|counts| async move {
        let python = FakePython::start(|| async { python_answer() }).await;
        let (_dir, router) = app(|m| {
            m.shadow = true;
            m.url = python.url.clone();
        });
        let held = SHADOW_SLOTS
            .try_acquire_many(SHADOW_CONCURRENCY as u32)
            .expect("no shadow in flight");
        assert_answered_locally(evaluate(&router).await);
        assert_eq!(counts.total("shadow_requests_total", "skipped"), 1);
        drop(held);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(python.received().is_empty());
        assert_eq!(counts.total("shadow_requests_total", "match"), 0);
        assert_eq!(counts.total("shadow_requests_total", "mismatch"), 0);
    });
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_before_either_side_sees_them() {
    let python = FakePython::start(|| async { python_answer() }).await;
    let (_dir, router) = app(|m| {
        m.primary = Primary::Python;
        m.url = python.url.clone();
    });
    let limit = Config::default().server.max_body_bytes;
    let request = Request::builder()
        .method("POST")
        .uri("/evaluator/evaluate")
        .body(Body::from(vec![b' '; limit + 1]))
        .unwrap();
    let (status, _, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(python.received().is_empty());
}
