//! Plans, steps and planning runs.

use serde_json::json;

use super::test_support::temp_store;
use super::*;
use crate::domain::{Currency, Money, Quantity, Side};

fn plan(hash: &str) -> NewPlan {
    NewPlan {
        portfolio_hash: hash.into(),
        score_before: Some(0.61),
        score_after: Some(0.64),
        body: json!({"rejected": [{"symbol": "KO.US", "reason": "sell_cooldown"}]}),
        steps: vec![
            PlanStepRecord {
                side: Side::Sell,
                symbol: "nvda.us".into(),
                quantity: Quantity::from_shares(3).unwrap(),
                value_eur: Money::parse("389.10", Currency::EUR).unwrap(),
                narrative: "Take profit on NVDA".into(),
                reason: "windfall".into(),
            },
            PlanStepRecord {
                side: Side::Buy,
                symbol: "SAP.EU".into(),
                quantity: Quantity::from_shares(1).unwrap(),
                value_eur: Money::parse("231.50", Currency::EUR).unwrap(),
                narrative: "Add to SAP".into(),
                reason: "quality".into(),
            },
        ],
    }
}

#[test]
fn a_plan_round_trips_with_its_steps_in_order() {
    let (_dir, store) = temp_store();
    let id = store.save_plan(&plan("abc")).unwrap();
    let stored = store.plan(id).unwrap().unwrap();
    assert_eq!(stored.status, PlanStatus::Proposed);
    assert_eq!(stored.plan.steps.len(), 2);
    assert_eq!(stored.plan.steps[0].symbol, "NVDA.US");
    assert_eq!(stored.plan.body["rejected"][0]["reason"], "sell_cooldown");
    store.set_plan_status(id, PlanStatus::Executed).unwrap();
    let second = store.save_plan(&plan("def")).unwrap();
    let newest: Vec<i64> = store.plans(10).unwrap().iter().map(|p| p.id).collect();
    assert_eq!(newest, [second, id]);
    assert!(store.set_plan_status(99, PlanStatus::Failed).is_err());
}

#[test]
fn an_invalid_step_stores_no_plan_at_all() {
    let (_dir, store) = temp_store();
    let mut bad = plan("abc");
    bad.steps[1].value_eur = Money::parse("-1", Currency::EUR).unwrap();
    assert!(store.save_plan(&bad).is_err());
    let mut nan = plan("abc");
    nan.score_after = Some(f64::NAN);
    assert!(store.save_plan(&nan).is_err());
    assert!(store.plans(10).unwrap().is_empty());
}

#[test]
fn planning_runs_finish_once_and_abandoned_ones_are_failed() {
    let (_dir, store) = temp_store();
    let run = store.start_planning_run().unwrap();
    let plan_id = store.save_plan(&plan("abc")).unwrap();
    store
        .finish_planning_run(run, RunStatus::Succeeded, 1234, Some(plan_id), None)
        .unwrap();
    assert!(
        store
            .finish_planning_run(run, RunStatus::Failed, 0, None, Some("again"))
            .is_err()
    );
    let finished = store.planning_run(run).unwrap().unwrap();
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(finished.sequences_evaluated, 1234);
    assert_eq!(finished.plan_id, Some(plan_id));

    let abandoned = store.start_planning_run().unwrap();
    assert_eq!(store.fail_abandoned_planning_runs().unwrap(), 1);
    let failed = store.planning_run(abandoned).unwrap().unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.error.is_some());
}
