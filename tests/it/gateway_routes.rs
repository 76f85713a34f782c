//! The gateway's own routes: the reverse proxy of the Python services (pass-through, breaker,
//! timeout, unconfigured), the compatibility status and health routes, the trading cycle, and
//! the event stream.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use trading_planner::config::Config;
use trading_planner::domain::{Currency, Money};
use trading_planner::events::{Event, EventHub, Progress};
use trading_planner::gateway::{AppState, router};
use trading_planner::store::{PlanStatus, Store, TradingMode};

use crate::common;
use crate::fake_upstreams::{FakeKind, FakeUpstream};

fn static_health() -> Value {
    json!({"healthy": true, "version": "1.0.0", "status": "OK", "checks": {}})
}

fn state_with(config: Config) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    (dir, AppState::new(config, store).unwrap())
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn send(router: &axum::Router, request: Request<Body>) -> (u16, String, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

// ---------------------------------------------------------------------------------------------
// Reverse proxy

#[tokio::test]
async fn the_proxy_passes_a_request_through_to_the_python_service() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let mut config = Config::default();
    config.upstream.scoring.url = fake.url();
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));

    let (status, content_type, body) = send(
        &router,
        Request::get("/scoring/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, json_of(&body)), (200, static_health()));
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );

    fake.clear_requests();
    let request = Request::post("/scoring/score?source=proxy&n=2")
        .header("content-type", "application/json")
        .header("x-request-id", "proxy-test-1")
        .header("authorization", "Bearer not-for-upstream")
        .body(Body::from(
            r#"{"symbol": "AAPL.US", "isin": "US0378331005"}"#,
        ))
        .unwrap();
    let (status, _, body) = send(&router, request).await;
    assert_eq!(status, 200);
    let answer = json_of(&body);
    assert_eq!(answer["found"], true, "{answer}");
    assert_eq!(answer["score"]["symbol"], "AAPL.US");
    assert_eq!(answer["score"]["isin"], "US0378331005");

    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["path"], "/scoring/score");
    assert_eq!(seen[0]["query"], "source=proxy&n=2");
    assert_eq!(
        seen[0]["body"],
        json!({"symbol": "AAPL.US", "isin": "US0378331005"})
    );
    assert_eq!(seen[0]["headers"]["x-request-id"], "proxy-test-1");

    // The service's own errors come back unchanged: status, body and content type.
    let (status, _, body) = send(
        &router,
        Request::get("/scoring/nowhere")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["detail"], "Not Found");
    fake.set_fault_on("http500", None, &["/scoring/score"]);
    let (status, content_type, body) = send(
        &router,
        Request::post("/scoring/score")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"symbol": "AAPL.US"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(body, b"Internal Server Error");
}

/// What a local stand-in of a Python service received: the headers, then the body.
async fn echo(request: axum::extract::Request) -> axum::Json<Value> {
    let headers: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(v.to_str().unwrap_or("?"))))
        .collect();
    let uri = request.uri().to_string();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    axum::Json(json!({
        "uri": uri,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn serve_locally(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn the_proxy_forwards_only_payload_headers_and_the_request_id() {
    let url = serve_locally(axum::Router::new().fallback(echo)).await;
    let mut config = Config::default();
    config.upstream.portfolio.url = url;
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));
    let request = Request::put("/portfolio/positions/sync?account_id=default")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("authorization", "Bearer secret-token")
        .header("cookie", "session=1")
        .header("x-request-id", "abc-123")
        .body(Body::from("[1, 2]"))
        .unwrap();
    let (status, _, body) = send(&router, request).await;
    assert_eq!(status, 200);
    let seen = json_of(&body);
    assert_eq!(seen["uri"], "/portfolio/positions/sync?account_id=default");
    assert_eq!(seen["body"], "[1, 2]");
    let headers = seen["headers"].as_object().unwrap();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["x-request-id"], "abc-123");
    assert!(!headers.contains_key("authorization"), "{headers:?}");
    assert!(!headers.contains_key("cookie"), "{headers:?}");

    // The bare prefix is proxied too.
    let (status, _, body) = send(
        &router,
        Request::get("/portfolio").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["uri"], "/portfolio");
}

#[tokio::test]
async fn the_proxy_streams_the_answer_as_it_arrives() {
    async fn slow() -> Body {
        let chunks = futures_util::stream::unfold(0u32, |n| async move {
            if n == 3 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(format!("chunk{n};")), n + 1))
        });
        Body::from_stream(chunks)
    }
    let url =
        serve_locally(axum::Router::new().route("/trading/stream", axum::routing::get(slow))).await;
    let mut config = Config::default();
    config.upstream.trading.url = url;
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));
    let response = router
        .oneshot(Request::get("/trading/stream").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames.push(String::from_utf8(data.to_vec()).unwrap());
        }
    }
    assert_eq!(frames.concat(), "chunk0;chunk1;chunk2;");
    assert!(
        frames.len() >= 2,
        "the answer came in one piece: {frames:?}"
    );
}

