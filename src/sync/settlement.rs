//! Settling our live orders from the broker's executed trades.
//!
//! The broker's trades carry its *trade* id, never the order id (and the wrapper answers an
//! order with no id at all), so an execution is matched to one of our open orders by symbol,
//! side, quantity and time: it must not be older than the order (less a clock allowance), and
//! an order whose broker id the broker still lists as open has not executed (its execution
//! waits for the list to catch up rather than being recorded as someone else's). Each execution
//! settles at most one order and each order is settled by at most one execution; a trade
//! recorded before (by its trade id) is never matched again, so nothing is counted twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDateTime, TimeDelta};

use crate::domain::{Decimal, normalize_symbol};
use crate::store::{
    NewTrade, OrderFill, OrderStatus, PendingOrder, Store, StoreError, TradeSource,
};
use crate::upstream::tradernet::BrokerTrade;

/// How much earlier than our order an execution may be stamped: the broker writes local times
/// without a zone, ours are the board's local time, and time zones span 14 hours either way.
const CLOCK_ALLOWANCE_HOURS: i64 = 14;

/// A time as either side writes it: ISO with `T` or a space, with or without fractions.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Pairs of (index in `trades`, index in `orders`): each trade and each order at most once,
/// oldest trades first, each to the oldest order it fits. `still_open` holds the broker ids
/// the broker lists as open.
pub(crate) fn match_executions(
    trades: &[BrokerTrade],
    orders: &[PendingOrder],
    still_open: &BTreeSet<String>,
) -> Vec<(usize, usize)> {
    let allowance = TimeDelta::hours(CLOCK_ALLOWANCE_HOURS);
    let mut by_time: Vec<(usize, NaiveDateTime)> = trades
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some((i, parse_time(&t.executed_at)?)))
        .collect();
    by_time.sort_by_key(|&(i, at)| (at, i));
    let mut taken = vec![false; orders.len()];
    let mut pairs = Vec::new();
    for (trade_index, executed_at) in by_time {
        let trade = &trades[trade_index];
        let symbol = normalize_symbol(&trade.symbol);
        let found = orders.iter().enumerate().position(|(i, order)| {
            !taken[i]
                && order.status == OrderStatus::Open
                && order.order.symbol == symbol
                && order.order.side == trade.side
                && order.order.quantity == trade.quantity
                && order
                    .broker_order_id
                    .as_ref()
                    .is_none_or(|id| !still_open.contains(id))
                && parse_time(&order.created_at).is_some_and(|at| executed_at >= at - allowance)
        });
        if let Some(order_index) = found {
            taken[order_index] = true;
            pairs.push((trade_index, order_index));
        }
    }
    pairs
}

/// Records the broker's executed trades once each (by trade id), settling the open order of
/// ours each one executed. Returns how many were new.
pub(crate) fn record_broker_trades(
    store: &Store,
    trades: &[BrokerTrade],
) -> Result<usize, StoreError> {
    let currencies: BTreeMap<String, crate::domain::Currency> = store
        .securities()?
        .into_iter()
        .map(|s| (s.symbol, s.currency))
        .collect();
    // Only trades not recorded yet may settle an order. A broker that does carry the order's
    // id in its trades settles that order directly.
    let mut fresh = Vec::new();
    let mut new = 0;
    for trade in trades {
        if trade.order_id.is_empty() || trade.quantity.is_zero() {
            continue;
        }
        let trade = &in_pounds(store, &currencies, trade)?;
        if store.trade_by_order_id(&trade.order_id)?.is_some() {
            continue;
        }
        if let Some(open) = store.open_order_by_broker_id(&trade.order_id)? {
            store.fill_pending_order(open.id, &fill_of(trade))?;
            new += 1;
            continue;
        }
        fresh.push(trade.clone());
    }
    let open = store.pending_orders(Some(OrderStatus::Open))?;
    let still_open: BTreeSet<String> = store
        .broker_orders()?
        .into_iter()
        .map(|o| o.broker_id)
        .collect();
    let pairs = match_executions(&fresh, &open, &still_open);
    let settled: BTreeMap<usize, usize> = pairs.into_iter().collect();
    let waiting = waiting_for_open_list(&fresh, &open, &settled);
    for (index, trade) in fresh.iter().enumerate() {
        if let Some(&order_index) = settled.get(&index) {
            store.fill_pending_order(open[order_index].id, &fill_of(trade))?;
            new += 1;
            continue;
        }
        if waiting.contains(&index) {
            tracing::debug!(order_id = %trade.order_id, "execution fits an order the broker still lists as open; settled once the list catches up");
            continue;
        }
        let symbol = normalize_symbol(&trade.symbol);
        let Some(&currency) = currencies.get(&symbol) else {
            tracing::warn!(%symbol, order_id = %trade.order_id, "trade of an unknown security skipped");
            continue;
        };
        let recorded = store.record_trade(&NewTrade {
            symbol,
            isin: None,
            side: trade.side,
            quantity: trade.quantity,
            price: trade.price,
            currency,
            fx_per_eur: None,
            executed_at: trade.executed_at.clone(),
            source: TradeSource::Broker,
            order_id: Some(trade.order_id.clone()),
            idempotency_key: None,
        })?;
        if recorded.was_inserted() {
            new += 1;
        }
    }
    Ok(new)
}

