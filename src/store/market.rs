//! Market data kept between syncs: the last quote per security and the orders the broker
//! lists as open.

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::portfolio::{AllowEmpty, refuse_empty, unique_symbols};
use super::{Store, StoreError, now_iso};
use crate::domain::{Currency, Decimal, Quantity, Side, normalize_symbol};

/// The last known price of a security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRecord {
    pub symbol: String,
    /// Positive, in `currency`.
    pub price: Decimal,
    pub currency: Currency,
    /// ISO local time of the quote.
    pub as_of: String,
    /// Where it came from (`tradernet`, `demo`, `import`, ...).
    pub source: String,
}

/// An order the broker reports as open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerOrderRecord {
    pub broker_id: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: Quantity,
    pub price: Decimal,
    pub currency: Currency,
    /// A buy on margin or a short sale: the order borrows from the broker.
    pub margin: bool,
}

impl Store {
    /// Writes (insert or replace) `quotes` in one transaction. Every row is checked first: a
    /// symbol twice, an empty symbol or a price that is not positive refuses the whole batch.
    pub fn put_quotes(&self, quotes: &[QuoteRecord]) -> Result<(), StoreError> {
        let rows: Vec<QuoteRecord> = quotes
            .iter()
            .map(|q| QuoteRecord {
                symbol: normalize_symbol(&q.symbol),
                ..q.clone()
            })
            .collect();
        unique_symbols(rows.iter().map(|q| q.symbol.as_str()), "quotes")?;
        if let Some(bad) = rows
            .iter()
            .find(|q| q.symbol.is_empty() || !q.price.is_positive() || q.source.is_empty())
        {
            return Err(StoreError::Invalid {
                what: "quote",
                reason: format!("{bad:?}"),
            });
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO quotes (symbol, price, currency, as_of, source) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT(symbol) DO UPDATE SET price = excluded.price, \
                     currency = excluded.currency, as_of = excluded.as_of, source = excluded.source",
                )?;
                for q in &rows {
                    insert.execute(params![q.symbol, q.price, q.currency, q.as_of, q.source])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The last quote of `symbol` (any case).
    pub fn quote(&self, symbol: &str) -> Result<Option<QuoteRecord>, StoreError> {
        let symbol = normalize_symbol(symbol);
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT symbol, price, currency, as_of, source FROM quotes WHERE symbol = ?1",
                )?
                .query_row([&symbol], quote_from_row)
                .optional()?)
        })
    }

    /// Every stored quote, by symbol.
    pub fn quotes(&self) -> Result<Vec<QuoteRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT symbol, price, currency, as_of, source FROM quotes ORDER BY symbol",
            )?;
            let rows = stmt.query_map([], quote_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Makes `orders` the broker's open orders, all or nothing.
    pub fn replace_broker_orders(
        &self,
        orders: &[BrokerOrderRecord],
        allow_empty: AllowEmpty,
    ) -> Result<(), StoreError> {
        refuse_empty(orders.is_empty(), allow_empty, "broker orders")?;
        let mut ids = std::collections::BTreeSet::new();
        for order in orders {
            if order.broker_id.is_empty() || !ids.insert(order.broker_id.as_str()) {
                return Err(StoreError::Invalid {
                    what: "broker orders",
                    reason: format!("order id {:?} is empty or appears twice", order.broker_id),
                });
            }
            if order.quantity.is_zero() || order.price.is_negative() {
                return Err(StoreError::Invalid {
                    what: "broker order",
                    reason: format!("{order:?}"),
                });
            }
        }
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM broker_orders", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO broker_orders \
                     (broker_id, symbol, side, quantity, price, currency, seen_at, margin) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for o in orders {
                    insert.execute(params![
                        o.broker_id,
                        normalize_symbol(&o.symbol),
                        o.side,
                        o.quantity,
                        o.price,
                        o.currency,
                        now,
                        o.margin
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The broker's open orders as last synced, by symbol then id.
    /// Replaces the broker's open orders that could not be attributed (no symbol or no
    /// side), by their broker id (empty when the broker sent none).
    pub fn replace_unattributable_orders(&self, broker_ids: &[String]) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM unattributable_broker_orders", [])?;
            for id in broker_ids {
                tx.execute(
                    "INSERT INTO unattributable_broker_orders (broker_id, raw_side, seen_at) \
                     VALUES (?1, '', ?2)",
                    rusqlite::params![id, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The broker ids of the open orders that could not be attributed; while any is listed,
    /// live orders are blocked.
    pub fn unattributable_orders(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT broker_id FROM unattributable_broker_orders ORDER BY broker_id",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn broker_orders(&self) -> Result<Vec<BrokerOrderRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT broker_id, symbol, side, quantity, price, currency, margin FROM broker_orders \
                 ORDER BY symbol, broker_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(BrokerOrderRecord {
                    broker_id: r.get(0)?,
                    symbol: r.get(1)?,
                    side: r.get(2)?,
                    quantity: r.get(3)?,
                    price: r.get(4)?,
                    currency: r.get(5)?,
                    margin: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

fn quote_from_row(r: &Row<'_>) -> rusqlite::Result<QuoteRecord> {
    Ok(QuoteRecord {
        symbol: r.get(0)?,
        price: r.get(1)?,
        currency: r.get(2)?,
        as_of: r.get(3)?,
        source: r.get(4)?,
    })
}