#[tokio::test]
async fn an_unconfigured_service_answers_503_json() {
    let (_dir, router) = common::empty_router();
    let (status, body) = common::call(
        &router,
        "GET",
        "/universe/securities?tradable_only=true",
        "",
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"detail": "universe is not configured (upstream.universe.url)"})
    );
    let (status, body) = common::call(&router, "POST", "/optimization/allocation", "{}").await;
    assert_eq!(status, 503);
    assert_eq!(
        body["detail"],
        "optimization is not configured (upstream.optimization.url)"
    );
}

#[tokio::test]
async fn an_open_breaker_answers_503_without_touching_the_network() {
    let port = closed_port();
    let mut config = Config::default();
    config.upstream.universe.url = format!("http://127.0.0.1:{port}");
    config.upstream.universe.breaker_failures = 2;
    config.upstream.universe.breaker_open_secs = 60.0;
    let (_dir, router) = {
        let (dir, state) = state_with(config);
        (dir, router(Arc::new(state)))
    };
    for _ in 0..2 {
        let (status, body) = common::call(&router, "GET", "/universe/health", "").await;
        assert_eq!(status, 502, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("universe is unreachable"),
            "{body}"
        );
    }
    // Something listens now: a call that reached the network would be seen.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (status, body) = common::call(&router, "GET", "/universe/securities", "").await;
    assert_eq!(status, 503, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("universe is unavailable: circuit open after 2 failures; retrying in "),
        "{detail}"
    );
    assert!(detail.ends_with(" s"), "{detail}");
    let (status, _) = common::call(&router, "POST", "/universe/sync/prices", "{}").await;
    assert_eq!(status, 503);
    assert_eq!(
        listener.accept().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "the open breaker let a call through"
    );

    // The status route reports it, without making the system unhealthy.
    let (status, body) = common::call(&router, "GET", "/gateway/status", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["system_healthy"], true);
    let universe = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_name"] == "universe")
        .expect("universe listed")
        .clone();
    assert_eq!(universe["healthy"], false);
    assert!(
        universe["status_message"]
            .as_str()
            .unwrap()
            .contains("circuit open after 2 failures"),
        "{universe}"
    );
    assert!(
        body["overall_message"]
            .as_str()
            .unwrap()
            .starts_with("degraded: universe: circuit open"),
        "{body}"
    );
}

#[tokio::test]
async fn a_slow_service_answers_504_json() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    fake.set_fault("delay", Some(2_000));
    let mut config = Config::default();
    config.upstream.scoring.url = fake.url();
    config.upstream.scoring.timeout_secs = 0.2;
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));
    let (status, body) = common::call(&router, "GET", "/scoring/health", "").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["detail"], "scoring did not answer within 0.2 s");
}

#[tokio::test]
async fn an_oversized_proxied_body_is_refused_before_it_is_sent() {
    let fake = FakeUpstream::start(FakeKind::Scoring);
    let mut config = Config::default();
    config.upstream.scoring.url = fake.url();
    config.server.max_body_bytes = 1024;
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));
    fake.clear_requests();
    let big = format!(r#"{{"symbol": "{}"}}"#, "A".repeat(2000));
    let (status, body) = common::call(&router, "POST", "/scoring/score", big).await;
    assert_eq!(status, 413, "{body}");
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Status and health

#[tokio::test]
async fn module_healths_are_static() {
    let (_dir, router) = common::empty_router();
    for module in [
        "evaluator",
        "opportunity",
        "generator",
        "coordinator",
        "planning",
        "gateway",
    ] {
        let (status, body) = common::call(&router, "GET", &format!("/{module}/health"), "").await;
        assert_eq!((status, body), (200, static_health()), "{module}");
    }
}

#[tokio::test]
async fn the_status_lists_the_modules_and_the_configured_services() {
    let mut config = Config::default();
    config.upstream.scoring.url = format!("http://127.0.0.1:{}", closed_port());
    config.upstream.optimization.url = format!("http://127.0.0.1:{}", closed_port());
    let (_dir, state) = state_with(config);
    let router = router(Arc::new(state));
    let (status, content_type, bytes) =
        common::call_raw(&router, "GET", "/gateway/status", "").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with(r#"{"system_healthy":true,"services":[{"service_name":"evaluator","healthy":true,"version":""#),
        "{text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "evaluator",
            "opportunity",
            "generator",
            "coordinator",
            "planning",
            "gateway",
            "scoring",
            "optimization"
        ]
    );
    for service in body["services"].as_array().unwrap() {
        assert_eq!(service["healthy"], true, "{service}");
        let keys: Vec<&String> = service.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["healthy", "service_name", "status_message", "version"],
            "{service}"
        );
    }
    assert_eq!(body["services"][0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["services"][6]["version"], "");
    assert_eq!(body["overall_message"], "healthy");
}

