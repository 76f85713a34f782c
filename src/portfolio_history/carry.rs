//! A day's figure carried from the latest earlier day that has one: markets and the ECB skip
//! weekends and holidays, so a day without its own close or rate takes the last one before it,
//! but not one so old it no longer says much about the day.

use chrono::NaiveDate;

/// A close or rate older than this is not carried forward to a day.
pub const MAX_CARRY_DAYS: i64 = 7;

/// The last value of `series` (oldest first) on or before `day`, no older than
/// [`MAX_CARRY_DAYS`].
pub fn carried(series: &[(NaiveDate, f64)], day: NaiveDate) -> Option<f64> {
    let i = series.partition_point(|(d, _)| *d <= day);
    let (d, value) = *series.get(i.checked_sub(1)?)?;
    ((day - d).num_days() <= MAX_CARRY_DAYS).then_some(value)
}
