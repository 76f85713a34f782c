use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, Decimal, Quantity, Side};

fn trade(key: Option<&str>, order_id: Option<&str>) -> NewTrade {
    NewTrade {
        symbol: "asml.eu".into(),
        isin: Some("NL0010273215".into()),
        side: Side::Sell,
        quantity: Quantity::from_shares(1).unwrap(),
        price: dec("690.0"),
        currency: Currency::EUR,
        fx_per_eur: None,
        executed_at: "2025-12-20T14:03:11".into(),
        source: TradeSource::Broker,
        order_id: order_id.map(str::to_string),
        idempotency_key: key.map(str::to_string),
    }
}

fn order(symbol: &str, key: &str) -> NewOrder {
    NewOrder {
        symbol: symbol.into(),
        side: Side::Buy,
        quantity: "2.5".parse().unwrap(),
        price: dec("187.12"),
        currency: Currency::USD,
        idempotency_key: key.into(),
    }
}

#[test]
fn trades_round_trip() {
    let (_dir, store) = temp_store();
    let recorded = store
        .record_trade(&trade(Some("k1"), Some("418800001")))
        .unwrap();
    assert!(recorded.was_inserted());
    let stored = recorded.into_inner();
    assert_eq!(stored.trade.symbol, "ASML.EU");
    assert_eq!(stored.trade.price, dec("690"));
    assert_eq!(
        stored.trade,
        NewTrade {
            symbol: "ASML.EU".into(),
            ..trade(Some("k1"), Some("418800001"))
        }
    );
    assert_eq!(store.trade(stored.id).unwrap(), Some(stored.clone()));
    assert_eq!(store.trades(Some("asml.eu")).unwrap(), vec![stored.clone()]);
    assert!(store.trades(Some("AAPL.US")).unwrap().is_empty());
    assert_eq!(store.trades(None).unwrap().len(), 1);
}

#[test]
fn recording_a_trade_twice_returns_the_first() {
    let (_dir, store) = temp_store();
    let first = store
        .record_trade(&trade(Some("plan-1/step-0"), None))
        .unwrap();
    let mut again = trade(Some("plan-1/step-0"), None);
    again.price = dec("700");
    let second = store.record_trade(&again).unwrap();
    assert!(!second.was_inserted());
    assert_eq!(second.into_inner(), first.into_inner());

    // The same broker order id is recorded once too.
    let by_order = store.record_trade(&trade(None, Some("B-1"))).unwrap();
    let by_order_again = store
        .record_trade(&trade(Some("other"), Some("B-1")))
        .unwrap();
    assert!(!by_order_again.was_inserted());
    assert_eq!(by_order_again.into_inner(), by_order.into_inner());

    // Trades without any key are all recorded.
    store.record_trade(&trade(None, None)).unwrap();
    store.record_trade(&trade(None, None)).unwrap();
    assert_eq!(store.trades(None).unwrap().len(), 4);
}

#[test]
fn invalid_trades_are_refused() {
    let (_dir, store) = temp_store();
    let mut zero = trade(None, None);
    zero.quantity = Quantity::ZERO;
    let mut negative_price = trade(None, None);
    negative_price.price = dec("-1");
    let mut zero_rate = trade(None, None);
    zero_rate.fx_per_eur = Some(Decimal::ZERO);
    for bad in [zero, negative_price, zero_rate] {
        assert!(matches!(
            store.record_trade(&bad),
            Err(StoreError::Invalid { .. })
        ));
    }
    assert!(store.trades(None).unwrap().is_empty());
}

