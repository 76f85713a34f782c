//! Paper fills: a research-mode order settles against the local ledger, positions and cash in
//! one transaction, so a crash never leaves a trade without its cash movement or the other
//! way round.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::ledger::{NewTrade, Recorded, Trade, TradeSource, record_trade_in, trade_by_key};
use super::{Store, StoreError, iso};
use crate::domain::{Currency, Decimal, Money, Quantity, Side, normalize_symbol};

/// Places kept for a blended average purchase price.
const AVG_PRICE_PLACES: u32 = 6;

/// A research-mode order to settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperFill {
    pub symbol: String,
    pub side: Side,
    pub quantity: Quantity,
    /// The fill price (the last stored quote), in `currency`.
    pub price: Decimal,
    pub currency: Currency,
    /// Transaction costs, in `currency`; added to a buy's cost, taken from a sell's proceeds.
    pub fee: Money,
    /// 1 EUR = `fx_per_eur` units of `currency`, recorded with the trade when known.
    pub fx_per_eur: Option<Decimal>,
    /// The plan step's key: settling the same key again changes nothing.
    pub idempotency_key: String,
    /// For a buy in a currency other than EUR: the rate at which a shortfall of that
    /// currency's cash is converted from EUR cash. `None` = no conversion.
    pub fund_from_eur: Option<crate::domain::FxRate>,
    /// When the fill happened: the trade's time, from which holding periods and cooldowns
    /// count (the simulated day in a backtest).
    pub executed_at: chrono::NaiveDateTime,
}

impl Store {
    /// Settles `fill`: records the trade, moves the position and the cash of the fill's
    /// currency. Refused, with nothing written, when a buy costs more than that cash, a sell
    /// wants more shares than are held, the security is unknown, or the numbers are invalid.
    /// A key already settled returns its trade as [`Recorded::Existing`].
    pub fn apply_paper_fill(&self, fill: &PaperFill) -> Result<Recorded<Trade>, StoreError> {
        let symbol = normalize_symbol(&fill.symbol);
        if symbol.is_empty()
            || fill.quantity.is_zero()
            || !fill.price.is_positive()
            || fill.fee.is_negative()
            || fill.fee.currency() != fill.currency
            || fill.idempotency_key.is_empty()
        {
            return Err(StoreError::Invalid {
                what: "paper fill",
                reason: format!("{fill:?}"),
            });
        }
        let value = Money::from_price_quantity(fill.price, fill.quantity, fill.currency)?;
        let now = iso(fill.executed_at);
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(existing) = trade_by_key(&tx, &fill.idempotency_key)? {
                return Ok(Recorded::Existing(existing));
            }
            let security_currency: Option<Currency> = tx
                .prepare_cached("SELECT currency FROM securities WHERE symbol = ?1")?
                .query_row([&symbol], |r| r.get(0))
                .optional()?;
            match security_currency {
                None => {
                    return Err(StoreError::Invalid {
                        what: "paper fill",
                        reason: format!("{symbol} is not a known security"),
                    });
                }
                Some(c) if c != fill.currency => {
                    return Err(StoreError::Invalid {
                        what: "paper fill",
                        reason: format!("{symbol} trades in {c}, not {}", fill.currency),
                    });
                }
                Some(_) => {}
            }
            let mut cash = cash_in(&tx, fill.currency)?;
            if fill.side == Side::Buy
                && let Some(rate) = fill.fund_from_eur
                && rate.currency() == fill.currency
                && fill.currency != Currency::EUR
            {
                let cost = value.checked_add(fill.fee)?;
                let shortfall = cost.checked_sub(cash)?;
                if shortfall.minor() > 0 {
                    let (eur, bought) = eur_for(rate, shortfall)?;
                    let eur_cash = cash_in(&tx, Currency::EUR)?.checked_sub(eur)?;
                    if eur_cash.is_negative() {
                        return Err(StoreError::InsufficientCash {
                            currency: Currency::EUR,
                            available: eur_cash.checked_add(eur)?.to_decimal_string(),
                            needed: eur.to_decimal_string(),
                        });
                    }
                    put_cash(&tx, eur_cash, &now)?;
                    cash = cash.checked_add(bought)?;
                }
            }
            let cash_after = match fill.side {
                Side::Buy => cash.checked_sub(value)?.checked_sub(fill.fee)?,
                Side::Sell => cash.checked_add(value)?.checked_sub(fill.fee)?,
            };
            if cash_after.is_negative() {
                return Err(StoreError::InsufficientCash {
                    currency: fill.currency,
                    available: cash.to_decimal_string(),
                    needed: match fill.side {
                        Side::Buy => value.checked_add(fill.fee)?.to_decimal_string(),
                        Side::Sell => fill.fee.checked_sub(value)?.to_decimal_string(),
                    },
                });
            }
            move_position(&tx, &symbol, fill, &now)?;
            put_cash(&tx, cash_after, &now)?;
            let trade = NewTrade {
                symbol: symbol.clone(),
                isin: None,
                side: fill.side,
                quantity: fill.quantity,
                price: fill.price,
                currency: fill.currency,
                fx_per_eur: fill.fx_per_eur,
                executed_at: now.clone(),
                source: TradeSource::Paper,
                order_id: None,
                idempotency_key: Some(fill.idempotency_key.clone()),
            };
            let recorded = match record_trade_in(&tx, &trade)? {
                Recorded::Inserted(mut trade) => {
                    let fee = fill.fee.to_decimal();
                    tx.prepare_cached("UPDATE trades SET fee = ?2 WHERE id = ?1")?
                        .execute(params![trade.id, fee])?;
                    trade.fee = Some(fee);
                    Recorded::Inserted(trade)
                }
                existing => existing,
            };
            tx.commit()?;
            Ok(recorded)
        })
    }
}

