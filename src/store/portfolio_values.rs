//! The portfolio's value per day (`portfolio_values`): written by the service each day and
//! back-filled for past days (see `crate::portfolio_history`). A day's deposits are not kept
//! here: the `deposits` ledger is their one record.

use chrono::NaiveDate;
use rusqlite::{TransactionBehavior, params};

use super::{Store, StoreError};

const DAY_FORMAT: &str = "%Y-%m-%d";

/// One day's value of the portfolio in EUR.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyValue {
    pub day: NaiveDate,
    pub value_eur: f64,
    /// Reconstructed afterwards from the price history and the trades, not recorded that day.
    pub backfilled: bool,
}

/// An amount as stored: decimal text to the cent.
fn cents(value: f64) -> String {
    format!("{value:.2}")
}

fn checked(what: &'static str, value: f64) -> Result<f64, StoreError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(StoreError::Invalid {
            what,
            reason: format!("{value} is not a finite amount ≥ 0"),
        })
    }
}

impl Store {
    /// Records `day`'s value as the service computed it from that day's data, replacing a
    /// back-filled or earlier value of the day.
    pub fn put_daily_value(
        &self,
        day: NaiveDate,
        value_eur: f64,
        at: &str,
    ) -> Result<(), StoreError> {
        let value_eur = checked("daily value", value_eur)?;
        let day = day.format(DAY_FORMAT).to_string();
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO portfolio_values (day, value_eur, backfilled, recorded_at) \
                 VALUES (?1, ?2, 0, ?3) ON CONFLICT(day) DO UPDATE SET \
                 value_eur = excluded.value_eur, backfilled = 0, \
                 recorded_at = excluded.recorded_at",
            )?
            .execute(params![day, cents(value_eur), at])?;
            Ok(())
        })
    }

    /// Adds back-filled values for days that have none, in one transaction, and returns how
    /// many were added; a day already recorded is kept as it is.
    pub fn put_backfilled_values(
        &self,
        values: &[(NaiveDate, f64)],
        at: &str,
    ) -> Result<usize, StoreError> {
        self.put_backfilled_values_computed_with(values, at, 0)
    }

    /// As [`Store::put_backfilled_values`], for values computed from a price history that
    /// held `invented_closes` invented closes: when there were some and none is left now (the
    /// demo was left between the read and this write, see `forget_demo_derived`), nothing is
    /// written, so no value of the demo portfolio outlives it. The check and the write are one
    /// transaction.
    pub fn put_backfilled_values_computed_with(
        &self,
        values: &[(NaiveDate, f64)],
        at: &str,
        invented_closes: usize,
    ) -> Result<usize, StoreError> {
        for (_, value) in values {
            checked("back-filled value", *value)?;
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if invented_closes > 0 {
                let left: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM daily_prices WHERE invented = 1",
                    [],
                    |r| r.get(0),
                )?;
                if left == 0 {
                    return Ok(0);
                }
            }
            let mut added = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO portfolio_values (day, value_eur, backfilled, recorded_at) \
                     VALUES (?1, ?2, 1, ?3) ON CONFLICT(day) DO NOTHING",
                )?;
                for (day, value) in values {
                    added += insert.execute(params![
                        day.format(DAY_FORMAT).to_string(),
                        cents(*value),
                        at
                    ])?;
                }
            }
            tx.commit()?;
            Ok(added)
        })
    }

    /// The stored daily values, oldest first.
    pub fn daily_values(&self) -> Result<Vec<DailyValue>, StoreError> {
        let rows: Vec<(String, String, bool)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, value_eur, backfilled FROM portfolio_values ORDER BY day",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(day, value_eur, backfilled)| {
                Some(DailyValue {
                    day: NaiveDate::parse_from_str(&day, DAY_FORMAT).ok()?,
                    value_eur: value_eur.parse().ok()?,
                    backfilled,
                })
            })
            .collect())
    }
}
