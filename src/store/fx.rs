//! FX rates with the day they are for: the ECB publishes one set of reference rates per
//! working day, and a rate is only as good as its date. Besides the current rate of each
//! currency, every dated rate is kept in a history of one rate per currency and day, which
//! values the portfolio's past days at the rates of their day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{Transaction, TransactionBehavior, params};

use super::{Store, StoreError, now_iso};
use crate::domain::{Currency, Decimal, FxRate};

/// A stored rate and how current it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DatedRate {
    pub rate: FxRate,
    /// The day the rate is for; for a rate stored without one (an import), the day it was
    /// stored.
    pub rate_date: Option<NaiveDate>,
    /// Whether `rate_date` is the publisher's date rather than the day it was stored.
    pub dated_by_source: bool,
    /// When it was stored (ISO local time).
    pub updated_at: String,
}

impl DatedRate {
    /// Whether the rate is more than `stale_days` days older than `today` (or of unknown age).
    pub fn is_stale(&self, today: NaiveDate, stale_days: u32) -> bool {
        self.rate_date
            .is_none_or(|day| (today - day).num_days() > i64::from(stale_days))
    }
}

/// The reference rates of one day, 1 EUR = `per_eur` units of each currency.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRates {
    pub date: NaiveDate,
    pub rates: Vec<FxRate>,
}

/// What [`Store::put_fx_history`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FxHistoryWrite {
    /// Rates written to the history (a day already stored is replaced).
    pub history_rates: usize,
    /// Current rates replaced by the newest day's, being newer than the stored ones.
    pub current_rates: usize,
}

/// Keeps `rate` as the rate of its currency on `day` in the history, replacing one stored
/// for that day.
fn put_history_rate(tx: &Transaction<'_>, rate: &FxRate, day: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO fx_history (currency, day, rate) VALUES (?1, ?2, ?3) \
         ON CONFLICT(currency, day) DO UPDATE SET rate = excluded.rate",
    )?
    .execute(params![rate.currency(), day, rate.per_eur().to_f64()])?;
    Ok(())
}

impl Store {
    /// Stores `rates` (1 EUR = `per_eur` units) as the current rates, of `rate_date`, and in
    /// the history, in one transaction. EUR itself is implicit and skipped.
    pub fn put_dated_fx_rates(
        &self,
        rates: &[FxRate],
        rate_date: NaiveDate,
    ) -> Result<usize, StoreError> {
        let now = now_iso();
        let day = rate_date.format("%Y-%m-%d").to_string();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut written = 0;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO fx_rates (currency, per_eur, updated_at, rate_date) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT(currency) DO UPDATE SET per_eur = excluded.per_eur, \
                     updated_at = excluded.updated_at, rate_date = excluded.rate_date",
                )?;
                for rate in rates.iter().filter(|r| r.currency() != Currency::EUR) {
                    upsert.execute(params![rate.currency(), rate.per_eur(), now, day])?;
                    put_history_rate(&tx, rate, &day)?;
                    written += 1;
                }
            }
            tx.commit()?;
            Ok(written)
        })
    }

    /// Adds the rates of `days` to the history, in one transaction; the rates of the newest
    /// day also replace the current rates of their currencies that are older (by their date,
    /// or for a rate stored without one, the day it was stored). EUR itself is skipped.
    pub fn put_fx_history(&self, days: &[DayRates]) -> Result<FxHistoryWrite, StoreError> {
        let now = now_iso();
        let newest = days.iter().max_by_key(|d| d.date);
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut written = FxHistoryWrite {
                history_rates: 0,
                current_rates: 0,
            };
            for rates in days {
                let day = rates.date.format("%Y-%m-%d").to_string();
                for rate in rates.rates.iter().filter(|r| r.currency() != Currency::EUR) {
                    put_history_rate(&tx, rate, &day)?;
                    written.history_rates += 1;
                }
            }
            if let Some(newest) = newest {
                let day = newest.date.format("%Y-%m-%d").to_string();
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO fx_rates (currency, per_eur, updated_at, rate_date) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT(currency) DO UPDATE SET per_eur = excluded.per_eur, \
                     updated_at = excluded.updated_at, rate_date = excluded.rate_date \
                     WHERE excluded.rate_date > \
                     coalesce(fx_rates.rate_date, substr(fx_rates.updated_at, 1, 10))",
                )?;
                for rate in newest
                    .rates
                    .iter()
                    .filter(|r| r.currency() != Currency::EUR)
                {
                    written.current_rates +=
                        upsert.execute(params![rate.currency(), rate.per_eur(), now, day])?;
                }
            }
            tx.commit()?;
            Ok(written)
        })
    }

    /// The history of every currency's rate (1 EUR = rate units), oldest day first.
    pub fn fx_history(&self) -> Result<BTreeMap<Currency, Vec<(NaiveDate, f64)>>, StoreError> {
        let rows: Vec<(Currency, String, f64)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT currency, day, rate FROM fx_history ORDER BY currency, day",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        let mut history: BTreeMap<Currency, Vec<(NaiveDate, f64)>> = BTreeMap::new();
        for (currency, day, rate) in rows {
            if let Some(day) = parse_day(&day) {
                history.entry(currency).or_default().push((day, rate));
            }
        }
        Ok(history)
    }

    /// Every stored rate with its date, by currency (EUR, implicit, is not listed).
    pub fn fx_rates_dated(&self) -> Result<Vec<DatedRate>, StoreError> {
        type Row = (Currency, Decimal, String, Option<String>);
        let rows: Vec<Row> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT currency, per_eur, updated_at, rate_date FROM fx_rates ORDER BY currency",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter()
            .map(|(currency, per_eur, updated_at, rate_date)| {
                let published = rate_date.as_deref().and_then(parse_day);
                Ok(DatedRate {
                    rate: FxRate::new(currency, per_eur)?,
                    dated_by_source: published.is_some(),
                    rate_date: published.or_else(|| parse_day(updated_at.get(..10)?)),
                    updated_at,
                })
            })
            .collect::<Result<_, crate::domain::MoneyError>>()
            .map_err(StoreError::from)
    }
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}