/// `trade` with its price in pounds when it is in pence. London lines trade in pence, and the
/// wrapper drops the trade's currency (the broker's `curr_c`), so the unit is told from the
/// stored quote, which is in pounds: a price of a pound security more than ten times its
/// quote is nearer (as a ratio) a hundred times it than the quote itself, so it is pence.
fn in_pounds(
    store: &Store,
    currencies: &BTreeMap<String, crate::domain::Currency>,
    trade: &BrokerTrade,
) -> Result<BrokerTrade, StoreError> {
    let symbol = normalize_symbol(&trade.symbol);
    if currencies.get(&symbol) != Some(&crate::domain::Currency::GBP) {
        return Ok(trade.clone());
    }
    let Some(quote) = store.quote(&symbol)? else {
        return Ok(trade.clone());
    };
    let ten_quotes = quote.price.checked_mul(Decimal::from_i64(10))?;
    if trade.price <= ten_quotes {
        return Ok(trade.clone());
    }
    let pounds = trade
        .price
        .checked_div(Decimal::from_i64(100), trade.price.scale() + 2)?;
    Ok(BrokerTrade {
        price: pounds,
        ..trade.clone()
    })
}

/// The unmatched trades (indexes into `fresh`) that would settle one of our open orders but
/// for the broker listing it as open. The open orders and the trades are read at different
/// moments, so an order that filled in between is still listed: its execution waits for a
/// later sync instead of being recorded as someone else's trade, which would leave our order
/// open for good.
fn waiting_for_open_list(
    fresh: &[BrokerTrade],
    open: &[PendingOrder],
    settled: &BTreeMap<usize, usize>,
) -> BTreeSet<usize> {
    let taken: BTreeSet<usize> = settled.values().copied().collect();
    let unmatched: Vec<usize> = (0..fresh.len())
        .filter(|i| !settled.contains_key(i))
        .collect();
    let trades: Vec<BrokerTrade> = unmatched.iter().map(|&i| fresh[i].clone()).collect();
    let orders: Vec<PendingOrder> = open
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .map(|(_, o)| o.clone())
        .collect();
    match_executions(&trades, &orders, &BTreeSet::new())
        .into_iter()
        .map(|(trade, _)| unmatched[trade])
        .collect()
}

/// Our order filled by `trade`, recorded under the trade's id so it is never recorded again.
fn fill_of(trade: &BrokerTrade) -> OrderFill {
    OrderFill {
        price: trade.price,
        fx_per_eur: None,
        executed_at: trade.executed_at.clone(),
        source: TradeSource::Broker,
        order_id: Some(trade.order_id.clone()),
    }
}

/// Confirms our open orders the broker answered without an id: an open order at the broker
/// of the same symbol, side and quantity, claimed by no other order of ours, is taken as it.
pub(crate) fn confirm_from_open_orders(
    store: &Store,
    listed: &[crate::store::BrokerOrderRecord],
) -> Result<usize, StoreError> {
    let ours = store.pending_orders(Some(OrderStatus::Open))?;
    let mut claimed: BTreeSet<String> = ours
        .iter()
        .filter_map(|o| o.broker_order_id.clone())
        .collect();
    let mut confirmed = 0;
    for order in ours.iter().filter(|o| o.broker_order_id.is_none()) {
        let candidates: Vec<_> = listed
            .iter()
            .filter(|b| {
                !claimed.contains(&b.broker_id)
                    && !b.broker_id.starts_with("unidentified-")
                    && b.symbol == order.order.symbol
                    && b.side == order.order.side
                    && b.quantity == order.order.quantity
            })
            .collect();
        // Two candidates: no telling which is ours; the trades sync settles it later.
        if let [only] = candidates.as_slice() {
            store.set_broker_order_id(order.id, &only.broker_id)?;
            claimed.insert(only.broker_id.clone());
            confirmed += 1;
        }
    }
    Ok(confirmed)
}

#[cfg(test)]
#[path = "settlement_tests.rs"]
mod tests;