pub(super) fn put_cash(conn: &Connection, cash: Money, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO cash_balances (currency, amount_minor, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(currency) DO UPDATE SET amount_minor = excluded.amount_minor, \
         updated_at = excluded.updated_at",
    )?
    .execute(params![cash.currency(), cash.minor(), now])?;
    Ok(())
}

/// The EUR to convert so that at least `needed` of the rate's currency arrives, and what
/// arrives: the conversion rounds, so a cent more is taken when rounding would fall short.
pub fn eur_for(rate: crate::domain::FxRate, needed: Money) -> Result<(Money, Money), StoreError> {
    let mut eur = rate.to_eur(needed)?;
    loop {
        let bought = rate.from_eur(eur)?;
        if bought.minor() >= needed.minor() {
            return Ok((eur, bought));
        }
        eur = eur.checked_add(Money::from_minor(1, Currency::EUR))?;
    }
}

pub(super) fn cash_in(conn: &Connection, currency: Currency) -> Result<Money, StoreError> {
    let minor: Option<i64> = conn
        .prepare_cached("SELECT amount_minor FROM cash_balances WHERE currency = ?1")?
        .query_row([currency], |r| r.get(0))
        .optional()?;
    Ok(Money::from_minor(minor.unwrap_or(0), currency))
}

/// Adds a buy to the holding (blending the average price) or takes a sell from it (removing
/// the row when nothing is left).
fn move_position(
    conn: &Connection,
    symbol: &str,
    fill: &PaperFill,
    now: &str,
) -> Result<(), StoreError> {
    let held: Option<(Quantity, Decimal)> = conn
        .prepare_cached("SELECT quantity, avg_price FROM positions WHERE symbol = ?1")?
        .query_row([symbol], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (held_qty, held_avg) = held.unwrap_or((Quantity::ZERO, Decimal::ZERO));
    let traded = fill.quantity.as_decimal();
    let held_dec = held_qty.as_decimal();
    match fill.side {
        Side::Buy => {
            let quantity = held_dec.checked_add(traded)?;
            let cost = held_dec
                .checked_mul(held_avg)?
                .checked_add(traded.checked_mul(fill.price)?)?;
            let avg_price = cost.checked_div(quantity, AVG_PRICE_PLACES)?;
            conn.prepare_cached(
                "INSERT INTO positions (symbol, quantity, avg_price, currency, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT(symbol) DO UPDATE SET quantity = excluded.quantity, \
                 avg_price = excluded.avg_price, updated_at = excluded.updated_at",
            )?
            .execute(params![
                symbol,
                Quantity::new(quantity)?,
                avg_price,
                fill.currency,
                now
            ])?;
        }
        Side::Sell => {
            if traded > held_dec {
                return Err(StoreError::InsufficientShares {
                    symbol: symbol.to_string(),
                    held: held_dec.to_string(),
                    wanted: traded.to_string(),
                });
            }
            let left = held_dec.checked_sub(traded)?;
            if left.is_zero() {
                conn.execute("DELETE FROM positions WHERE symbol = ?1", [symbol])?;
            } else {
                conn.execute(
                    "UPDATE positions SET quantity = ?2, updated_at = ?3 WHERE symbol = ?1",
                    params![symbol, Quantity::new(left)?, now],
                )?;
            }
        }
    }
    Ok(())
}
