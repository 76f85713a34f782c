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
    /// Accept orders without an order id, as the real wrapper does.
    no_ids: std::sync::atomic::AtomicBool,
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
            None if self.no_ids.load(std::sync::atomic::Ordering::Relaxed) => Ok(String::new()),
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

/// A second Hong Kong line, so two buys of the cycle draw on the same HKD cash.
fn with_second_hkd_line(store: &Store) {
    let hkd = Currency::new("HKD").unwrap();
    let mut security = SecurityRecord::new("9988.HK", "Alibaba", hkd);
    security.min_lot = 100;
    let mut all = store.securities().unwrap();
    all.push(security);
    store.replace_securities(&all, AllowEmpty::No).unwrap();
    store
        .put_quotes(&[QuoteRecord {
            symbol: "9988.HK".into(),
            price: dec("80"),
            currency: hkd,
            as_of: "2026-11-20T10:00:00.000000".into(),
            source: "test".into(),
        }])
        .unwrap();
}

#[tokio::test]
async fn live_mode_never_sends_a_buy_the_cash_of_its_currency_does_not_cover() {
    let (_dir, store) = universe();
    store.set_trading_mode(TradingMode::Live).unwrap();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 5)
        .unwrap();
    let broker = RecordingBroker::default();
    // 20 AAPL cost 4,000 USD; 2,000 USD are held. Paper mode would take the rest from EUR;
    // the broker would lend it.
    let report = execute_steps(
        &store,
        &broker,
        &[step(1, 0, "AAPL.US", Side::Buy, 20)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(
        matches!(&report.outcomes[0], StepOutcome::Skipped { code: SkipCode::InsufficientCash, reason, .. } if reason.contains("margin")),
        "{report:?}"
    );
    assert!(broker.calls().is_empty());
}

#[tokio::test]
async fn live_mode_counts_the_cycles_earlier_buys_against_the_currencys_cash() {
    let (_dir, store) = universe();
    store.set_trading_mode(TradingMode::Live).unwrap();
    store
        .set_count_setting(keys::MAX_TRADES_PER_CYCLE, 5)
        .unwrap();
    with_second_hkd_line(&store);
    let broker = RecordingBroker::default();
    // 40,000 HKD: 100 Tencent take 30,000 and costs; 200 Alibaba (16,000) no longer fit.
    let steps = [
        step(1, 0, "0700.HK", Side::Buy, 100),
        step(1, 1, "9988.HK", Side::Buy, 200),
    ];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(
        matches!(report.outcomes[0], StepOutcome::Placed { .. }),
        "{report:?}"
    );
    assert!(
        matches!(
            report.outcomes[1],
            StepOutcome::Skipped {
                code: SkipCode::InsufficientCash,
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(broker.calls().len(), 1);
    // A later cycle still counts the open order's cash.
    let later = execute_steps(
        &store,
        &broker,
        &[step(2, 0, "9988.HK", Side::Buy, 200)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            later.outcomes[0],
            StepOutcome::Skipped {
                code: SkipCode::InsufficientCash,
                ..
            }
        ),
        "{later:?}"
    );
    // Negative cash (an overdrawn currency) covers nothing.
    store
        .replace_cash_balances(
            &[Money::parse("-15.20", Currency::new("HKD").unwrap()).unwrap()],
            AllowEmpty::No,
        )
        .unwrap();
    store
        .cancel_pending_order(store.open_order_for("0700.HK").unwrap().unwrap().id)
        .unwrap();
    let overdrawn = execute_steps(
        &store,
        &broker,
        &[step(3, 0, "9988.HK", Side::Buy, 100)],
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            overdrawn.outcomes[0],
            StepOutcome::Skipped {
                code: SkipCode::InsufficientCash,
                ..
            }
        ),
        "{overdrawn:?}"
    );
    assert_eq!(broker.calls().len(), 1);
}

#[tokio::test]
async fn an_order_accepted_without_an_id_counts_as_placed_and_is_never_sent_again() {
    let (_dir, store) = universe();
    store.set_trading_mode(TradingMode::Live).unwrap();
    let broker = RecordingBroker::default();
    broker
        .no_ids
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let steps = [step(4, 0, "AAPL.US", Side::Buy, 2)];
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], StepOutcome::Placed { broker_order_id, .. } if broker_order_id.is_empty()),
        "{report:?}"
    );
    let open = store.open_order_for("AAPL.US").unwrap().unwrap();
    assert_eq!(
        open.broker_order_id, None,
        "unconfirmed until a sync settles it"
    );
    let again = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(matches!(
        again.outcomes[0],
        StepOutcome::AlreadyExecuted { .. }
    ));
    assert_eq!(broker.calls().len(), 1);
}

#[tokio::test]
async fn an_open_order_nobody_can_attribute_blocks_live_orders_only() {
    let (_dir, store) = universe();
    store
        .replace_unattributable_orders(&["418820999".to_string()])
        .unwrap();
    let broker = RecordingBroker::default();
    let steps = [step(4, 0, "SAP.EU", Side::Buy, 1)];
    store.set_trading_mode(TradingMode::Live).unwrap();
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(
        matches!(
            report.outcomes[0],
            StepOutcome::Skipped {
                code: SkipCode::UnattributableOrder,
                ..
            }
        ),
        "{report:?}"
    );
    assert!(broker.calls().is_empty());
    store.replace_unattributable_orders(&[]).unwrap();
    let report = execute_steps(&store, &broker, &steps, chrono::Local::now().naive_local())
        .await
        .unwrap();
    assert!(
        matches!(report.outcomes[0], StepOutcome::Placed { .. }),
        "{report:?}"
    );
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
        // No buy borrows: the buys sent, at their quotes, never exceed the currency's cash.
        let mut spent: std::collections::BTreeMap<Currency, Decimal> = Default::default();
        for (symbol, side, quantity, _) in &calls {
            if *side == Side::Buy {
                let quote = store.quote(symbol).unwrap().unwrap();
                let value = quote.price.checked_mul(quantity.as_decimal()).unwrap();
                let sum = spent.entry(quote.currency).or_insert(Decimal::ZERO);
                *sum = sum.checked_add(value).unwrap();
            }
        }
        for (currency, value) in spent {
            let held = store.cash_balance(currency).unwrap().unwrap().to_decimal();
            prop_assert!(value <= held, "{} {} bought, {} held", value, currency, held);
        }
    }

    /// A buy is covered only when the cash left after earlier orders pays for it in full.
    #[test]
    fn a_buy_is_covered_only_by_the_cash_left_after_earlier_orders(
        cash in -1_000_000i64..1_000_000,
        earlier in 0i64..1_000_000,
        cost in 1i64..1_000_000,
    ) {
        let hkd = Currency::new("HKD").unwrap();
        let money = |cents: i64| {
            Money::from_decimal_exact(Decimal::new(i128::from(cents), 2).unwrap(), hkd).unwrap()
        };
        let covered = covers_without_margin(money(cash), money(earlier), money(cost)).unwrap();
        prop_assert_eq!(covered, cash - earlier >= cost);
    }
}
