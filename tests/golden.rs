//! Every recorded Python evaluator answer is reproduced by the library: same beam, same order,
//! same breakdown keys, every number within 1e-12.

mod common;

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
