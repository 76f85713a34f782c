//! The time-weighted return of the daily values, with the convention of the backtest
//! (docs/backtest.md): a day's return is r(d) = (V(d) − deposit(d)) / V(d−1) − 1, so a deposit
//! is not counted as performance, and the returns of consecutive days are chained.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use super::HistoryPoint;

/// The time-weighted returns over the last month, the last year and the whole stored history,
/// as fractions (not annualised); `None` where the history does not reach that far back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Twr {
    pub one_month: Option<f64>,
    pub one_year: Option<f64>,
    pub since_start: Option<f64>,
}

/// The chained return from the first of `points` to the last; `None` with fewer than two. A
/// day after a zero value (an empty portfolio before its first deposit) adds no return.
pub fn chained_return(points: &[HistoryPoint]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let growth = points.windows(2).fold(1.0, |growth, pair| {
        let (before, day) = (&pair[0], &pair[1]);
        if before.value_eur > 0.0 {
            growth * (day.value_eur - day.deposit_eur) / before.value_eur
        } else {
            growth
        }
    });
    Some(growth - 1.0)
}

/// The return since the last stored day on or before `months` months before the last one.
fn over_months(points: &[HistoryPoint], months: u32) -> Option<f64> {
    let last = points.last()?.date;
    let start: NaiveDate = last.checked_sub_months(Months::new(months))?;
    let base = points.iter().rposition(|p| p.date <= start)?;
    chained_return(&points[base..])
}

/// The returns of `points` (oldest first, one per day).
pub fn twr(points: &[HistoryPoint]) -> Twr {
    Twr {
        one_month: over_months(points, 1),
        one_year: over_months(points, 12),
        since_start: chained_return(points),
    }
}
