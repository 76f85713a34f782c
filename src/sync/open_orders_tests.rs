//! The orders view: margin and short sales named, unattributable orders warned about.

use super::*;
use crate::domain::{Currency, Decimal, Quantity};
use crate::store::{AllowEmpty, NewOrder, SecurityRecord};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    store
        .replace_securities(
            &[
                SecurityRecord::new("SAP.EU", "SAP", Currency::EUR),
                SecurityRecord::new("ASML.EU", "ASML", Currency::EUR),
            ],
            AllowEmpty::No,
        )
        .unwrap();
    (dir, store)
}

fn listed(id: &str, symbol: &str, side: Side, margin: bool) -> BrokerOrderRecord {
    BrokerOrderRecord {
        broker_id: id.into(),
        symbol: symbol.into(),
        side,
        quantity: Quantity::from_shares(3).unwrap(),
        price: "231.5".parse::<Decimal>().unwrap(),
        currency: Currency::EUR,
        margin,
    }
}

#[test]
fn margin_buys_and_short_sales_are_named_as_such() {
    let (_dir, store) = store();
    store
        .replace_broker_orders(
            &[
                listed("1", "ASML.EU", Side::Buy, false),
                listed("2", "ASML.EU", Side::Buy, true),
                listed("3", "SAP.EU", Side::Sell, false),
                listed("4", "SAP.EU", Side::Sell, true),
            ],
            AllowEmpty::Yes,
        )
        .unwrap();
    let view = orders_view(&store).unwrap();
    let kinds: Vec<(&str, bool, &str)> = view
        .broker_orders
        .iter()
        .map(|o| (o.broker_id.as_str(), o.margin, o.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("1", false, "buy"),
            ("2", true, "buy on margin"),
            ("3", false, "sell"),
            ("4", true, "sell short"),
        ]
    );
    assert_eq!(view.warning, None);
    assert!(!view.live_orders_blocked);
}

#[test]
fn unattributable_orders_block_live_orders_with_a_warning() {
    let (_dir, store) = store();
    store
        .replace_unattributable_orders(&["418820331".to_string(), String::new()])
        .unwrap();
    let view = orders_view(&store).unwrap();
    assert!(view.live_orders_blocked);
    assert_eq!(view.unattributable, ["", "418820331"]);
    let warning = view.warning.unwrap();
    assert!(warning.contains("2 open order(s)"), "{warning}");
    assert!(
        warning.contains("418820331") && warning.contains("no id"),
        "{warning}"
    );
    assert!(warning.contains("live orders are blocked"), "{warning}");

    store.replace_unattributable_orders(&[]).unwrap();
    let view = orders_view(&store).unwrap();
    assert!(!view.live_orders_blocked && view.warning.is_none());
}

#[test]
fn our_orders_list_open_ones_first_then_the_newest() {
    let (_dir, store) = store();
    let add = |key: &str, symbol: &str| {
        store
            .add_pending_order(&NewOrder {
                symbol: symbol.into(),
                side: Side::Buy,
                quantity: Quantity::from_shares(1).unwrap(),
                price: "100".parse().unwrap(),
                currency: Currency::EUR,
                idempotency_key: key.into(),
            })
            .unwrap()
            .into_inner()
            .id
    };
    let first = add("plan-1-step-0", "SAP.EU");
    store.cancel_pending_order(first).unwrap();
    let open = add("plan-1-step-1", "ASML.EU");
    let second = add("plan-2-step-0", "SAP.EU");
    store.cancel_pending_order(second).unwrap();
    let view = orders_view(&store).unwrap();
    let listed: Vec<(i64, &str)> = view.orders.iter().map(|o| (o.id, o.status)).collect();
    assert_eq!(
        listed,
        [(open, "open"), (second, "cancelled"), (first, "cancelled")]
    );
    assert_eq!(view.orders[0].broker_order_id, None);
}
