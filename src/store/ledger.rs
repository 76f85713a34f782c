//! The ledger: executed trades and pending orders.
//!
//! Both are idempotent on a caller-supplied key, because a retried request or a crash between
//! "order sent" and "order recorded" must not produce a second trade or a second order (the
//! reference's duplicate-order bugs). The database enforces at most one open order per symbol.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError, now_iso};
use crate::domain::{Currency, Decimal, Quantity, Side, normalize_symbol};

/// Where a trade comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum TradeSource {
    /// Filled against the local ledger in research mode; never reached the broker.
    Paper,
    /// Executed by the broker.
    Broker,
    /// Imported from legacy data.
    Import,
}

impl TradeSource {
    fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> Option<TradeSource> {
        text.parse().ok()
    }
}

/// A trade to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrade {
    pub symbol: String,
    pub isin: Option<String>,
    pub side: Side,
    /// Positive.
    pub quantity: Quantity,
    /// Price per share in `currency`.
    pub price: Decimal,
    pub currency: Currency,
    /// 1 EUR = `fx_per_eur` units of `currency` at execution, when known.
    pub fx_per_eur: Option<Decimal>,
    /// ISO local time, compared as text like the reference's ledger.
    pub executed_at: String,
    pub source: TradeSource,
    /// The broker's order id; recorded at most once.
    pub order_id: Option<String>,
    /// Recording again with the same key returns the first trade.
    pub idempotency_key: Option<String>,
}

/// A recorded trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub id: i64,
    pub trade: NewTrade,
    pub recorded_at: String,
    /// Transaction costs in the trade's currency, when known (a paper fill's; the broker's
    /// trade list does not carry them).
    pub fee: Option<Decimal>,
}

/// The result of an idempotent insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    /// Written now.
    Inserted(T),
    /// Already there under the same key (or broker order id); nothing was written.
    Existing(T),
}

impl<T> Recorded<T> {
    pub fn into_inner(self) -> T {
        match self {
            Recorded::Inserted(t) | Recorded::Existing(t) => t,
        }
    }

    pub fn was_inserted(&self) -> bool {
        matches!(self, Recorded::Inserted(_))
    }
}

/// The state of a pending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum OrderStatus {
    Open,
    Filled,
    Cancelled,
}

impl OrderStatus {
    fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> Option<OrderStatus> {
        text.parse().ok()
    }
}

/// An order to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    /// Positive.
    pub quantity: Quantity,
    /// Expected (limit) price per share in `currency`.
    pub price: Decimal,
    pub currency: Currency,
    /// Derived from the plan and step; adding the same key again returns the first order.
    pub idempotency_key: String,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOrder {
    pub id: i64,
    pub order: NewOrder,
    pub status: OrderStatus,
    /// The trade that filled it.
    pub trade_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    /// The broker's id, once it acknowledged the order.
    pub broker_order_id: Option<String>,
}

/// How an order was filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFill {
    pub price: Decimal,
    pub fx_per_eur: Option<Decimal>,
    pub executed_at: String,
    pub source: TradeSource,
    pub order_id: Option<String>,
}

const TRADE_COLUMNS: &str = "id, symbol, isin, side, quantity, price, currency, fx_per_eur, \
     executed_at, source, order_id, idempotency_key, recorded_at, fee";

const ORDER_COLUMNS: &str = "id, symbol, side, quantity, price, currency, idempotency_key, \
     status, trade_id, created_at, updated_at, broker_order_id";

