//! Every recorded Python evaluator answer is reproduced by the library, the route and the CLI: same beam, same order,
//! same breakdown keys, every number within 1e-12.

use crate::common;
use trading_planner::evaluator::{EvaluateOptions, EvaluateSequencesRequest, evaluate_request};

#[test]
fn library_reproduces_every_golden_pair() {
    for (name, request, expected) in common::golden_pairs() {
        let req: EvaluateSequencesRequest = serde_json::from_value(request).expect(&name);
        assert!(req.validate().is_empty(), "{name}: request is valid");
        let metrics = common::scenario_metrics(&name);
        let response = evaluate_request(&req, &metrics, &EvaluateOptions::default());
        let actual = serde_json::to_value(&response).unwrap();
        if let Some(diff) = common::json_diff(&expected, &actual, 1e-12) {
            panic!("{name}: {diff}");
        }
    }
}

#[tokio::test]
async fn route_reproduces_every_golden_pair() {
    for (name, request, expected) in common::golden_pairs() {
        let (_dir, store) = common::store_with_metrics(&name);
        let router = common::router(trading_planner::config::Config::default(), store);
        let (status, actual) =
            common::call(&router, "POST", "/evaluator/evaluate", request.to_string()).await;
        assert_eq!(status, 200, "{name}: {actual}");
        if let Some(diff) = common::json_diff(&expected, &actual, 1e-12) {
            panic!("{name} through the route: {diff}");
        }
    }
}

#[test]
fn cli_reproduces_every_golden_pair() {
    let dir = tempfile::tempdir().unwrap();
    for (name, request, expected) in common::golden_pairs() {
        let request_path = dir.path().join(format!("{name}.json"));
        std::fs::write(&request_path, request.to_string()).unwrap();
        let metrics_path = common::write_scenario_metrics(dir.path(), &name);
        let (request_arg, metrics_arg) = (
            request_path.to_str().unwrap(),
            metrics_path.to_str().unwrap(),
        );
        let data = dir.path().to_str().unwrap();
        let out = crate::cli::run_cli_ok(&[
            "evaluate",
            request_arg,
            "--metrics",
            metrics_arg,
            "--data-dir",
            data,
        ]);
        let actual: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(diff) = common::json_diff(&expected, &actual, 1e-12) {
            panic!("{name} through the CLI: {diff}");
        }
    }
}

#[test]
fn cli_reads_metrics_from_the_store_after_import() {
    let (name, request, expected) = common::golden_pair("n025_default");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let metrics_path = common::write_scenario_metrics(dir.path(), &name);
    let out = crate::cli::run_cli_ok(&[
        "import",
        "metrics",
        metrics_path.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("for 25 symbols"), "{stdout}");
    let request_path = dir.path().join("request.json");
    std::fs::write(&request_path, request.to_string()).unwrap();
    let out = crate::cli::run_cli_ok(&[
        "evaluate",
        request_path.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    let actual: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::json_diff(&expected, &actual, 1e-12), None);
}
