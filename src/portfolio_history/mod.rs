//! The portfolio's value over time: the value of each day (positions × quote × FX to EUR +
//! cash, the valuation of `GET /api/portfolio`) recorded by the service, past days
//! back-filled from the stored price history, and the time-weighted return. A day's deposits
//! come from the `deposits` ledger (see [`daily_deposits`]).

mod backfill;
mod carry;
mod deposits;
mod past_rates;
mod twr;

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::coordinator::snapshot::{rates_per_eur, valuation_inputs};
use crate::domain::valuation::value_portfolio;
use crate::store::{Store, StoreError, now_iso};
pub use backfill::{BackfillInputs, PastTrade, backfill};
pub use deposits::{daily_deposits, with_deposits};
pub use past_rates::PastRates;
pub use twr::{Twr, twr};

/// How far back a back-fill reaches.
const BACKFILL_DAYS: u64 = 3660;

/// The days `GET /api/portfolio/history` answers by default, and at most.
pub const DEFAULT_DAYS: u32 = 400;
pub const MAX_DAYS: u32 = 3660;

/// One day of the value chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub date: NaiveDate,
    pub value_eur: f64,
    /// The deposits of the day in EUR (see [`with_deposits`]), included in `value_eur`.
    pub deposit_eur: f64,
    pub backfilled: bool,
}

/// `GET /api/portfolio/history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub points: Vec<HistoryPoint>,
    /// Over the whole stored history, whatever `days` shows.
    pub twr: Twr,
}

/// Records `today`'s value from the stored positions, quotes, FX rates and cash, and returns
/// it. Called after each quotes sync, so the day keeps its last value.
pub fn record_today(store: &Store, today: NaiveDate) -> Result<f64, StoreError> {
    let value = value_portfolio(&valuation_inputs(store)?).total_value_eur;
    store.put_daily_value(today, value, &now_iso())?;
    Ok(value)
}

/// Records `today`'s value; the first record of a day also back-fills the days before it
/// that have none (the price history may have grown since). Called at start and after each
/// quotes sync.
pub fn record_day(store: &Store, today: NaiveDate) -> Result<(), StoreError> {
    let recorded_before = store
        .daily_values()?
        .last()
        .is_some_and(|v| v.day == today && !v.backfilled);
    record_today(store, today)?;
    if !recorded_before {
        let added = backfill_from_history(store, today)?;
        tracing::info!(added, "back-filled the portfolio's daily values");
    }
    Ok(())
}

/// The current FX rates and their stored history.
fn stored_past_rates(store: &Store) -> Result<PastRates, StoreError> {
    Ok(PastRates {
        current: rates_per_eur(store)?,
        history: store
            .fx_history()?
            .into_iter()
            .map(|(currency, days)| (currency.to_string(), days))
            .collect(),
    })
}

/// The deposits in EUR by the day they were made, from the ledger.
fn stored_daily_deposits(
    store: &Store,
    rates: &PastRates,
) -> Result<BTreeMap<NaiveDate, f64>, StoreError> {
    Ok(daily_deposits(&store.deposits()?, rates))
}

/// Back-fills the days before `today` that have no value from the stored price history (see
/// [`backfill`]) and returns how many were added.
pub fn backfill_from_history(store: &Store, today: NaiveDate) -> Result<usize, StoreError> {
    // Read first: if the demo's invented closes go while this runs, the write is skipped.
    let invented_closes = store.invented_close_count()?;
    let positions = store.positions()?;
    let trades = store.trades(None)?;
    let rates = stored_past_rates(store)?;
    let mut symbols: Vec<String> = positions.iter().map(|p| p.symbol.clone()).collect();
    symbols.extend(trades.iter().map(|t| t.trade.symbol.clone()));
    symbols.sort();
    symbols.dedup();
    let mut closes = HashMap::new();
    for symbol in symbols {
        let history = store.daily_closes(&symbol)?;
        closes.insert(symbol, history);
    }
    let inputs = BackfillInputs {
        holdings: positions
            .iter()
            .map(|p| {
                let quantity = p.quantity.as_decimal().to_f64();
                (p.symbol.clone(), (quantity, p.currency.to_string()))
            })
            .collect(),
        cash: store
            .cash_balances()?
            .into_iter()
            .map(|m| (m.currency().to_string(), m.to_decimal().to_f64()))
            .collect(),
        trades: trades
            .iter()
            .filter_map(|t| {
                let t = &t.trade;
                Some(PastTrade {
                    symbol: t.symbol.clone(),
                    day: NaiveDate::parse_from_str(t.executed_at.get(..10)?, "%Y-%m-%d").ok()?,
                    side: t.side,
                    quantity: t.quantity.as_decimal().to_f64(),
                    price: t.price.to_f64(),
                    currency: t.currency.to_string(),
                })
            })
            .collect(),
        deposits: stored_daily_deposits(store, &rates)?.into_iter().collect(),
        closes,
        rates,
        before: today,
        since: today
            .checked_sub_days(Days::new(BACKFILL_DAYS))
            .unwrap_or(today),
    };
    let values = backfill(&inputs);
    if values.is_empty() {
        return Ok(0);
    }
    store.put_backfilled_values_computed_with(&values, &now_iso(), invented_closes)
}

/// The values of the last `days` days up to `today`, and the returns over the whole history.
pub fn history(store: &Store, today: NaiveDate, days: u32) -> Result<History, StoreError> {
    let rates = stored_past_rates(store)?;
    let mut points = with_deposits(
        store.daily_values()?,
        &stored_daily_deposits(store, &rates)?,
    );
    let twr = twr(&points);
    let from = today
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN);
    points.retain(|p| p.date > from);
    Ok(History { points, twr })
}

#[cfg(test)]
mod past_rates_tests;
#[cfg(test)]
mod tests;
