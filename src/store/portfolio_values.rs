//! The portfolio's value per day (`portfolio_values`): written by the service each day and
//! back-filled for past days (see `crate::portfolio_history`).

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError};

const DAY_FORMAT: &str = "%Y-%m-%d";

/// One day's value of the portfolio in EUR and the deposits made that day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyValue {
    pub day: NaiveDate,
    pub value_eur: f64,
    pub deposit_eur: f64,
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
    /// Records `day`'s value as the service computed it from that day's data: replaces a
    /// back-filled or earlier value of the day and keeps its deposits.
    pub fn put_daily_value(
        &self,
        day: NaiveDate,
        value_eur: f64,
        at: &str,
    ) -> Result<(), StoreError> {
        self.add_daily_deposit(day, value_eur, 0.0, at)
    }

    /// Adds `deposit_eur` to `day`'s deposits and records the day's value (which includes
    /// the deposit).
    pub fn add_daily_deposit(
        &self,
        day: NaiveDate,
        value_eur: f64,
        deposit_eur: f64,
        at: &str,
    ) -> Result<(), StoreError> {
        let value_eur = checked("daily value", value_eur)?;
        let deposit_eur = checked("daily deposit", deposit_eur)?;
        let day = day.format(DAY_FORMAT).to_string();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before: Option<String> = tx
                .prepare_cached("SELECT deposit_eur FROM portfolio_values WHERE day = ?1")?
                .query_row([&day], |r| r.get(0))
                .optional()?;
            let deposits = before.and_then(|d| d.parse::<f64>().ok()).unwrap_or(0.0) + deposit_eur;
            tx.prepare_cached(
                "INSERT INTO portfolio_values (day, value_eur, deposit_eur, backfilled, recorded_at) \
                 VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT(day) DO UPDATE SET \
                 value_eur = excluded.value_eur, deposit_eur = excluded.deposit_eur, \
                 backfilled = 0, recorded_at = excluded.recorded_at",
            )?
            .execute(params![day, cents(value_eur), cents(deposits), at])?;
            tx.commit()?;
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
        for (_, value) in values {
            checked("back-filled value", *value)?;
        }
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut added = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO portfolio_values (day, value_eur, deposit_eur, backfilled, recorded_at) \
                     VALUES (?1, ?2, '0.00', 1, ?3) ON CONFLICT(day) DO NOTHING",
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
        let rows: Vec<(String, String, String, bool)> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, value_eur, deposit_eur, backfilled FROM portfolio_values ORDER BY day",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(day, value_eur, deposit_eur, backfilled)| {
                Some(DailyValue {
                    day: NaiveDate::parse_from_str(&day, DAY_FORMAT).ok()?,
                    value_eur: value_eur.parse().ok()?,
                    deposit_eur: deposit_eur.parse().ok()?,
                    backfilled,
                })
            })
            .collect())
    }
}
