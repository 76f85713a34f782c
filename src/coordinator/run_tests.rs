//! Native runs on the demo data: the plan is one an investor would follow.

use std::sync::atomic::AtomicBool;

use super::*;
use crate::store::{Store, keys};

fn demo_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    crate::demo::load_if_empty(&store).unwrap().unwrap();
    (dir, store)
}

fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn run(store: &Store) -> (Snapshot, RunResult) {
    let snapshot = Snapshot::take(store, now()).unwrap();
    let result = plan(
        &snapshot,
        &PlannerConfig::default(),
        &pool(2),
        &AtomicBool::new(false),
        &mut |_| {},
    );
    (snapshot, result)
}

#[test]
fn the_demo_plan_is_executable_respects_the_position_limits_and_pays_for_its_fees() {
    let (_dir, store) = demo_store();
    let (snapshot, result) = run(&store);
    let plan = &result.plan;
    let policy = super::super::book::policy(&snapshot);
    assert!(!plan.steps.is_empty(), "{}", plan.narrative);
    // Every step can be paid from the cash of its own currency, with EUR converted in
    // research mode; the replay of the cash per currency never goes negative.
    let mut cash: std::collections::HashMap<String, f64> = snapshot.cash.iter().cloned().collect();
    for step in &plan.steps {
        let amount = (step.value_eur + step.fee_eur) * step.rate;
        let own = cash.entry(step.currency.clone()).or_insert(0.0);
        match step.side {
            crate::domain::Side::Sell => *own += (step.value_eur - step.fee_eur) * step.rate,
            crate::domain::Side::Buy => {
                *own += step.converted_amount - amount;
                assert!(
                    *own >= -1e-6,
                    "{} leaves {} {}",
                    step.symbol,
                    own,
                    step.currency
                );
                if step.converted_eur > 0.0 {
                    let eur = cash.entry("EUR".into()).or_insert(0.0);
                    *eur -= step.converted_eur;
                    assert!(*eur >= -1e-6, "{} converts more EUR than held", step.symbol);
                }
            }
        }
        if step.side == crate::domain::Side::Buy {
            assert!(
                step.weight_after <= policy.max_position_weight + 1e-9,
                "{step:?}"
            );
            if step.opens {
                assert!(step.weight_after >= policy.min_position_weight, "{step:?}");
            }
        }
    }
    let groups_before = plan.before.countries + plan.before.industries;
    let groups_after = plan.after.countries + plan.after.industries;
    assert!(
        groups_before - groups_after >= plan.fees_eur / 10.0,
        "{groups_before:.2} → {groups_after:.2} pp for {:.2} EUR",
        plan.fees_eur
    );
    assert_eq!(result.stop, StopReason::Exhausted);
}

#[test]
fn a_live_plan_buys_only_with_the_cash_of_the_trade_currency() {
    let (_dir, store) = demo_store();
    store.set_setting(keys::TRADING_MODE, "live").unwrap();
    let (snapshot, result) = run(&store);
    let held: std::collections::HashMap<String, f64> = snapshot.cash.iter().cloned().collect();
    for step in &result.plan.steps {
        assert_eq!(step.converted_eur, 0.0, "{step:?}");
    }
    let needs = result
        .plan
        .rejected
        .iter()
        .find(|r| r.reason.starts_with("needs HKD cash"))
        .unwrap_or_else(|| panic!("{:#?}", result.plan.rejected));
    assert!(
        held.get("HKD").copied().unwrap_or(0.0) < 5_000.0,
        "{needs:?}"
    );
}

#[test]
fn the_same_snapshot_gives_the_same_plan_on_any_thread_count() {
    let (_dir, store) = demo_store();
    let snapshot = Snapshot::take(&store, now()).unwrap();
    let run = |threads| {
        plan(
            &snapshot,
            &PlannerConfig::default(),
            &pool(threads),
            &AtomicBool::new(false),
            &mut |_| {},
        )
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.sequences_evaluated, two.sequences_evaluated);
    assert_eq!(one.plan, two.plan);
}

