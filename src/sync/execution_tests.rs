//! Execution of plan steps in research and live mode.

use std::sync::Mutex;

use proptest::prelude::*;

use super::*;
use crate::domain::FxRate;
use crate::store::{AllowEmpty, PositionRecord, QuoteRecord, SecurityRecord, TradeSource};

/// A broker that records every order it is sent and answers as told.
#[derive(Default)]
struct RecordingBroker {
    calls: Mutex<Vec<(String, Side, Quantity, String)>>,
    answer: Mutex<Option<PlaceOrderError>>,
}

impl RecordingBroker {
    fn calls(&self) -> Vec<(String, Side, Quantity, String)> {
        self.calls.lock().unwrap().clone()
    }
    fn answer_with(&self, error: Option<PlaceOrderError>) {
        *self.answer.lock().unwrap() = error;
    }
}

impl OrderGateway for RecordingBroker {
    async fn place_order(
        &self,
        symbol: &str,
        side: Side,
        quantity: Quantity,
        idempotency_key: &str,
    ) -> Result<String, PlaceOrderError> {
        let mut calls = self.calls.lock().unwrap();
        calls.push((symbol.into(), side, quantity, idempotency_key.into()));
        match self.answer.lock().unwrap().clone() {
            Some(error) => Err(error),
            None => Ok(format!("B{}", calls.len())),
        }
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// AAPL.US (USD, lot 1, quote 200), 0700.HK (HKD, lot 100, quote 300), SAP.EU (EUR, held 10,
/// quote 150); cash 5,000 EUR, 2,000 USD, 40,000 HKD; costs 2 EUR + 0.2 %.
fn universe() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    let usd = Currency::new("USD").unwrap();
    let hkd = Currency::new("HKD").unwrap();
    let mut securities = vec![
        SecurityRecord::new("AAPL.US", "Apple", usd),
        SecurityRecord::new("0700.HK", "Tencent", hkd),
        SecurityRecord::new("SAP.EU", "SAP", Currency::EUR),
    ];
    securities[1].min_lot = 100;
    for s in &mut securities {
        s.allow_sell = true;
    }
    store
        .replace_securities(&securities, AllowEmpty::No)
        .unwrap();
    let quote = |symbol: &str, price: &str, currency| QuoteRecord {
        symbol: symbol.into(),
        price: dec(price),
        currency,
        as_of: "2026-11-20T10:00:00.000000".into(),
        source: "test".into(),
    };
    store
        .put_quotes(&[
            quote("AAPL.US", "200", usd),
            quote("0700.HK", "300", hkd),
            quote("SAP.EU", "150", Currency::EUR),
        ])
        .unwrap();
    store
        .replace_positions(
            &[PositionRecord {
                symbol: "SAP.EU".into(),
                quantity: Quantity::from_shares(10).unwrap(),
                avg_price: dec("120"),
                currency: Currency::EUR,
            }],
            AllowEmpty::No,
        )
        .unwrap();
    store
        .replace_cash_balances(
            &[
                Money::parse("5000", Currency::EUR).unwrap(),
                Money::parse("2000", usd).unwrap(),
                Money::parse("40000", hkd).unwrap(),
            ],
            AllowEmpty::No,
        )
        .unwrap();
    store
        .set_fx_rate(FxRate::new(usd, dec("1.08")).unwrap())
        .unwrap();
    store
        .set_fx_rate(FxRate::new(hkd, dec("8.4")).unwrap())
        .unwrap();
    (dir, Arc::new(store))
}

fn step(plan_id: i64, step: u32, symbol: &str, side: Side, shares: i64) -> PlanStep {
    PlanStep {
        plan_id,
        step,
        symbol: symbol.into(),
        side,
        quantity: Quantity::from_shares(shares).unwrap(),
    }
}

fn cash(store: &Store, code: &str) -> Money {
    store
        .cash_balance(Currency::new(code).unwrap())
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn research_mode_fills_at_the_quote_with_costs_and_never_calls_the_broker() {
    let (_dir, store) = universe();
    let broker = RecordingBroker::default();
    let steps = [
        step(1, 0, "SAP.EU", Side::Sell, 4),
        step(1, 1, "AAPL.US", Side::Buy, 3),
    ];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert_eq!(report.mode, "research");
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, StepOutcome::Filled { .. })),
        "{report:?}"
    );
    // Sell 4 × 150 = 600 EUR, costs 2 + 1.20.
    assert_eq!(
        cash(&store, "EUR"),
        Money::parse("5596.80", Currency::EUR).unwrap()
    );
    // Buy 3 × 200 = 600 USD, costs 2 EUR × 1.08 = 2.16 USD + 1.20.
    let usd = Currency::new("USD").unwrap();
    assert_eq!(cash(&store, "USD"), Money::parse("1396.64", usd).unwrap());
    assert!(broker.calls().is_empty());
    let trades = store.trades(None).unwrap();
    assert_eq!(trades.len(), 2);
    assert!(trades.iter().all(|t| t.trade.source == TradeSource::Paper));

    let again = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(
        again
            .outcomes
            .iter()
            .all(|o| matches!(o, StepOutcome::AlreadyExecuted { .. }))
    );
    assert_eq!(store.trades(None).unwrap().len(), 2);
}

