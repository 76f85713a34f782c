use super::*;
use crate::domain::validation::decode_body;
use serde_json::{Value, json};

fn minimal() -> Value {
    json!({
        "portfolio_context": {"total_value_eur": 1000.0},
        "positions": [],
        "securities": [],
        "available_cash": 1000.0
    })
}

fn decode(body: &Value) -> CreatePlanRequest {
    decode_body(&serde_json::to_vec(body).unwrap()).unwrap()
}

#[test]
fn defaults_are_the_reference_defaults() {
    let r = decode(&minimal());
    let p = &r.parameters;
    assert_eq!((p.max_depth, p.beam_width, p.batch_size), (4, 10, 500));
    assert_eq!(
        (p.transaction_cost_fixed, p.transaction_cost_percent),
        (2.0, 0.002)
    );
    assert!(p.enable_combinatorial && p.enable_early_termination && !p.enable_monte_carlo);
    assert!(!p.enable_partial_execution && !p.enable_constraint_relaxation);
    assert_eq!((p.min_batches_to_evaluate, p.plateau_threshold), (2, 3));
    assert_eq!(r.evaluator_config.urls.len(), 3);
    assert_eq!(r.evaluator_config.urls[0], "http://localhost:8010");
    assert!(r.validate().is_empty());
    assert_eq!(PlanningParameters::field_names().len(), 29);
}

#[test]
fn every_bound_is_checked_in_field_order() {
    let mut body = minimal();
    body["parameters"] = json!({
        "max_depth": 0, "beam_width": 101, "batch_size": 9,
        "transaction_cost_fixed": -1.0, "transaction_cost_percent": 0.2,
        "max_opportunities_per_category": 21, "priority_threshold": 1.5,
        "combinatorial_max_combinations_per_depth": 9, "combinatorial_max_sells": 0,
        "combinatorial_max_buys": 11, "combinatorial_max_candidates": 3,
        "diversity_weight": -0.1, "min_batches_to_evaluate": 21, "plateau_threshold": 0,
        "monte_carlo_paths": 501, "cost_penalty_factor": 1.1
    });
    let errors = decode(&body).validate();
    let fields: Vec<&str> = errors.iter().map(|e| e.loc[2].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "max_depth",
            "beam_width",
            "batch_size",
            "transaction_cost_fixed",
            "transaction_cost_percent",
            "max_opportunities_per_category",
            "priority_threshold",
            "combinatorial_max_combinations_per_depth",
            "combinatorial_max_sells",
            "combinatorial_max_buys",
            "combinatorial_max_candidates",
            "diversity_weight",
            "min_batches_to_evaluate",
            "plateau_threshold",
            "monte_carlo_paths",
            "cost_penalty_factor"
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.loc[0] == "body" && e.loc[1] == "parameters")
    );
    assert_eq!(errors[0].kind, "greater_than_equal");
    assert_eq!(errors[1].kind, "less_than_equal");
}

#[test]
fn inputs_that_crashed_the_reference_are_located() {
    let mut body = minimal();
    body["positions"] = json!([{
        "symbol": " ", "quantity": -1, "average_cost": 0.0, "current_price": 1.0,
        "value_eur": 1.0, "currency": "EUR"
    }]);
    body["securities"] =
        json!([{"symbol": "A", "name": "", "current_price": 1.0, "currency": "EUR"}]);
    body["available_cash"] = json!(-5.0);
    body["evaluator_config"] = json!({"urls": []});
    let errors = decode(&body).validate();
    let locs: Vec<Value> = errors.iter().map(|e| Value::Array(e.loc.clone())).collect();
    assert_eq!(
        locs,
        [
            json!(["body", "positions", 0, "symbol"]),
            json!(["body", "positions", 0, "quantity"]),
            json!(["body", "positions", 0, "average_cost"]),
            json!(["body", "securities", 0, "name"]),
            json!(["body", "available_cash"]),
            json!(["body", "evaluator_config", "urls"]),
        ]
    );
}

fn action(side: Side, value: f64) -> ActionCandidate {
    ActionCandidate {
        side,
        symbol: "AAA".into(),
        name: "Alpha".into(),
        quantity: 3,
        price: value / 3.0,
        value_eur: value,
        currency: "EUR".into(),
        priority: 0.5,
        reason: "why".into(),
        tags: vec![],
    }
}

#[test]
fn an_empty_beam_is_the_no_plan_plan() {
    let plan = build_plan(None, 0, &PlanningParameters::default());
    assert_eq!(plan.narrative, NO_PLAN_NARRATIVE);
    assert!(!plan.feasible && plan.steps.is_empty());
    assert_eq!(serde_json::to_value(&plan.metadata).unwrap(), json!({}));
}

#[test]
fn steps_accumulate_costs_and_cash() {
    let p = PlanningParameters::default();
    let best = SequenceEvaluationResult {
        sequence: vec![action(Side::Sell, 1000.0), action(Side::Buy, 500.0)],
        end_state_score: 0.6,
        diversification_score: 0.4,
        risk_score: 0.5,
        total_score: 0.59,
        total_cost: 7.0,
        cash_required: 503.0,
        feasible: true,
        metrics: serde_json::from_value(json!({
            "error": "Invalid portfolio data",
            "multi_objective": {"end_score": 0.0, "diversification_score": 0.0,
                "risk_score": 0.0, "transaction_cost": 0.0}
        }))
        .unwrap(),
    };
    let plan = build_plan(Some(&best), 4, &p);
    assert_eq!(plan.narrative, "Execute 2 trades to optimize portfolio.");
    assert_eq!(plan.steps[0].step_number, 1);
    assert_eq!(plan.steps[0].narrative, "SELL 3 shares of Alpha (AAA)");
    assert_eq!(plan.steps[1].narrative, "BUY 3 shares of Alpha (AAA)");
    assert_eq!(plan.steps[0].cumulative_cost, 4.0);
    assert_eq!(plan.steps[0].cumulative_cash_change, 996.0);
    assert_eq!(plan.steps[1].cumulative_cost, 7.0);
    assert_eq!(plan.steps[1].cumulative_cash_change, 996.0 - 503.0);
    assert_eq!(
        serde_json::to_value(&plan.metadata).unwrap(),
        json!({"beam_size": 4, "best_sequence_length": 2})
    );
    assert_eq!(plan.total_score, 0.59);
}