#[test]
fn one_open_order_per_symbol() {
    let (_dir, store) = temp_store();
    let first = store.add_pending_order(&order("aapl.us", "p1/0")).unwrap();
    assert!(first.was_inserted());
    let first = first.into_inner();
    assert_eq!(first.status, OrderStatus::Open);
    assert_eq!(first.order.symbol, "AAPL.US");
    assert_eq!(first.order.quantity, "2.5".parse().unwrap());

    // Same key: the same order back, nothing new.
    let again = store.add_pending_order(&order("AAPL.US", "p1/0")).unwrap();
    assert!(!again.was_inserted());
    assert_eq!(again.into_inner(), first);

    // Another key for the same symbol while one is open: refused.
    match store.add_pending_order(&order("AAPL.US", "p2/0")) {
        Err(StoreError::OpenOrderExists {
            symbol,
            open_order_id,
        }) => {
            assert_eq!(symbol, "AAPL.US");
            assert_eq!(open_order_id, first.id);
        }
        other => panic!("unexpected {other:?}"),
    }
    // The database enforces it too.
    let direct = store.write(|c| {
        Ok(c.execute(
            "INSERT INTO pending_orders (symbol, side, quantity, price, currency, \
             idempotency_key, status, created_at, updated_at) \
             VALUES ('AAPL.US', 'BUY', '1', '1', 'USD', 'direct', 'open', 'now', 'now')",
            [],
        )?)
    });
    assert!(direct.is_err());

    // Another symbol is fine.
    store.add_pending_order(&order("MSFT.US", "p2/1")).unwrap();
    assert_eq!(
        store.pending_orders(Some(OrderStatus::Open)).unwrap().len(),
        2
    );

    // Once cancelled, a new order for the symbol is accepted.
    let cancelled = store.cancel_pending_order(first.id).unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert!(matches!(
        store.cancel_pending_order(first.id),
        Err(StoreError::OrderNotOpen { .. })
    ));
    assert!(matches!(
        store.cancel_pending_order(999),
        Err(StoreError::OrderNotFound(999))
    ));
    let next = store.add_pending_order(&order("AAPL.US", "p3/0")).unwrap();
    assert!(next.was_inserted());
    assert_eq!(
        store.open_order_for("aapl.us").unwrap(),
        Some(next.into_inner())
    );
    assert_eq!(store.pending_orders(None).unwrap().len(), 3);
    assert_eq!(
        store
            .pending_orders(Some(OrderStatus::Cancelled))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn filling_an_order_records_its_trade_once() {
    let (_dir, store) = temp_store();
    let placed = store
        .add_pending_order(&order("AAPL.US", "p1/0"))
        .unwrap()
        .into_inner();
    let fill = OrderFill {
        price: dec("187.10"),
        fx_per_eur: Some(dec("1.0865")),
        executed_at: "2026-01-05T15:30:00".into(),
        source: TradeSource::Paper,
        order_id: None,
    };
    let trade = store.fill_pending_order(placed.id, &fill).unwrap();
    assert_eq!(trade.trade.idempotency_key.as_deref(), Some("p1/0"));
    assert_eq!(trade.trade.quantity, placed.order.quantity);
    assert_eq!(trade.trade.price, dec("187.1"));
    assert_eq!(trade.trade.source, TradeSource::Paper);

    let filled = store.pending_orders(Some(OrderStatus::Filled)).unwrap();
    assert_eq!(filled.len(), 1);
    assert_eq!(filled[0].trade_id, Some(trade.id));
    assert!(matches!(
        store.fill_pending_order(placed.id, &fill),
        Err(StoreError::OrderNotOpen { .. })
    ));
    assert_eq!(store.trades(None).unwrap().len(), 1);
    assert_eq!(store.open_order_for("AAPL.US").unwrap(), None);
}

#[test]
fn invalid_orders_are_refused() {
    let (_dir, store) = temp_store();
    let mut zero = order("AAPL.US", "k");
    zero.quantity = Quantity::ZERO;
    let empty_key = order("AAPL.US", "");
    for bad in [zero, empty_key] {
        assert!(matches!(
            store.add_pending_order(&bad),
            Err(StoreError::Invalid { .. })
        ));
    }
    assert!(store.pending_orders(None).unwrap().is_empty());
}
