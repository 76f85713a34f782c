//! The deposits of each day, read from the `deposits` ledger: it is their one record, so the
//! chart, the time-weighted return and the back-fill never disagree with the ledger, and a
//! withdrawn deposit leaves all of them at once.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::NaiveDate;

use super::HistoryPoint;
use super::past_rates::PastRates;
use crate::store::{DailyValue, Deposit};

/// The deposits in EUR by the local day they were made (`deposited_at` is local time), each
/// converted at its currency's FX rate of that day (see [`PastRates`]) and each day's sum
/// rounded to the cent like a stored value. A deposit in a currency without a rate is left
/// out: the valuation leaves that currency's cash out of the day's value too, so counting it
/// would show a loss.
pub fn daily_deposits(deposits: &[Deposit], rates: &PastRates) -> BTreeMap<NaiveDate, f64> {
    let mut days: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for deposit in deposits {
        let day = deposit
            .deposited_at
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let currency = deposit.amount.currency().to_string();
        if let Some(day) = day
            && let Some(rate) = rates.on(&currency, day)
        {
            *days.entry(day).or_insert(0.0) += deposit.amount.to_decimal().to_f64() / rate;
        }
    }
    for sum in days.values_mut() {
        *sum = (*sum * 100.0).round() / 100.0;
    }
    days
}

/// The stored daily values with their deposits. A point carries the deposits of its day and of
/// the days since the point before it that have no value of their own (a day whose value could
/// not be recorded): the return of the point's day is where such money arrives, so it must not
/// count as performance there. Deposits before the first value and after the last have no point.
pub fn with_deposits(
    values: Vec<DailyValue>,
    deposits: &BTreeMap<NaiveDate, f64>,
) -> Vec<HistoryPoint> {
    let mut previous: Option<NaiveDate> = None;
    values
        .into_iter()
        .map(|v| {
            let since = previous.map_or(Bound::Included(v.day), Bound::Excluded);
            // A fold from +0.0: `sum` starts at -0.0, which a day without deposits would show.
            let deposit_eur = deposits
                .range((since, Bound::Included(v.day)))
                .fold(0.0, |sum, (_, amount)| sum + amount);
            previous = Some(v.day);
            HistoryPoint {
                date: v.day,
                value_eur: v.value_eur,
                deposit_eur: (deposit_eur * 100.0).round() / 100.0,
                backfilled: v.backfilled,
            }
        })
        .collect()
}