#[test]
fn a_cancelled_run_stops_before_its_first_step() {
    let (_dir, store) = demo_store();
    let snapshot = Snapshot::take(&store, now()).unwrap();
    let mut phases = Vec::new();
    let result = plan(
        &snapshot,
        &PlannerConfig::default(),
        &pool(2),
        &AtomicBool::new(true),
        &mut |p| phases.push(p.phase),
    );
    assert_eq!(result.stop, StopReason::Cancelled);
    assert!(result.plan.steps.is_empty());
    assert_eq!(phases, ["targets", "searching", "done"]);
}

#[test]
fn every_planned_quantity_is_a_whole_number_of_lots() {
    let (_dir, store) = demo_store();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 10)
        .unwrap();
    store.set_count_setting(keys::MAX_PLAN_DEPTH, 10).unwrap();
    let (snapshot, result) = run(&store);
    assert!(result.plan.steps.len() > 2);
    for step in &result.plan.steps {
        let lot = snapshot
            .securities
            .iter()
            .find(|s| s.symbol == step.symbol)
            .unwrap()
            .min_lot;
        assert_eq!(step.quantity % lot.max(1), 0, "{step:?}");
    }
}

#[test]
fn sells_come_before_the_buys_they_fund() {
    let (_dir, store) = demo_store();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 10)
        .unwrap();
    store.set_count_setting(keys::MAX_PLAN_DEPTH, 10).unwrap();
    let (_, result) = run(&store);
    let sides: Vec<_> = result.plan.steps.iter().map(|s| s.side).collect();
    let first_buy = sides.iter().position(|s| *s == crate::domain::Side::Buy);
    let last_sell = sides.iter().rposition(|s| *s == crate::domain::Side::Sell);
    if let (Some(buy), Some(sell)) = (first_buy, last_sell) {
        assert!(sell < buy, "{sides:?}");
    }
}

#[test]
fn holding_periods_count_from_the_first_buy_of_the_lot_still_held() {
    let (_dir, store) = demo_store();
    let trade = |side, days_ago: i64, quantity: i64| crate::store::NewTrade {
        symbol: "ASML.EU".into(),
        isin: None,
        side,
        quantity: crate::domain::Quantity::from_shares(quantity).unwrap(),
        price: "600".parse().unwrap(),
        currency: crate::domain::Currency::EUR,
        fx_per_eur: None,
        executed_at: (now() - chrono::Duration::days(days_ago))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        source: crate::store::TradeSource::Import,
        order_id: None,
        idempotency_key: None,
    };
    // Bought long ago and topped up last week: the lot is held since the first buy.
    store
        .record_trade(&trade(crate::domain::Side::Buy, 400, 1))
        .unwrap();
    store
        .record_trade(&trade(crate::domain::Side::Buy, 7, 1))
        .unwrap();
    let snapshot = Snapshot::take(&store, now()).unwrap();
    assert_eq!(
        snapshot.first_held["ASML.EU"],
        now() - chrono::Duration::days(400)
    );
    // Sold out, then bought again: the holding period starts again.
    store
        .record_trade(&trade(crate::domain::Side::Sell, 5, 2))
        .unwrap();
    store
        .record_trade(&trade(crate::domain::Side::Buy, 3, 1))
        .unwrap();
    let snapshot = Snapshot::take(&store, now()).unwrap();
    assert_eq!(
        snapshot.first_held["ASML.EU"],
        now() - chrono::Duration::days(3)
    );
    let book = super::super::book::book(&snapshot);
    let asml = book.assets.iter().find(|a| a.symbol == "ASML.EU").unwrap();
    assert!(
        asml.sell.as_ref().unwrap_err().contains("held 3 days"),
        "{:?}",
        asml.sell
    );
}

#[test]
fn every_number_in_the_demo_plans_narratives_is_a_figure_of_its_step() {
    for mode in ["research", "live"] {
        let (_dir, store) = demo_store();
        store.set_setting(keys::TRADING_MODE, mode).unwrap();
        store
            .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 10)
            .unwrap();
        store.set_count_setting(keys::MAX_PLAN_DEPTH, 10).unwrap();
        let (_, result) = run(&store);
        assert!(!result.plan.steps.is_empty());
        for step in &result.plan.steps {
            crate::allocation::check_step_narrative(step).unwrap();
        }
        let n = result.plan.steps.len();
        assert!(
            result.plan.narrative.starts_with(&format!(
                "{n} trades for {:.2} EUR of fees",
                result.plan.fees_eur
            )),
            "{}",
            result.plan.narrative
        );
    }
}