impl Store {
    /// Records a trade once: if a trade with the same idempotency key, or else the same broker
    /// order id, exists, it is returned as [`Recorded::Existing`] and nothing is written.
    pub fn record_trade(&self, trade: &NewTrade) -> Result<Recorded<Trade>, StoreError> {
        let trade = checked_trade(trade)?;
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let recorded = record_trade_in(&tx, &trade)?;
            tx.commit()?;
            Ok(recorded)
        })
    }

    /// One trade by id.
    pub fn trade(&self, id: i64) -> Result<Option<Trade>, StoreError> {
        self.read(|conn| find_trade(conn, "id = ?1", &id))
    }

    /// Trades, oldest first; only those of `symbol` (any case) when given.
    pub fn trades(&self, symbol: Option<&str>) -> Result<Vec<Trade>, StoreError> {
        let symbol = symbol.map(normalize_symbol);
        self.read(|conn| {
            let sql = format!(
                "SELECT {TRADE_COLUMNS} FROM trades WHERE ?1 IS NULL OR symbol = ?1 \
                 ORDER BY executed_at, id"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([&symbol], trade_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Adds an open order. The same idempotency key again returns the first order as
    /// [`Recorded::Existing`]; another open order for the same symbol is refused with
    /// [`StoreError::OpenOrderExists`].
    pub fn add_pending_order(
        &self,
        order: &NewOrder,
    ) -> Result<Recorded<PendingOrder>, StoreError> {
        let order = NewOrder {
            symbol: normalize_symbol(&order.symbol),
            ..order.clone()
        };
        if order.symbol.is_empty()
            || order.quantity.is_zero()
            || order.price.is_negative()
            || order.idempotency_key.is_empty()
        {
            return Err(StoreError::Invalid {
                what: "order",
                reason: format!("{order:?}"),
            });
        }
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(existing) = find_order(&tx, "idempotency_key = ?1", &order.idempotency_key)?
            {
                return Ok(Recorded::Existing(existing));
            }
            if let Some(open) = find_order(&tx, "symbol = ?1 AND status = 'open'", &order.symbol)? {
                return Err(StoreError::OpenOrderExists {
                    symbol: order.symbol,
                    open_order_id: open.id,
                });
            }
            tx.prepare_cached(
                "INSERT INTO pending_orders (symbol, side, quantity, price, currency, \
                 idempotency_key, status, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?7)",
            )?
            .execute(params![
                order.symbol,
                order.side,
                order.quantity,
                order.price,
                order.currency,
                order.idempotency_key,
                now
            ])?;
            let id = tx.last_insert_rowid();
            let stored = find_order(&tx, "id = ?1", &id)?.ok_or(StoreError::OrderNotFound(id))?;
            tx.commit()?;
            Ok(Recorded::Inserted(stored))
        })
    }

    /// Orders, oldest first; only those in `status` when given.
    pub fn pending_orders(
        &self,
        status: Option<OrderStatus>,
    ) -> Result<Vec<PendingOrder>, StoreError> {
        let status = status.map(OrderStatus::as_str);
        self.read(|conn| {
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM pending_orders WHERE ?1 IS NULL OR status = ?1 \
                 ORDER BY id"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([status], order_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The open order of `symbol` (any case), if any.
    pub fn open_order_for(&self, symbol: &str) -> Result<Option<PendingOrder>, StoreError> {
        let symbol = normalize_symbol(symbol);
        self.read(|conn| find_order(conn, "symbol = ?1 AND status = 'open'", &symbol))
    }

    /// The trade recorded under an idempotency key, if any.
    pub fn trade_by_idempotency_key(&self, key: &str) -> Result<Option<Trade>, StoreError> {
        self.read(|conn| trade_by_key(conn, key))
    }

    /// The trade recorded under the broker's id (its trade or order id), if any.
    pub fn trade_by_order_id(&self, order_id: &str) -> Result<Option<Trade>, StoreError> {
        self.read(|conn| find_trade(conn, "order_id = ?1", &order_id))
    }

    /// The order (in any status) recorded under an idempotency key, if any.
    pub fn order_by_key(&self, key: &str) -> Result<Option<PendingOrder>, StoreError> {
        self.read(|conn| find_order(conn, "idempotency_key = ?1", &key))
    }

    /// Records the broker's id of an open order.
    pub fn set_broker_order_id(&self, id: i64, broker_order_id: &str) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            open_order(&tx, id)?;
            tx.execute(
                "UPDATE pending_orders SET broker_order_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, broker_order_id, now],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The open order the broker knows as `broker_order_id`, if any.
    pub fn open_order_by_broker_id(
        &self,
        broker_order_id: &str,
    ) -> Result<Option<PendingOrder>, StoreError> {
        self.read(|conn| {
            find_order(
                conn,
                "broker_order_id = ?1 AND status = 'open'",
                &broker_order_id,
            )
        })
    }

    /// Cancels an open order.
    pub fn cancel_pending_order(&self, id: i64) -> Result<PendingOrder, StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            open_order(&tx, id)?;
            tx.execute(
                "UPDATE pending_orders SET status = 'cancelled', updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            let order = find_order(&tx, "id = ?1", &id)?.ok_or(StoreError::OrderNotFound(id))?;
            tx.commit()?;
            Ok(order)
        })
    }

    /// Marks an open order filled and records its trade, in one transaction, so an order is
    /// never filled without its trade or the other way round. The trade carries the order's
    /// idempotency key: if a broker sync already recorded it, that trade is linked instead.
    pub fn fill_pending_order(&self, id: i64, fill: &OrderFill) -> Result<Trade, StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let order = open_order(&tx, id)?;
            let trade = checked_trade(&NewTrade {
                symbol: order.order.symbol.clone(),
                isin: None,
                side: order.order.side,
                quantity: order.order.quantity,
                price: fill.price,
                currency: order.order.currency,
                fx_per_eur: fill.fx_per_eur,
                executed_at: fill.executed_at.clone(),
                source: fill.source,
                order_id: fill.order_id.clone(),
                idempotency_key: Some(order.order.idempotency_key.clone()),
            })?;
            let trade = record_trade_in(&tx, &trade)?.into_inner();
            tx.execute(
                "UPDATE pending_orders SET status = 'filled', trade_id = ?2, updated_at = ?3 \
                 WHERE id = ?1",
                params![id, trade.id, now],
            )?;
            tx.commit()?;
            Ok(trade)
        })
    }
}

fn checked_trade(trade: &NewTrade) -> Result<NewTrade, StoreError> {
    let trade = NewTrade {
        symbol: normalize_symbol(&trade.symbol),
        ..trade.clone()
    };
    let bad_rate = trade.fx_per_eur.is_some_and(|r| !r.is_positive());
    if trade.symbol.is_empty() || trade.quantity.is_zero() || trade.price.is_negative() || bad_rate
    {
        return Err(StoreError::Invalid {
            what: "trade",
            reason: format!("{trade:?}"),
        });
    }
    Ok(trade)
}

pub(super) fn record_trade_in(
    conn: &Connection,
    trade: &NewTrade,
) -> Result<Recorded<Trade>, StoreError> {
    if let Some(key) = &trade.idempotency_key
        && let Some(existing) = find_trade(conn, "idempotency_key = ?1", key)?
    {
        return Ok(Recorded::Existing(existing));
    }
    if let Some(order_id) = &trade.order_id
        && let Some(existing) = find_trade(conn, "order_id = ?1", order_id)?
    {
        return Ok(Recorded::Existing(existing));
    }
    conn.prepare_cached(
        "INSERT INTO trades (symbol, isin, side, quantity, price, currency, fx_per_eur, \
         executed_at, source, order_id, idempotency_key, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        trade.symbol,
        trade.isin,
        trade.side,
        trade.quantity,
        trade.price,
        trade.currency,
        trade.fx_per_eur,
        trade.executed_at,
        trade.source.as_str(),
        trade.order_id,
        trade.idempotency_key,
        now_iso()
    ])?;
    let id = conn.last_insert_rowid();
    let stored = find_trade(conn, "id = ?1", &id)?.ok_or_else(|| StoreError::Invalid {
        what: "trade",
        reason: format!("trade {id} vanished after insert"),
    })?;
    Ok(Recorded::Inserted(stored))
}

