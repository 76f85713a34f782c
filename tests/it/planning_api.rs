//! Native planning end to end: through `/api` on the demo data, through the command line, and
//! against the fake Python services, up and then down.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use trading_planner::config::Config;
use trading_planner::gateway::{AppState, router};
use trading_planner::store::Store;

use crate::cli::run_cli_ok;
use crate::common;
use crate::fake_upstreams::{FakeKind, FakeUpstream};
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{all_fresh_from, fast_sync_env, service_report};

fn demo_state() -> (tempfile::TempDir, Arc<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    trading_planner::demo::load_if_empty(&store)
        .unwrap()
        .unwrap();
    let state = AppState::new(Config::default(), Arc::new(store)).unwrap();
    (dir, Arc::new(state))
}

async fn wait_for_run(router: &axum::Router, run_id: i64) -> Value {
    for _ in 0..500 {
        let (status, body) = common::call(router, "GET", &format!("/api/runs/{run_id}"), "").await;
        assert_eq!(status, 200, "{body}");
        if body["state"] == "finished" {
            return body["outcome"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run_id} did not finish");
}

/// Plans are scored 0–100 wherever they are shown: the native API, its narrative, and the
/// planning service's `Plan.score`.
#[tokio::test]
async fn a_native_plan_has_one_score_scale_everywhere() {
    let (_dir, state) = demo_state();
    let app = router(Arc::clone(&state));
    let (_, started) = common::call(&app, "POST", "/api/plans", "").await;
    let outcome = wait_for_run(&app, started["run_id"].as_i64().unwrap()).await;
    let plan_id = outcome["plan_id"].as_i64().unwrap();
    let (_, plan) = common::call(&app, "GET", &format!("/api/plans/{plan_id}"), "").await;
    let (before, after) = (
        plan["score_before"].as_f64().unwrap(),
        plan["score_after"].as_f64().unwrap(),
    );
    assert!(1.0 < before && before < after && after <= 100.0, "{plan}");
    assert_eq!(plan["details"]["score_after"], plan["score_after"]);
    let narrative = plan["details"]["narrative"].as_str().unwrap();
    assert!(
        narrative.contains(&format!("a plan score from {before:.1} to {after:.1}")),
        "{narrative}"
    );
    let (_, compat) = common::call(&app, "GET", &format!("/planning/plans/{plan_id}"), "").await;
    assert_eq!(compat["plan"]["score"].as_f64(), Some(after));
}

#[tokio::test]
async fn a_plan_through_the_api_on_the_demo_data() {
    let (_dir, state) = demo_state();
    let app = router(Arc::clone(&state));
    let (status, body) = common::call(&app, "GET", "/api/plans/latest", "").await;
    assert_eq!(status, 404, "{body}");

    let (status, started) = common::call(&app, "POST", "/api/plans", "").await;
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_i64().unwrap();
    let outcome = wait_for_run(&app, run_id).await;
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    let plan_id = outcome["plan_id"].as_i64().unwrap();

    let (status, plan) = common::call(&app, "GET", "/api/plans/latest", "").await;
    assert_eq!(status, 200);
    assert_eq!(plan["id"], plan_id);
    let steps = plan["steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.len() <= 5, "{plan}");
    assert!(plan["score_after"].as_f64() > plan["score_before"].as_f64());
    for step in steps {
        assert!(!step["narrative"].as_str().unwrap().is_empty());
    }
    assert!(plan["details"]["narrative"].is_string());
    assert!(plan["details"]["rejected"].is_array());
    assert_eq!(plan["portfolio_hash"].as_str().unwrap().len(), 64);

    let (status, list) = common::call(&app, "GET", "/api/plans?limit=5", "").await;
    assert_eq!(status, 200);
    assert_eq!(list["plans"][0]["id"], plan_id);
    let (status, same) = common::call(&app, "GET", &format!("/api/plans/{plan_id}"), "").await;
    assert_eq!((status, &same["steps"]), (200, &plan["steps"]));

    // The same data gives the same plan.
    let (_, again) = common::call(&app, "POST", "/api/plans", "{}").await;
    let outcome = wait_for_run(&app, again["run_id"].as_i64().unwrap()).await;
    let (_, second) = common::call(
        &app,
        "GET",
        &format!("/api/plans/{}", outcome["plan_id"]),
        "",
    )
    .await;
    assert_eq!(second["steps"], plan["steps"]);
    assert_eq!(second["portfolio_hash"], plan["portfolio_hash"]);

    let (status, portfolio) = common::call(&app, "GET", "/api/portfolio", "").await;
    assert_eq!(status, 200);
    let positions = portfolio["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 14);
    let targets: f64 = positions
        .iter()
        .map(|p| {
            p["target_weight"]
                .as_f64()
                .expect("every demo country has a group target")
        })
        .sum();
    assert!(targets > 0.0 && targets <= 1.0 + 1e-9, "{targets}");
    let weights: f64 = positions
        .iter()
        .map(|p| p["weight"].as_f64().unwrap())
        .sum();
    assert!(
        weights > 0.9 && weights < 1.0,
        "cash is the rest: {weights}"
    );
    assert_eq!(portfolio["trading_mode"], "research");
    let (status, securities) = common::call(&app, "GET", "/api/securities", "").await;
    assert_eq!(status, 200);
    assert_eq!(securities["securities"].as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn a_second_run_gets_409_and_a_run_can_be_cancelled() {
    let (_dir, state) = demo_state();
    let app = router(Arc::clone(&state));
    // Hold a run in its first progress report, so it is surely running.
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let runner = Arc::clone(&state.runner);
    let held = std::thread::spawn(move || {
        let mut first = true;
        runner
            .run_here(chrono::Local::now().naive_local(), &mut |_| {
                if first {
                    first = false;
                    entered_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                }
            })
            .unwrap()
    });
    entered_rx.recv().unwrap();
    let run_id = state.runner.current().unwrap().run_id;

    let (status, body) = common::call(&app, "POST", "/api/plans", "").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["run_id"], run_id);
    assert!(body["detail"].as_str().unwrap().contains("already running"));
    let (status, current) = common::call(&app, "GET", "/api/runs/current", "").await;
    assert_eq!(
        (status, &current["progress"]["run_id"]),
        (200, &run_id.into())
    );

    let (status, body) = common::call(&app, "POST", "/api/runs/current/cancel", "").await;
    assert_eq!(status, 202, "{body}");
    release_tx.send(()).unwrap();
    let outcome = tokio::task::spawn_blocking(move || held.join().unwrap())
        .await
        .unwrap();
    assert_eq!(outcome.status, "cancelled");
    assert_eq!(outcome.plan_id, None);
    let (_, stored) = common::call(&app, "GET", &format!("/api/runs/{run_id}"), "").await;
    assert_eq!(stored["outcome"]["status"], "cancelled");
    let (status, _) = common::call(&app, "GET", "/api/plans/latest", "").await;
    assert_eq!(status, 404, "a cancelled run keeps no plan");
    let (status, body) = common::call(&app, "POST", "/api/runs/current/cancel", "").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn progress_events_arrive_in_order() {
    let (_dir, state) = demo_state();
    let mut subscription = state.events.subscribe().unwrap();
    let runner = Arc::clone(&state.runner);
    let outcome = tokio::task::spawn_blocking(move || {
        runner
            .run_here(chrono::Local::now().naive_local(), &mut |_| {})
            .unwrap()
    })
    .await
    .unwrap();
    let mut phases = Vec::new();
    let mut evaluated = 0;
    loop {
        match subscription.receiver.try_recv() {
            Ok(trading_planner::events::Event::PlanningProgress(p)) => {
                assert!(p.sequences_evaluated >= evaluated, "progress went back");
                evaluated = p.sequences_evaluated;
                if phases.last() != Some(&p.phase) {
                    phases.push(p.phase);
                }
            }
            Ok(trading_planner::events::Event::PlanningFinished {
                run_id, plan_id, ..
            }) => {
                assert_eq!(run_id, outcome.run_id);
                assert_eq!(plan_id, outcome.plan_id);
                break;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => panic!("no finish event: {e}"),
        }
    }
    assert_eq!(phases, ["snapshot", "targets", "searching", "done"]);
}

#[tokio::test]
async fn bad_input_on_the_api_is_a_clear_4xx_and_writes_nothing() {
    let (_dir, state) = demo_state();
    let app = router(Arc::clone(&state));
    let cases = [
        ("POST", "/api/plans", "{not json", 400),
        ("POST", "/api/plans", r#"{"depth": 3}"#, 400),
        ("GET", "/api/plans/abc", "", 422),
        ("GET", "/api/plans/999", "", 404),
        ("GET", "/api/plans?limit=0", "", 422),
        ("GET", "/api/runs/x", "", 422),
        ("POST", "/api/runs/7/cancel", "", 404),
        ("PUT", "/api/settings", "{}", 422),
        ("PUT", "/api/settings", r#"{"beam_width": 5}"#, 422),
        ("PUT", "/api/settings", r#"{"max_plan_depth": 0}"#, 422),
        ("PUT", "/api/settings", r#"{"trading_mode": "yolo"}"#, 422),
        (
            "PUT",
            "/api/settings",
            r#"{"transaction_cost_percent": "0.1"}"#,
            422,
        ),
        ("PUT", "/api/settings", "[1]", 422),
    ];
    let before = state.store.settings().unwrap();
    for (method, path, body, expected) in cases {
        let (status, answer) = common::call(&app, method, path, body).await;
        assert_eq!(status, expected, "{method} {path} {body}: {answer}");
        assert!(
            answer["detail"].is_string() || answer["detail"].is_array(),
            "{answer}"
        );
    }
    assert_eq!(state.store.settings().unwrap(), before);
    assert!(state.store.plans(10).unwrap().is_empty());

    // A mixed update is all or nothing.
    let (status, _) = common::call(
        &app,
        "PUT",
        "/api/settings",
        r#"{"max_plan_depth": 3, "min_hold_days": -1}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(state.store.settings().unwrap(), before);
    let (status, settings) = common::call(
        &app,
        "PUT",
        "/api/settings",
        r#"{"max_plan_depth": 3, "trading_mode": "research"}"#,
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    let depth = settings["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "max_plan_depth")
        .unwrap();
    assert_eq!(depth["value"], "3");
}

#[test]
fn a_plan_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = run_cli_ok(&["plan", "--data-dir", data]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Score "), "{text}");
    assert!(text.contains(" BUY ") || text.contains(" SELL "), "{text}");
    let out = run_cli_ok(&["plan", "--json", "--data-dir", data]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!plan["steps"].as_array().unwrap().is_empty(), "{plan}");
    assert_eq!(plan["id"], 2);
}

/// The binary's token, generated into the data directory on first start.
fn token(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("access-token"))
        .unwrap()
        .trim()
        .to_string()
}

fn start_plan(server: &ServerProcess, token: &str) -> Value {
    let (status, body) = server.request("POST", "/api/plans", "", Some(token));
    assert_eq!(status, 202, "{body}");
    let run_id = body["run_id"].as_i64().unwrap();
    wait_for(Duration::from_secs(30), "the planning run", || {
        let (_, run) = server.get(&format!("/api/runs/{run_id}"));
        (run["state"] == "finished").then(|| run["outcome"].clone())
    })
}

#[test]
fn a_plan_with_the_python_services_up_and_then_down() {
    let tradernet = FakeUpstream::start(FakeKind::Tradernet);
    let dir = tempfile::tempdir().unwrap();
    // The scoring service's metrics live in its calculations.db, which the binary reads.
    let calculations = dir.path().join("calculations.db");
    let scoring = FakeUpstream::start_with(
        FakeKind::Scoring,
        &["--calculations-db", calculations.to_str().unwrap()],
    );
    let mut env = fast_sync_env(FakeKind::Tradernet, &tradernet.url());
    env.extend(fast_sync_env(FakeKind::Scoring, &scoring.url()));
    env.push((
        "TRADING_PLANNER_FEEDS__CALCULATIONS_DB",
        calculations.display().to_string(),
    ));
    let server = ServerProcess::start(dir.path(), &env);
    let token = token(dir.path());
    wait_for(Duration::from_secs(20), "a complete sync", || {
        (all_fresh_from(&service_report(&server, "tradernet"), "tradernet")
            && all_fresh_from(&service_report(&server, "scoring"), "scoring"))
        .then_some(())
    });
    let outcome = start_plan(&server, &token);
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    assert_eq!(outcome["stale_data"], serde_json::json!([]), "{outcome}");

    drop(tradernet);
    drop(scoring);
    // Stale data a plan is made from: the broker's other feeds may go stale first.
    wait_for(
        Duration::from_secs(20),
        "the plan's data to go stale",
        || {
            let report = service_report(&server, "tradernet");
            report["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| {
                    ["positions", "cash", "quotes"].contains(&d["kind"].as_str().unwrap_or(""))
                        && d["stale"] == true
                })
                .then_some(())
        },
    );
    let outcome = start_plan(&server, &token);
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    assert!(
        !outcome["stale_data"].as_array().unwrap().is_empty(),
        "{outcome}"
    );
    let (status, plan) = server.get("/api/plans/latest");
    assert_eq!(status, 200);
    assert!(
        !plan["details"]["data"]["stale"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