#[tokio::test]
async fn one_service_health_is_found_or_not() {
    let (_dir, router) = common::empty_router();
    let (status, body) =
        common::call(&router, "GET", "/gateway/services/planning/health", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["found"], true);
    assert_eq!(body["status"]["service_name"], "planning");
    assert_eq!(body["status"]["healthy"], true);

    let (status, body) =
        common::call(&router, "GET", "/gateway/services/unknown-svc_2/health", "").await;
    assert_eq!(
        (status, body),
        (200, json!({"found": false, "status": null}))
    );

    // Not configured, so not listed.
    let (_, body) = common::call(&router, "GET", "/gateway/services/universe/health", "").await;
    assert_eq!(body["found"], false);

    for bad in ["Planning", "9lives", "a.b", "_x"] {
        let (status, body) = common::call(
            &router,
            "GET",
            &format!("/gateway/services/{bad}/health"),
            "",
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(
            body,
            json!({"detail": [{
                "type": "string_pattern_mismatch",
                "loc": ["path", "service_name"],
                "msg": "String should match pattern '^[a-z][a-z0-9_-]*$'",
                "input": bad,
                "ctx": {"pattern": "^[a-z][a-z0-9_-]*$"}
            }]}),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Trading cycle

#[tokio::test]
async fn bad_trading_cycle_input_is_422_and_writes_nothing() {
    let (dir, state) = state_with(Config::default());
    let store = Arc::clone(&state.store);
    let router = router(Arc::new(state));
    for (what, body, kind) in [
        ("malformed JSON", r#"{"force": tr"#, "json_invalid"),
        ("empty body", "", "missing"),
        ("force not a bool", r#"{"force": [true]}"#, "bool_type"),
        (
            "deposit not a number",
            r#"{"deposit_amount": {"eur": 5}}"#,
            "float_type",
        ),
        ("not an object", "[1]", "model_attributes_type"),
    ] {
        let (status, answer) = common::call(&router, "POST", "/gateway/trading-cycle", body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        let detail = &answer["detail"][0];
        assert_eq!(detail["type"], kind, "{what}: {answer}");
    }
    assert_eq!(store.cash_balance(Currency::EUR).unwrap(), None);
    assert!(store.plans(10).unwrap().is_empty());
    assert_eq!(store.planning_run(1).unwrap(), None);
    drop(dir);
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events

fn progress(run_id: i64, batches: u64) -> Event {
    Event::PlanningProgress(Progress {
        run_id,
        phase: "evaluating",
        batches,
        sequences_evaluated: batches * 10,
        best_score: Some(0.5),
        elapsed_secs: 0.1,
        sequences_expected: None,
    })
}

/// Reads body frames until `count` SSE messages (blank-line terminated) arrived.
async fn read_messages(body: &mut Body, count: usize) -> Vec<String> {
    let mut text = String::new();
    loop {
        let messages: Vec<String> = text
            .split("\n\n")
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        if text.ends_with("\n\n") && messages.len() >= count {
            return messages;
        }
        let frame = tokio::time::timeout(Duration::from_secs(30), body.frame())
            .await
            .expect("an event within 30 s")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
}

/// `event:` and `data:` of one message.
fn parse(message: &str) -> (String, Value) {
    let mut name = String::new();
    let mut data = String::new();
    for line in message.lines() {
        if let Some(v) = line.strip_prefix("event: ") {
            name = v.to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    (name, serde_json::from_str(&data).unwrap_or(Value::Null))
}

async fn subscribe(router: &axum::Router) -> axum::response::Response {
    router
        .clone()
        .oneshot(Request::get("/api/events").body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn events_arrive_in_order_with_their_names() {
    let (_dir, state) = state_with(Config::default());
    let state = Arc::new(state);
    let router = router(Arc::clone(&state));
    let response = subscribe(&router).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert_eq!(state.events.subscriber_count(), 1);

    state.events.publish(progress(7, 1));
    state.events.publish(progress(7, 2));
    state.events.publish(Event::UpstreamState {
        service: "scoring".into(),
        breaker: "open".into(),
    });
    state.events.publish(Event::PlanningFinished {
        run_id: 7,
        status: "succeeded",
        plan_id: Some(3),
        error: None,
    });
    let mut body = response.into_body();
    let messages = read_messages(&mut body, 4).await;
    let parsed: Vec<(String, Value)> = messages.iter().map(|m| parse(m)).collect();
    let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "planning_progress",
            "planning_progress",
            "upstream_state",
            "planning_finished"
        ]
    );
    assert_eq!(parsed[0].1["batches"], 1);
    assert_eq!(parsed[1].1["batches"], 2);
    assert_eq!(parsed[1].1["type"], "planning_progress");
    assert_eq!(
        parsed[2].1,
        json!({"type": "upstream_state", "service": "scoring", "breaker": "open"})
    );
    assert_eq!(parsed[3].1["plan_id"], 3);

    drop(body);
    assert_eq!(state.events.subscriber_count(), 0, "the slot is freed");
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_how_many_it_missed() {
    let (_dir, state) = state_with(Config::default());
    let state = Arc::new(state);
    let router = router(Arc::clone(&state));
    let response = subscribe(&router).await;
    // More than the hub buffers per subscriber, before the subscriber reads any.
    for n in 0..300 {
        state.events.publish(progress(1, n));
    }
    let mut body = response.into_body();
    let messages = read_messages(&mut body, 2).await;
    let (name, data) = parse(&messages[0]);
    assert_eq!(name, "lagged");
    let missed = data["missed"].as_u64().unwrap();
    assert!(missed > 0 && missed < 300, "{data}");
    let (name, data) = parse(&messages[1]);
    assert_eq!(name, "planning_progress");
    assert_eq!(
        data["batches"].as_u64().unwrap(),
        missed,
        "continues after the gap"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_gets_heartbeats() {
    let (_dir, state) = state_with(Config::default());
    let router = router(Arc::new(state));
    let response = subscribe(&router).await;
    let mut body = response.into_body();
    let started = tokio::time::Instant::now();
    let messages = read_messages(&mut body, 1).await;
    assert_eq!(messages[0], ": heartbeat");
    assert!(started.elapsed() >= trading_planner::gateway::sse::HEARTBEAT);
}

#[tokio::test]
async fn subscribers_beyond_the_cap_get_503_json() {
    let (_dir, mut state) = state_with(Config::default());
    state.events = Arc::new(EventHub::new(1));
    let state = Arc::new(state);
    let router = router(Arc::clone(&state));
    let first = subscribe(&router).await;
    assert_eq!(first.status(), 200);

    let (status, content_type, body) = send(
        &router,
        Request::get("/api/events").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(content_type, "application/json");
    assert!(
        json_of(&body)["detail"]
            .as_str()
            .unwrap()
            .starts_with("too many event subscribers"),
    );

    drop(first);
    let again = subscribe(&router).await;
    assert_eq!(again.status(), 200, "a slot frees when a subscriber leaves");
}

fn demo_state(mode: TradingMode) -> (tempfile::TempDir, AppState) {
    let mut config = Config::default();
    config.planner.max_depth = 3;
    config.planner.time_budget_secs = 5.0;
    let (dir, state) = state_with(config);
    trading_planner::demo::load_if_empty(&state.store)
        .unwrap()
        .expect("an empty store takes the demo data");
    state.store.set_trading_mode(mode).unwrap();
    (dir, state)
}

#[tokio::test]
async fn a_trading_cycle_plans_and_executes_in_research_mode() {
    let (_dir, state) = demo_state(TradingMode::Research);
    let store = Arc::clone(&state.store);
    let router = router(Arc::new(state));
    let (status, body) = common::call(
        &router,
        "POST",
        "/gateway/trading-cycle",
        r#"{"force": true, "ignored": 1}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true, "{body}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cycle_id", "final_update", "message", "success"]);
    let update = &body["final_update"];
    assert_eq!(update["cycle_id"], body["cycle_id"]);
    assert_eq!(update["phase"], "Complete");
    assert_eq!(update["progress_pct"], 100.0);
    assert_eq!(update["complete"], true);
    assert_eq!(update["success"], true);
    assert_eq!(update["error"], Value::Null);
    let results = update["results"].as_object().unwrap();
    assert_eq!(results["mode"], "research");
    assert_eq!(results["placed"], "0", "research mode never calls a broker");
    let count = |key: &str| results[key].as_str().unwrap().parse::<usize>().unwrap();
    let plan_id: i64 = results["plan_id"].as_str().unwrap().parse().unwrap();
    let plan = store.plan(plan_id).unwrap().unwrap();
    assert_eq!(count("steps"), plan.plan.steps.len());
    assert!(
        count("steps") > 0,
        "the demo portfolio has something to do: {body}"
    );
    assert_eq!(
        count("filled") + count("skipped") + count("already_executed"),
        count("steps"),
        "{body}"
    );
    assert_eq!(plan.status, PlanStatus::Executed);
    let fills = (0..plan.plan.steps.len())
        .filter(|n| {
            store
                .trade_by_idempotency_key(&format!("plan-{plan_id}-step-{n}"))
                .unwrap()
                .is_some()
        })
        .count();
    assert_eq!(fills, count("filled"));

    // The same plan is never executed twice; a new cycle makes a new plan.
    let (status, again) = common::call(&router, "POST", "/gateway/trading-cycle", "{}").await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["cycle_id"], body["cycle_id"]);
}

/// Planning runs recorded so far (ids count up from 1).
fn runs(store: &Store) -> usize {
    (1..)
        .take_while(|id| store.planning_run(*id).unwrap().is_some())
        .count()
}

#[tokio::test]
async fn a_deposit_is_added_to_the_eur_cash_in_research_mode_only() {
    let (_dir, state) = state_with(Config::default());
    let store = Arc::clone(&state.store);
    let router = router(Arc::new(state));
    let (status, body) = common::call(
        &router,
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 1000.505}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        store.cash_balance(Currency::EUR).unwrap(),
        Some(Money::from_minor(100_050, Currency::EUR)),
        "rounded half-even to the cent: {body}"
    );
    // A zero deposit changes nothing; a negative one is refused, naming the field.
    for (amount, expected) in [("0", 200), ("-5", 422)] {
        let (status, body) = common::call(
            &router,
            "POST",
            "/gateway/trading-cycle",
            format!(r#"{{"deposit_amount": {amount}}}"#),
        )
        .await;
        assert_eq!(status, expected, "{body}");
        if expected == 422 {
            assert!(body.to_string().contains("deposit_amount"), "{body}");
        }
    }
    assert_eq!(
        store.cash_balance(Currency::EUR).unwrap(),
        Some(Money::from_minor(100_050, Currency::EUR))
    );

    store.set_trading_mode(TradingMode::Live).unwrap();
    let runs_before = runs(&store);
    let (status, body) = common::call(
        &router,
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 50}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["final_update"], Value::Null);
    assert!(
        body["message"].as_str().unwrap().contains("live mode"),
        "{body}"
    );
    assert_eq!(
        store.cash_balance(Currency::EUR).unwrap(),
        Some(Money::from_minor(100_050, Currency::EUR))
    );
    assert_eq!(runs(&store), runs_before, "no run started");
    // The ledger has the one deposit that reached the cash.
    let deposits: Vec<Money> = store.deposits().unwrap().iter().map(|d| d.amount).collect();
    assert_eq!(deposits, [Money::from_minor(100_050, Currency::EUR)]);
}

#[tokio::test]
async fn a_cycle_while_a_run_is_going_is_409_and_deposits_nothing() {
    let (_dir, state) = demo_state(TradingMode::Research);
    let state = Arc::new(state);
    let store = Arc::clone(&state.store);
    let cash_before = store.cash_balance(Currency::EUR).unwrap();
    let router = router(Arc::clone(&state));

    // A run held at its first progress report until the test lets it go.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let runner = Arc::clone(&state.runner);
    let held = std::thread::spawn(move || {
        let mut first = true;
        runner
            .run_here(chrono::Local::now().naive_local(), &mut |progress| {
                if std::mem::take(&mut first) {
                    entered_tx.send(progress.run_id).unwrap();
                    let _ = release_rx.recv();
                }
            })
            .unwrap()
    });
    let run_id = entered_rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let (status, body) = common::call(
        &router,
        "POST",
        "/gateway/trading-cycle",
        r#"{"deposit_amount": 250}"#,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["run_id"], run_id);
    assert!(
        body["detail"].as_str().unwrap().contains("already running"),
        "{body}"
    );
    assert_eq!(store.cash_balance(Currency::EUR).unwrap(), cash_before);
    assert!(
        store.deposits().unwrap().is_empty(),
        "no deposit in the ledger"
    );

    release_tx.send(()).unwrap();
    let outcome = tokio::task::spawn_blocking(move || held.join().unwrap())
        .await
        .unwrap();
    assert_eq!(outcome.run_id, run_id);
}
