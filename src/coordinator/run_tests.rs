//! A native run on the demo data.

use std::sync::atomic::AtomicBool;

use super::*;
use crate::store::Store;

fn demo_snapshot() -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    crate::demo::load_if_empty(&store).unwrap().unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let snapshot = Snapshot::take(&store, now).unwrap();
    (dir, snapshot)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn the_demo_portfolio_gets_a_plan_that_beats_doing_nothing() {
    let (_dir, snapshot) = demo_snapshot();
    assert_eq!(snapshot.positions.len(), 14);
    assert!(snapshot.available_cash_eur > 0.0);
    let config = PlannerConfig::default();
    let mut phases = Vec::new();
    let result = plan(
        &snapshot,
        &config,
        4096,
        &pool(2),
        &AtomicBool::new(false),
        &mut |p| phases.push(p.phase),
    );
    assert!(!result.opportunities.is_empty(), "{:?}", result.rejected);
    let best = result.best.expect("a plan");
    assert!(best.score > result.score_before);
    assert!(!best.actions.is_empty() && best.actions.len() <= config.max_depth);
    assert!(result.sequences_evaluated > 0);
    assert_eq!(phases.first(), Some(&"opportunities"));
    assert_eq!(phases.last(), Some(&"done"));
}

#[test]
fn the_same_snapshot_gives_the_same_plan_on_any_thread_count() {
    let (_dir, snapshot) = demo_snapshot();
    let config = PlannerConfig::default();
    let run = |threads| {
        plan(
            &snapshot,
            &config,
            1000,
            &pool(threads),
            &AtomicBool::new(false),
            &mut |_| {},
        )
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.sequences_evaluated, two.sequences_evaluated);
    assert_eq!(one.best, two.best);
}

#[test]
fn a_cancelled_run_stops_after_the_batch_in_hand() {
    let (_dir, snapshot) = demo_snapshot();
    let result = plan(
        &snapshot,
        &PlannerConfig::default(),
        16,
        &pool(2),
        &AtomicBool::new(true),
        &mut |_| {},
    );
    assert_eq!(result.stop, StopReason::Cancelled);
    assert_eq!(result.batches, 1);
}

#[test]
fn every_planned_quantity_is_a_whole_number_of_lots() {
    let (_dir, snapshot) = demo_snapshot();
    let result = plan(
        &snapshot,
        &PlannerConfig::default(),
        4096,
        &pool(2),
        &AtomicBool::new(false),
        &mut |_| {},
    );
    let lots: HashMap<&str, i64> = snapshot
        .securities
        .iter()
        .map(|s| (s.symbol.as_str(), s.min_lot))
        .collect();
    let candidates = result.opportunities.iter().map(|(_, a)| a);
    let planned = result.best.iter().flat_map(|b| b.actions.iter());
    for action in candidates.chain(planned) {
        assert_eq!(
            action.quantity % lots[action.symbol.as_str()],
            0,
            "{action:?}"
        );
    }
}
