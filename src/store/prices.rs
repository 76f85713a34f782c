//! Daily price history: one row per symbol and day (`daily_prices`), grown from the synced
//! quotes and back-filled from the broker's candles and daily-price CSV files.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rusqlite::{TransactionBehavior, params};

use super::{Store, StoreError};

/// One day's close of a security, in its currency.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyClose {
    pub symbol: String,
    pub day: NaiveDate,
    pub close: f64,
}

/// How much history a symbol has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySpan {
    pub days: usize,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

const DAY_FORMAT: &str = "%Y-%m-%d";

impl Store {
    /// Writes `closes` in one transaction and returns how many rows changed. `replace`: a day
    /// already stored takes the new close (a later quote of the same day, the broker's candle);
    /// otherwise stored days are kept and only missing ones are added (a back-fill). Either way
    /// a real close replaces an invented one (see [`Store::put_invented_closes`]). Symbols are
    /// upper-cased; a close that is not a positive finite number refuses the whole batch.
    pub fn put_daily_closes(
        &self,
        closes: &[DailyClose],
        replace: bool,
    ) -> Result<usize, StoreError> {
        let sql = if replace {
            "INSERT INTO daily_prices (symbol, day, close) VALUES (?1, ?2, ?3) \
             ON CONFLICT(symbol, day) DO UPDATE SET close = excluded.close, invented = 0 \
             WHERE close <> excluded.close OR invented = 1"
        } else {
            "INSERT INTO daily_prices (symbol, day, close) VALUES (?1, ?2, ?3) \
             ON CONFLICT(symbol, day) DO UPDATE SET close = excluded.close, invented = 0 \
             WHERE invented = 1"
        };
        self.write_closes(closes, sql)
    }

    /// Adds closes the demo invented, marked as such, to the days that have none; a stored
    /// close is kept. Returns how many were added.
    pub fn put_invented_closes(&self, closes: &[DailyClose]) -> Result<usize, StoreError> {
        self.write_closes(
            closes,
            "INSERT INTO daily_prices (symbol, day, close, invented) VALUES (?1, ?2, ?3, 1) \
             ON CONFLICT(symbol, day) DO NOTHING",
        )
    }

    /// How many of the stored closes are invented.
    pub fn invented_close_count(&self) -> Result<usize, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM daily_prices WHERE invented = 1")?
                .query_row([], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    fn write_closes(&self, closes: &[DailyClose], sql: &str) -> Result<usize, StoreError> {
        if let Some(bad) = closes
            .iter()
            .find(|c| !(c.close.is_finite() && c.close > 0.0) || c.symbol.trim().is_empty())
        {
            return Err(StoreError::Invalid {
                what: "daily close",
                reason: format!("{} {} {}", bad.symbol, bad.day, bad.close),
            });
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut changed = 0;
            {
                let mut upsert = tx.prepare_cached(sql)?;
                for c in closes {
                    changed += upsert.execute(params![
                        c.symbol.trim().to_uppercase(),
                        c.day.format(DAY_FORMAT).to_string(),
                        c.close
                    ])?;
                }
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    /// The closes of `symbol`, oldest first, as the analytics read them.
    pub fn daily_closes(&self, symbol: &str) -> Result<Vec<(NaiveDate, f64)>, StoreError> {
        let rows: Vec<(String, f64)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, close FROM daily_prices WHERE symbol = ?1 ORDER BY day",
            )?;
            let rows = stmt.query_map([symbol.to_uppercase()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(day, close)| {
                Some((NaiveDate::parse_from_str(&day, DAY_FORMAT).ok()?, close))
            })
            .collect())
    }

    /// The stored history of every symbol that has some.
    pub fn history_spans(&self) -> Result<BTreeMap<String, HistorySpan>, StoreError> {
        let rows: Vec<(String, i64, String, String)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT symbol, COUNT(*), MIN(day), MAX(day) FROM daily_prices GROUP BY symbol",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(symbol, days, first, last)| {
                let day = |t: &str| NaiveDate::parse_from_str(t, DAY_FORMAT).ok();
                Some((
                    symbol,
                    HistorySpan {
                        days: usize::try_from(days).ok()?,
                        first: day(&first)?,
                        last: day(&last)?,
                    },
                ))
            })
            .collect())
    }

    /// Records that `symbol`'s history was back-filled with `days` closes.
    pub fn mark_backfilled(&self, symbol: &str, at: &str, days: usize) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO price_backfills (symbol, fetched_at, days) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(symbol) DO UPDATE SET fetched_at = excluded.fetched_at, \
                 days = excluded.days",
            )?
            .execute(params![symbol.to_uppercase(), at, days as i64])?;
            Ok(())
        })
    }

    /// The symbols already back-filled.
    pub fn backfilled_symbols(&self) -> Result<BTreeSet<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT symbol FROM price_backfills")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