#[tokio::test]
async fn checks_skip_steps_with_a_reason() {
    let (_dir, store) = universe();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 10)
        .unwrap();
    let broker = RecordingBroker::default();
    let steps = [
        step(2, 0, "0700.HK", Side::Buy, 50),
        step(2, 1, "NOPE.US", Side::Buy, 1),
        step(2, 2, "AAPL.US", Side::Buy, 40),
        step(2, 3, "AAPL.US", Side::Sell, 1),
        step(2, 4, "0700.HK", Side::Buy, 100),
    ];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    let codes: Vec<_> = report
        .outcomes
        .iter()
        .map(|o| match o {
            StepOutcome::Skipped { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            Some(SkipCode::NotWholeLots),
            Some(SkipCode::UnknownSecurity),
            Some(SkipCode::InsufficientCash),
            Some(SkipCode::InsufficientShares),
            None,
        ]
    );
    assert_eq!(store.trades(None).unwrap().len(), 1);
}

#[tokio::test]
async fn at_most_max_trades_per_cycle_orders_go_out() {
    let (_dir, store) = universe();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 1)
        .unwrap();
    let broker = RecordingBroker::default();
    let steps = [
        step(3, 0, "AAPL.US", Side::Buy, 1),
        step(3, 1, "SAP.EU", Side::Sell, 1),
    ];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(matches!(report.outcomes[0], StepOutcome::Filled { .. }));
    assert!(matches!(
        report.outcomes[1],
        StepOutcome::Skipped {
            code: SkipCode::CycleLimit,
            ..
        }
    ));
}

