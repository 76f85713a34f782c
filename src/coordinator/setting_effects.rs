//! Every setting the dashboard shows changes a plan: for each one, two values that give the
//! demo portfolio two different plans (docs/settings.md says what each changes).

use std::sync::atomic::AtomicBool;

use super::run::plan;
use super::settings::SETTINGS;
use super::snapshot::Snapshot;
use crate::config::PlannerConfig;
use crate::domain::{Decimal, Side};
use crate::store::{AllowEmpty, NewTrade, PositionRecord, Store, TradeSource, keys};

fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

/// A trade of `symbol` recorded `days_ago`.
fn trade(store: &Store, symbol: &str, side: Side, days_ago: i64) {
    let security = store.security(symbol).unwrap().unwrap();
    store
        .record_trade(&NewTrade {
            symbol: symbol.into(),
            isin: None,
            side,
            quantity: crate::domain::Quantity::from_shares(security.min_lot.max(1)).unwrap(),
            price: Decimal::from_i64(100),
            currency: security.currency,
            fx_per_eur: None,
            executed_at: (now() - chrono::Duration::days(days_ago))
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            source: TradeSource::Import,
            order_id: None,
            idempotency_key: None,
        })
        .unwrap();
}

/// The first symbol the base plan sells and the first it buys.
fn base_symbols(store: &Store) -> (String, String) {
    let steps = steps(store);
    let of = |side| {
        steps
            .iter()
            .find(|s| s.0 == side)
            .map(|s| s.1.clone())
            .unwrap_or_else(|| panic!("the base plan has no {side:?}: {steps:?}"))
    };
    (of(Side::Sell), of(Side::Buy))
}

/// The plan as (side, symbol, quantity) per step.
fn steps(store: &Store) -> Vec<(Side, String, i64)> {
    let snapshot = Snapshot::take(store, now()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let result = plan(
        &snapshot,
        &PlannerConfig::default(),
        &pool,
        &AtomicBool::new(false),
        &mut |_| {},
    );
    result
        .plan
        .steps
        .iter()
        .map(|s| (s.side, s.symbol.clone(), s.quantity))
        .collect()
}

/// The setup a setting needs to matter on the demo data, and its two values.
fn case(key: &str, store: &Store) -> (&'static str, &'static str) {
    let (sold, bought) = base_symbols(store);
    match key {
        "trading_mode" => ("research", "live"),
        "transaction_cost_fixed" => ("2.0", "60.0"),
        "transaction_cost_percent" => ("0.002", "0.05"),
        "min_cash_reserve" => ("500.0", "20000.0"),
        "min_security_score" => ("0.5", "0.75"),
        "max_loss_threshold" => {
            // The position the plan sells, bought at twice today's price.
            let mut positions = store.positions().unwrap();
            let quote = store.quote(&sold).unwrap().unwrap().price;
            let p = positions.iter_mut().find(|p| p.symbol == sold).unwrap();
            p.avg_price = quote.checked_mul(Decimal::from_i64(2)).unwrap();
            let rows: Vec<PositionRecord> = positions;
            store.replace_positions(&rows, AllowEmpty::No).unwrap();
            ("-0.2", "-0.6")
        }
        "buy_cooldown_days" => {
            trade(store, &bought, Side::Buy, 10);
            ("30", "5")
        }
        "sell_cooldown_days" => {
            trade(store, &sold, Side::Sell, 10);
            ("180", "5")
        }
        "min_hold_days" => {
            trade(store, &sold, Side::Buy, 10);
            ("90", "5")
        }
        "max_plan_depth" => ("10", "1"),
        "max_trades_per_cycle" => ("10", "1"),
        "max_trades_per_day" => ("10", "1"),
        "max_trades_per_week" => ("10", "1"),
        "cash_reserve_ratio" => ("0.02", "0.3"),
        "max_position_weight" => ("0.15", "0.03"),
        "min_position_weight" => ("0.01", "0.04"),
        "target_score_tilt" => ("0.0", "2.0"),
        "band_absolute" => {
            // The absolute band decides only where it is the smaller one.
            store.set_setting(keys::BAND_RELATIVE.key, "1.0").unwrap();
            ("0.5", "0.005")
        }
        "band_relative" => ("0.02", "1.0"),
        "risk_profile" => ("cautious", "bold"),
        "drift_point_value_bp" => ("10", "0.5"),
        "fee_worth_ratio" => ("1.0", "40.0"),
        other => panic!("no case shows what setting {other} changes: add one"),
    }
}

#[test]
fn every_setting_the_dashboard_shows_changes_the_plan() {
    let mut unchanged = Vec::new();
    for spec in SETTINGS {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(&dir.path().join("planner.db")).unwrap();
        crate::demo::load_if_empty(&store).unwrap().unwrap();
        // Room for a plan of several steps unless the setting is one of the limits.
        store
            .set_settings(&[
                (keys::MAX_PLAN_DEPTH.key.into(), "10".into()),
                (keys::MAX_TRADES_PER_CYCLE.key.into(), "10".into()),
                (keys::MAX_TRADES_PER_DAY.key.into(), "10".into()),
                (keys::MAX_TRADES_PER_WEEK.key.into(), "10".into()),
            ])
            .unwrap();
        let (a, b) = case(spec.key, &store);
        store.set_setting(spec.key, a).unwrap();
        let with_a = steps(&store);
        store.set_setting(spec.key, b).unwrap();
        let with_b = steps(&store);
        if with_a == with_b {
            unchanged.push(format!("{} ({a} and {b}): {with_a:?}", spec.key));
        }
    }
    assert!(unchanged.is_empty(), "{unchanged:#?}");
}
