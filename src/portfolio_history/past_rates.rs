//! The FX rate of a past day: the stored history's rate of that day, or of the latest earlier
//! day within [`MAX_CARRY_DAYS`](super::carry::MAX_CARRY_DAYS), so that a past day is valued
//! at the rates of its day. A day the history has nothing for takes the current rate: a value
//! at today's rate beats no value at all.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::carry::carried;

/// The rates to value past days with, in native units per EUR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PastRates {
    /// The current rate by currency, EUR included (1).
    pub current: HashMap<String, f64>,
    /// The stored rates of each currency by day, oldest first.
    pub history: HashMap<String, Vec<(NaiveDate, f64)>>,
}

impl PastRates {
    /// Units of `currency` per EUR on `day`; `None` for a currency with no usable rate.
    pub fn on(&self, currency: &str, day: NaiveDate) -> Option<f64> {
        self.history
            .get(currency)
            .and_then(|history| carried(history, day))
            .or_else(|| self.current.get(currency).copied())
            .filter(|r| r.is_finite() && *r > 0.0)
    }
}
