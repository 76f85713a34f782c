//! The orders as the dashboard lists them (`GET /api/orders`): our recent orders with their
//! state, the broker's open orders (a buy on margin or a short sale shown as such), and the
//! broker's open orders nobody can attribute, which block live orders.

use serde::Serialize;

use crate::domain::Side;
use crate::store::{BrokerOrderRecord, PendingOrder, Store, StoreError};

/// How many of our orders the list shows, newest first; open ones are always shown.
const RECENT_ORDERS: usize = 50;

/// The answer of `GET /api/orders`.
#[derive(Debug, Serialize, PartialEq)]
pub struct OrdersView {
    /// Ours, open first, then the most recent others, newest first.
    pub orders: Vec<OurOrder>,
    /// What the broker lists as open, by symbol.
    pub broker_orders: Vec<BrokerOrder>,
    /// Broker ids of open orders without a readable symbol or side.
    pub unattributable: Vec<String>,
    /// Whether live orders wait for the unattributable orders to go.
    pub live_orders_blocked: bool,
    /// What the dashboard shows above the lists, if anything.
    pub warning: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct OurOrder {
    pub id: i64,
    pub symbol: String,
    pub side: Side,
    pub quantity: String,
    pub price: String,
    pub currency: String,
    /// "open", "filled" or "cancelled".
    pub status: &'static str,
    /// Empty until the broker's id is known (the wrapper answers orders without one).
    pub broker_order_id: Option<String>,
    pub trade_id: Option<i64>,
    pub created_at: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BrokerOrder {
    pub broker_id: String,
    pub symbol: String,
    pub side: Side,
    /// A buy on margin (code "2") or a short sale (code "4").
    pub margin: bool,
    /// "buy", "buy on margin", "sell" or "sell short".
    pub kind: &'static str,
    pub quantity: String,
    pub price: String,
    pub currency: String,
}

/// What an open order does, in words.
fn kind(side: Side, margin: bool) -> &'static str {
    match (side, margin) {
        (Side::Buy, false) => "buy",
        (Side::Buy, true) => "buy on margin",
        (Side::Sell, false) => "sell",
        (Side::Sell, true) => "sell short",
    }
}

/// The orders view from the store.
pub fn orders_view(store: &Store) -> Result<OrdersView, StoreError> {
    let mut ours = store.pending_orders(None)?;
    // Open first, then newest first; only so many settled ones.
    ours.sort_by_key(|o| (o.status != crate::store::OrderStatus::Open, -o.id));
    let open = ours
        .iter()
        .filter(|o| o.status == crate::store::OrderStatus::Open)
        .count();
    ours.truncate(open.max(RECENT_ORDERS));
    let unattributable = store.unattributable_orders()?;
    let warning = (!unattributable.is_empty()).then(|| {
        format!(
            "The broker lists {} open order(s) whose symbol or side cannot be read ({}): \
             nobody can tell what they buy or sell, so live orders are blocked until the \
             broker no longer lists them.",
            unattributable.len(),
            unattributable
                .iter()
                .map(|id| if id.is_empty() { "no id" } else { id.as_str() })
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok(OrdersView {
        orders: ours.into_iter().map(our_order).collect(),
        broker_orders: store
            .broker_orders()?
            .into_iter()
            .map(broker_order)
            .collect(),
        live_orders_blocked: !unattributable.is_empty(),
        unattributable,
        warning,
    })
}

fn our_order(order: PendingOrder) -> OurOrder {
    OurOrder {
        id: order.id,
        symbol: order.order.symbol,
        side: order.order.side,
        quantity: order.order.quantity.to_string(),
        price: order.order.price.to_string(),
        currency: order.order.currency.to_string(),
        status: order.status.into(),
        broker_order_id: order.broker_order_id,
        trade_id: order.trade_id,
        created_at: order.created_at,
    }
}

fn broker_order(order: BrokerOrderRecord) -> BrokerOrder {
    BrokerOrder {
        kind: kind(order.side, order.margin),
        broker_id: order.broker_id,
        symbol: order.symbol,
        side: order.side,
        margin: order.margin,
        quantity: order.quantity.to_string(),
        price: order.price.to_string(),
        currency: order.currency.to_string(),
    }
}

#[cfg(test)]
#[path = "open_orders_tests.rs"]
mod tests;