/// The trade recorded under `key`, if any.
pub(super) fn trade_by_key(conn: &Connection, key: &str) -> Result<Option<Trade>, StoreError> {
    find_trade(conn, "idempotency_key = ?1", &key)
}

pub(super) fn find_trade(
    conn: &Connection,
    condition: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<Trade>, StoreError> {
    let sql = format!("SELECT {TRADE_COLUMNS} FROM trades WHERE {condition}");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], trade_from_row)
        .optional()?)
}

fn find_order(
    conn: &Connection,
    condition: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<PendingOrder>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM pending_orders WHERE {condition}");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], order_from_row)
        .optional()?)
}

/// The order `id`, which must be open.
fn open_order(conn: &Connection, id: i64) -> Result<PendingOrder, StoreError> {
    let order = find_order(conn, "id = ?1", &id)?.ok_or(StoreError::OrderNotFound(id))?;
    if order.status != OrderStatus::Open {
        return Err(StoreError::OrderNotOpen {
            id,
            status: order.status.as_str().to_string(),
        });
    }
    Ok(order)
}

/// A TEXT column that must be one of a fixed set of words.
fn enum_column<T>(r: &Row<'_>, idx: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unexpected value {text:?}").into(),
        )
    })
}

fn trade_from_row(r: &Row<'_>) -> rusqlite::Result<Trade> {
    Ok(Trade {
        id: r.get(0)?,
        trade: NewTrade {
            symbol: r.get(1)?,
            isin: r.get(2)?,
            side: r.get(3)?,
            quantity: r.get(4)?,
            price: r.get(5)?,
            currency: r.get(6)?,
            fx_per_eur: r.get(7)?,
            executed_at: r.get(8)?,
            source: enum_column(r, 9, TradeSource::parse)?,
            order_id: r.get(10)?,
            idempotency_key: r.get(11)?,
        },
        recorded_at: r.get(12)?,
        fee: r.get(13)?,
    })
}

fn order_from_row(r: &Row<'_>) -> rusqlite::Result<PendingOrder> {
    Ok(PendingOrder {
        id: r.get(0)?,
        order: NewOrder {
            symbol: r.get(1)?,
            side: r.get(2)?,
            quantity: r.get(3)?,
            price: r.get(4)?,
            currency: r.get(5)?,
            idempotency_key: r.get(6)?,
        },
        status: enum_column(r, 7, OrderStatus::parse)?,
        trade_id: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        broker_order_id: r.get(11)?,
    })
}