#[tokio::test]
async fn live_mode_sends_each_step_once_and_an_open_order_blocks_the_symbol() {
    let (_dir, store) = universe();
    store.set_trading_mode(TradingMode::Live).unwrap();
    let broker = RecordingBroker::default();
    let steps = [step(4, 0, "AAPL.US", Side::Buy, 2)];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert_eq!(report.mode, "live");
    assert!(matches!(report.outcomes[0], StepOutcome::Placed { .. }));
    assert_eq!(
        broker.calls(),
        [(
            "AAPL.US".to_string(),
            Side::Buy,
            Quantity::from_shares(2).unwrap(),
            "plan-4-step-0".to_string()
        )]
    );
    // The same step again, and another plan's step for the same symbol: nothing is sent.
    let again = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(matches!(
        again.outcomes[0],
        StepOutcome::AlreadyExecuted { .. }
    ));
    let other = execute_steps(
        &store,
        &broker,
        &[step(5, 0, "AAPL.US", Side::Buy, 1)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(matches!(
        other.outcomes[0],
        StepOutcome::Skipped {
            code: SkipCode::OpenOrder,
            ..
        }
    ));
    assert_eq!(broker.calls().len(), 1);
    let open = store.open_order_for("AAPL.US").unwrap().unwrap();
    assert_eq!(open.broker_order_id.as_deref(), Some("B1"));
    // Live orders do not touch the local cash: the broker's answer is the truth.
    assert_eq!(
        cash(&store, "USD"),
        Money::parse("2000", Currency::new("USD").unwrap()).unwrap()
    );
}

#[tokio::test]
async fn a_rejected_order_is_cancelled_and_a_lost_answer_keeps_blocking() {
    let (_dir, store) = universe();
    store.set_trading_mode(TradingMode::Live).unwrap();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 5)
        .unwrap();
    let broker = RecordingBroker::default();
    broker.answer_with(Some(PlaceOrderError::Rejected(
        "Order execution failed".into(),
    )));
    let report = execute_steps(
        &store,
        &broker,
        &[step(6, 0, "AAPL.US", Side::Buy, 1)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(matches!(
        report.outcomes[0],
        StepOutcome::Skipped {
            code: SkipCode::Rejected,
            ..
        }
    ));
    assert!(store.open_order_for("AAPL.US").unwrap().is_none());

    broker.answer_with(Some(PlaceOrderError::Unknown("timed out".into())));
    let report = execute_steps(
        &store,
        &broker,
        &[step(7, 0, "SAP.EU", Side::Sell, 1)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(matches!(
        report.outcomes[0],
        StepOutcome::Unconfirmed { .. }
    ));
    assert!(store.open_order_for("SAP.EU").unwrap().is_some());
    broker.answer_with(None);
    let report = execute_steps(
        &store,
        &broker,
        &[step(8, 0, "SAP.EU", Side::Sell, 1)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(matches!(
        report.outcomes[0],
        StepOutcome::Skipped {
            code: SkipCode::OpenOrder,
            ..
        }
    ));
    assert_eq!(broker.calls().len(), 2);
}

fn any_step() -> impl Strategy<Value = PlanStep> {
    (
        1i64..4,
        0u32..4,
        prop::sample::select(vec!["AAPL.US", "0700.HK", "SAP.EU"]),
        any::<bool>(),
        1i64..400,
    )
        .prop_map(|(plan, n, symbol, buy, shares)| {
            let side = if buy { Side::Buy } else { Side::Sell };
            step(plan, n, symbol, side, shares)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any steps, repeated in any order, in research mode: cash never goes negative, every
    /// fill is a whole number of lots, a step settles at most once, at most
    /// max_trades_per_cycle go out per call, and the broker is never called.
    #[test]
    fn research_mode_keeps_the_money_invariants(
        cycles in prop::collection::vec(prop::collection::vec(any_step(), 1..6), 1..6),
        max_trades in 1i64..4,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_dir, store) = universe();
        store.set_count_setting(keys::MAX_TRADES_PER_CYCLE, max_trades).unwrap();
        let broker = RecordingBroker::default();
        for steps in &cycles {
            let report = runtime.block_on(execute_steps(&store, &broker, steps, chrono::Local::now().naive_local())).unwrap();
            let filled = report
                .outcomes
                .iter()
                .filter(|o| matches!(o, StepOutcome::Filled { .. }))
                .count();
            prop_assert!(filled <= max_trades as usize);
            for currency in ["EUR", "USD", "HKD"] {
                prop_assert!(!cash(&store, currency).is_negative());
            }
        }
        prop_assert!(broker.calls().is_empty());
        let trades = store.trades(None).unwrap();
        let keys: std::collections::BTreeSet<_> =
            trades.iter().map(|t| t.trade.idempotency_key.clone()).collect();
        prop_assert_eq!(keys.len(), trades.len());
        for t in &trades {
            let lot = store.security(&t.trade.symbol).unwrap().unwrap().min_lot;
            let shares: i64 = t.trade.quantity.to_string().parse().unwrap();
            prop_assert_eq!(shares % lot, 0);
        }
    }

    /// In live mode, however often the same steps are executed, each step reaches the broker
    /// at most once, and never while another order for its symbol is open.
    #[test]
    fn live_mode_sends_each_step_at_most_once(
        cycles in prop::collection::vec(prop::collection::vec(any_step(), 1..6), 1..6),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_dir, store) = universe();
        store.set_trading_mode(TradingMode::Live).unwrap();
        store.set_count_setting(keys::MAX_TRADES_PER_CYCLE, 3).unwrap();
        let broker = RecordingBroker::default();
        for steps in &cycles {
            runtime.block_on(execute_steps(&store, &broker, steps, chrono::Local::now().naive_local())).unwrap();
        }
        let calls = broker.calls();
        let keys: std::collections::BTreeSet<_> = calls.iter().map(|c| c.3.clone()).collect();
        prop_assert_eq!(keys.len(), calls.len());
        let symbols: std::collections::BTreeSet<_> = calls.iter().map(|c| c.0.clone()).collect();
        // Every accepted order stays open, so each symbol is ordered at most once.
        prop_assert_eq!(symbols.len(), calls.len());
    }
}
