//! Matching the broker's executions to our orders.

use proptest::prelude::*;

use super::*;
use crate::domain::{Currency, Decimal, Quantity, Side};
use crate::store::{AllowEmpty, BrokerOrderRecord, NewOrder, SecurityRecord};

fn trade(id: &str, symbol: &str, side: Side, shares: i64, at: &str) -> BrokerTrade {
    BrokerTrade {
        order_id: id.into(),
        symbol: symbol.into(),
        side,
        quantity: Quantity::from_shares(shares).unwrap(),
        price: "100.5".parse().unwrap(),
        executed_at: at.into(),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    let hkd = Currency::new("HKD").unwrap();
    store
        .replace_securities(
            &[
                SecurityRecord::new("0700.HK", "Tencent", hkd),
                SecurityRecord::new("SAP.EU", "SAP", Currency::EUR),
            ],
            AllowEmpty::No,
        )
        .unwrap();
    (dir, store)
}

fn order(store: &Store, key: &str, symbol: &str, side: Side, shares: i64) -> i64 {
    let currency = store.security(symbol).unwrap().unwrap().currency;
    store
        .add_pending_order(&NewOrder {
            symbol: symbol.into(),
            side,
            quantity: Quantity::from_shares(shares).unwrap(),
            price: "100".parse().unwrap(),
            currency,
            idempotency_key: key.into(),
        })
        .unwrap()
        .into_inner()
        .id
}

#[test]
fn an_execution_settles_our_order_once_and_is_recorded_once() {
    let (_dir, store) = store();
    let id = order(&store, "plan-1-step-0", "0700.HK", Side::Buy, 100);
    let later = crate::store::iso(chrono::Local::now().naive_local() + TimeDelta::minutes(3));
    // The broker's trade id, not the order's; an older trade of the same shape is someone
    // else's (recorded before our order existed).
    let trades = [
        trade("T-900", "0700.HK", Side::Buy, 100, &later),
        trade("T-100", "0700.HK", Side::Buy, 100, "2020-01-02T10:00:00"),
    ];
    assert_eq!(record_broker_trades(&store, &trades).unwrap(), 2);
    let settled = store.pending_orders(None).unwrap();
    assert_eq!(settled[0].id, id);
    assert_eq!(settled[0].status, OrderStatus::Filled);
    let filled_by = store.trade(settled[0].trade_id.unwrap()).unwrap().unwrap();
    assert_eq!(filled_by.trade.order_id.as_deref(), Some("T-900"));
    assert_eq!(
        filled_by.trade.idempotency_key.as_deref(),
        Some("plan-1-step-0")
    );
    assert_eq!(filled_by.trade.price, "100.5".parse::<Decimal>().unwrap());
    // The next sync lists the same trades: nothing new, nothing twice.
    assert_eq!(record_broker_trades(&store, &trades).unwrap(), 0);
    assert_eq!(store.trades(None).unwrap().len(), 2);
}

#[test]
fn an_order_the_broker_still_lists_as_open_is_not_settled_by_a_lookalike() {
    let (_dir, store) = store();
    let id = order(&store, "plan-1-step-0", "SAP.EU", Side::Sell, 5);
    let listed = [BrokerOrderRecord {
        broker_id: "418820500".into(),
        symbol: "SAP.EU".into(),
        side: Side::Sell,
        quantity: Quantity::from_shares(5).unwrap(),
        price: Decimal::ZERO,
        currency: Currency::EUR,
        margin: false,
    }];
    store
        .replace_broker_orders(&listed, AllowEmpty::Yes)
        .unwrap();
    assert_eq!(confirm_from_open_orders(&store, &listed).unwrap(), 1);
    let confirmed = store.open_order_for("SAP.EU").unwrap().unwrap();
    assert_eq!(confirmed.broker_order_id.as_deref(), Some("418820500"));

    let now = crate::store::now_iso();
    let lookalike = [trade("T-1", "SAP.EU", Side::Sell, 5, &now)];
    record_broker_trades(&store, &lookalike).unwrap();
    assert_eq!(store.open_order_for("SAP.EU").unwrap().unwrap().id, id);
    assert_eq!(
        store.trades(None).unwrap().len(),
        0,
        "it waits: the open list may be older than the trades"
    );
    // It leaves the open list, and the next execution settles it.
    store.replace_broker_orders(&[], AllowEmpty::Yes).unwrap();
    let executed = [
        trade("T-2", "SAP.EU", Side::Sell, 5, &now),
        lookalike[0].clone(),
    ];
    record_broker_trades(&store, &executed).unwrap();
    assert!(store.open_order_for("SAP.EU").unwrap().is_none());
    let trade_id = store.pending_orders(None).unwrap()[0].trade_id.unwrap();
    let filled_by = store.trade(trade_id).unwrap().unwrap();
    assert_eq!(filled_by.trade.order_id.as_deref(), Some("T-2"));
    assert_eq!(store.trades(None).unwrap().len(), 2, "each execution once");
}

#[test]
fn an_execution_read_before_the_open_list_caught_up_settles_the_order_later() {
    let (_dir, store) = store();
    let id = order(&store, "plan-1-step-0", "SAP.EU", Side::Buy, 3);
    store.set_broker_order_id(id, "418830001").unwrap();
    let listed = [BrokerOrderRecord {
        broker_id: "418830001".into(),
        symbol: "SAP.EU".into(),
        side: Side::Buy,
        quantity: Quantity::from_shares(3).unwrap(),
        price: Decimal::ZERO,
        currency: Currency::EUR,
        margin: false,
    }];
    store
        .replace_broker_orders(&listed, AllowEmpty::Yes)
        .unwrap();
    // The order filled after the open-orders sync and before the trades sync.
    let now = crate::store::now_iso();
    let executed = [trade("96150001", "SAP.EU", Side::Buy, 3, &now)];
    assert_eq!(record_broker_trades(&store, &executed).unwrap(), 0);
    assert!(store.trades(None).unwrap().is_empty());
    store.replace_broker_orders(&[], AllowEmpty::Yes).unwrap();
    assert_eq!(record_broker_trades(&store, &executed).unwrap(), 1);
    assert!(store.open_order_for("SAP.EU").unwrap().is_none());
    let filled = &store.pending_orders(None).unwrap()[0];
    let trade = store.trade(filled.trade_id.unwrap()).unwrap().unwrap();
    assert_eq!(trade.trade.order_id.as_deref(), Some("96150001"));
    assert_eq!(store.trades(None).unwrap().len(), 1, "recorded once");
}

#[test]
fn london_executions_in_pence_are_recorded_in_pounds() {
    let (_dir, store) = store();
    store
        .upsert_security(&SecurityRecord::new("SHEL.UK", "Shell", Currency::GBP))
        .unwrap();
    store
        .put_quotes(&[crate::store::QuoteRecord {
            symbol: "SHEL.UK".into(),
            price: "27.12".parse().unwrap(),
            currency: Currency::GBP,
            as_of: crate::store::now_iso(),
            source: "tradernet".into(),
        }])
        .unwrap();
    let at = "2026-11-03T09:12:33";
    let mut in_pence = trade("96101209", "SHEL.UK", Side::Buy, 40, at);
    in_pence.price = "2410".parse().unwrap();
    let mut in_pounds = trade("96101210", "SHEL.UK", Side::Buy, 1, at);
    in_pounds.price = "26.9".parse().unwrap();
    // Another currency is left as it is, however far from its quote.
    let mut hkd = trade("96101211", "0700.HK", Side::Buy, 100, at);
    hkd.price = "3856".parse().unwrap();
    assert_eq!(
        record_broker_trades(&store, &[in_pence, in_pounds, hkd]).unwrap(),
        3
    );
    let prices: Vec<(String, String)> = store
        .trades(None)
        .unwrap()
        .into_iter()
        .map(|t| (t.trade.order_id.unwrap(), t.trade.price.to_string()))
        .collect();
    assert_eq!(
        prices,
        [
            ("96101209".to_string(), "24.1".to_string()),
            ("96101210".to_string(), "26.9".to_string()),
            ("96101211".to_string(), "3856".to_string()),
        ]
    );
}

fn any_trade() -> impl Strategy<Value = BrokerTrade> {
    (
        0usize..40,
        prop::sample::select(vec!["0700.HK", "SAP.EU"]),
        any::<bool>(),
        1i64..4,
        0u32..48,
    )
        .prop_map(|(n, symbol, buy, shares, hour)| {
            let side = if buy { Side::Buy } else { Side::Sell };
            let at = format!("2026-12-{:02}T{:02}:00:00", 1 + hour / 24, hour % 24);
            trade(&format!("T-{n}"), symbol, side, shares, &at)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// However the executions and orders line up, one execution settles at most one order,
    /// one order is settled at most once, and a settled pair agrees on symbol, side and
    /// quantity.
    #[test]
    fn matching_never_counts_an_execution_or_an_order_twice(
        trades in prop::collection::vec(any_trade(), 0..12),
        orders in prop::collection::vec((prop::sample::select(vec!["0700.HK", "SAP.EU"]), any::<bool>(), 1i64..4, 0u32..48), 0..8),
    ) {
        let orders: Vec<PendingOrder> = orders
            .into_iter()
            .enumerate()
            .map(|(i, (symbol, buy, shares, hour))| PendingOrder {
                id: i as i64,
                order: NewOrder {
                    symbol: symbol.into(),
                    side: if buy { Side::Buy } else { Side::Sell },
                    quantity: Quantity::from_shares(shares).unwrap(),
                    price: Decimal::ZERO,
                    currency: Currency::EUR,
                    idempotency_key: format!("k{i}"),
                },
                status: OrderStatus::Open,
                trade_id: None,
                created_at: format!("2026-12-{:02}T{:02}:00:00.000000", 1 + hour / 24, hour % 24),
                updated_at: String::new(),
                broker_order_id: None,
            })
            .collect();
        let pairs = match_executions(&trades, &orders, &BTreeSet::new());
        let trade_side: BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
        let order_side: BTreeSet<usize> = pairs.iter().map(|p| p.1).collect();
        prop_assert_eq!(trade_side.len(), pairs.len());
        prop_assert_eq!(order_side.len(), pairs.len());
        for (t, o) in pairs {
            let (trade, order) = (&trades[t], &orders[o].order);
            prop_assert_eq!(&trade.symbol, &order.symbol);
            prop_assert_eq!(trade.side, order.side);
            prop_assert_eq!(trade.quantity, order.quantity);
        }
    }
}
