//! FX rates with the day they are for: the ECB publishes one set of reference rates per
//! working day, and a rate is only as good as its date.

use chrono::NaiveDate;
use rusqlite::{TransactionBehavior, params};

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

impl Store {
    /// Stores `rates` (1 EUR = `per_eur` units) as the rates of `rate_date`, in one
    /// transaction. EUR itself is implicit and skipped.
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
                    written += 1;
                }
            }
            tx.commit()?;
            Ok(written)
        })
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
