//! Plan steps executed against the fake tradernet service: research mode never reaches the
//! broker's order route, live mode reaches it once per step with the step's idempotency key.

use std::sync::Arc;

use trading_planner::config::{ServiceConfig, UpstreamConfig};
use trading_planner::domain::{Currency, Money, Quantity, Side};
use trading_planner::store::{AllowEmpty, QuoteRecord, SecurityRecord, Store, TradingMode};
use trading_planner::sync::execution::{PlanStep, StepOutcome, execute_steps};
use trading_planner::sync::jobs::{Job, Syncer};
use trading_planner::upstream::{TradernetClient, Upstreams};

use crate::fake_upstreams::{FakeKind, FakeUpstream};

fn store_with_asml(dir: &std::path::Path) -> Arc<Store> {
    let store = Store::open(&dir.join("planner.db")).unwrap();
    let mut asml = SecurityRecord::new("ASML.EU", "ASML Holding", Currency::EUR);
    asml.allow_sell = true;
    store.replace_securities(&[asml], AllowEmpty::No).unwrap();
    store
        .put_quotes(&[QuoteRecord {
            symbol: "ASML.EU".into(),
            price: "702.4".parse().unwrap(),
            currency: Currency::EUR,
            as_of: "2026-11-20T10:00:00.000000".into(),
            source: "test".into(),
        }])
        .unwrap();
    store
        .replace_cash_balances(
            &[Money::parse("5000", Currency::EUR).unwrap()],
            AllowEmpty::No,
        )
        .unwrap();
    Arc::new(store)
}

fn client(fake: &FakeUpstream) -> TradernetClient {
    let config = ServiceConfig {
        url: fake.url(),
        min_interval_secs: 0.0,
        ..ServiceConfig::default()
    };
    let upstream = UpstreamConfig {
        tradernet: config,
        ..UpstreamConfig::default()
    };
    Upstreams::new(&upstream).unwrap().tradernet.unwrap()
}

fn steps(plan_id: i64) -> Vec<PlanStep> {
    vec![PlanStep {
        plan_id,
        step: 0,
        symbol: "ASML.EU".into(),
        side: Side::Buy,
        quantity: Quantity::from_shares(2).unwrap(),
    }]
}

fn order_requests(fake: &FakeUpstream) -> Vec<serde_json::Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r["path"] == "/api/trading/place-order")
        .collect()
}

#[tokio::test]
async fn research_mode_never_calls_place_order() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_asml(dir.path());
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Research);
    let broker = client(&fake);
    for plan in 1..=3 {
        let report = execute_steps(
            &store,
            &broker,
            &steps(plan),
            chrono::Local::now().naive_local(),
        )
        .await
        .unwrap();
        assert!(
            matches!(report.outcomes[0], StepOutcome::Filled { .. }),
            "{report:?}"
        );
    }
    assert!(order_requests(&fake).is_empty(), "{:?}", fake.requests());
    assert_eq!(store.trades(None).unwrap().len(), 3);
}

#[tokio::test]
async fn live_mode_sends_one_order_per_step_with_its_key() {
    let fake = FakeUpstream::start(FakeKind::Tradernet);
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_asml(dir.path());
    store.set_trading_mode(TradingMode::Live).unwrap();
    let broker = client(&fake);
    let first = execute_steps(
        &store,
        &broker,
        &steps(9),
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(
        matches!(first.outcomes[0], StepOutcome::Placed { .. }),
        "{first:?}"
    );
    let again = execute_steps(
        &store,
        &broker,
        &steps(9),
        chrono::Local::now().naive_local(),
    )
    .await
    .unwrap();
    assert!(matches!(
        again.outcomes[0],
        StepOutcome::AlreadyExecuted { .. }
    ));
    let orders = order_requests(&fake);
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["headers"]["idempotency-key"], "plan-9-step-0");
    assert_eq!(orders[0]["body"]["side"], "BUY");

    // The broker fills it; the trades sync settles our open order with the broker's trade.
    let open = store.open_order_for("ASML.EU").unwrap().unwrap();
    let config = UpstreamConfig {
        tradernet: ServiceConfig {
            url: fake.url(),
            min_interval_secs: 0.0,
            ..ServiceConfig::default()
        },
        ..Default::default()
    };
    let upstreams = Arc::new(Upstreams::new(&config).unwrap());
    let syncer = Syncer::new(Arc::clone(&store), upstreams, Default::default()).unwrap();
    syncer.run(Job::Trades).await.unwrap();
    assert!(store.open_order_for("ASML.EU").unwrap().is_none());
    let filled = store
        .pending_orders(None)
        .unwrap()
        .into_iter()
        .find(|o| o.id == open.id)
        .unwrap();
    let trade = store.trade(filled.trade_id.unwrap()).unwrap().unwrap();
    assert_eq!(
        open.broker_order_id, None,
        "the wrapper answered no order id"
    );
    let newest = broker.executed_trades(1).await.unwrap();
    assert_eq!(
        trade.trade.order_id.as_deref(),
        Some(newest[0].order_id.as_str()),
        "settled by the broker's trade"
    );
    assert_eq!(
        trade.trade.source,
        trading_planner::store::TradeSource::Broker
    );
    // Running the sync again records nothing twice.
    let trades = store.trades(None).unwrap().len();
    syncer.run(Job::Trades).await.unwrap();
    assert_eq!(store.trades(None).unwrap().len(), trades);
}
