//! Past daily values reconstructed from the stored price history: the positions and cash of
//! today taken back through the trades and deposits made since, valued at each day's close and
//! FX rates (see [`PastRates`]). Pure: the caller reads the inputs from the store.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::carry::carried;
use super::past_rates::PastRates;
use crate::domain::Side;

/// A trade as the reconstruction needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastTrade {
    pub symbol: String,
    pub day: NaiveDate,
    pub side: Side,
    pub quantity: f64,
    /// Per share, in `currency`.
    pub price: f64,
    pub currency: String,
}

/// Everything a back-fill reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackfillInputs {
    /// Quantity and currency by symbol, now.
    pub holdings: HashMap<String, (f64, String)>,
    /// Amount by currency, now.
    pub cash: HashMap<String, f64>,
    pub trades: Vec<PastTrade>,
    /// The ledger's deposits in EUR by the day they were made (see [`super::daily_deposits`]).
    pub deposits: Vec<(NaiveDate, f64)>,
    /// Closes by symbol, oldest first, in the security's currency.
    pub closes: HashMap<String, Vec<(NaiveDate, f64)>>,
    /// The FX rates of each day.
    pub rates: PastRates,
    /// The first day not to back-fill (today: its value is recorded live).
    pub before: NaiveDate,
    /// The oldest day to back-fill.
    pub since: NaiveDate,
}

/// The value in EUR at the end of each day in `[since, before)` that has a close, oldest
/// first. A day is left out when a security held that day has no recent close, a currency
/// has no FX rate, or the reconstructed value is negative (a deposit or fee the records do
/// not know of).
pub fn backfill(inputs: &BackfillInputs) -> Vec<(NaiveDate, f64)> {
    let days: BTreeSet<NaiveDate> = inputs
        .closes
        .values()
        .flatten()
        .map(|(d, _)| *d)
        .filter(|d| *d >= inputs.since && *d < inputs.before)
        .collect();
    let mut quantities: HashMap<String, f64> = inputs
        .holdings
        .iter()
        .map(|(s, (q, _))| (s.clone(), *q))
        .collect();
    let mut currencies: HashMap<String, String> = inputs
        .holdings
        .iter()
        .map(|(s, (_, c))| (s.clone(), c.clone()))
        .collect();
    let mut cash = inputs.cash.clone();
    let mut trades: Vec<&PastTrade> = inputs.trades.iter().collect();
    trades.sort_by_key(|t| t.day);
    let mut deposits = inputs.deposits.clone();
    deposits.sort_by_key(|(d, _)| *d);
    let mut values = Vec::new();
    // Newest day first: each step undoes what happened after the day's close.
    for &day in days.iter().rev() {
        while let Some(trade) = trades.last().filter(|t| t.day > day) {
            let amount = trade.quantity * trade.price;
            let (quantity, cash_change) = match trade.side {
                Side::Buy => (-trade.quantity, amount),
                Side::Sell => (trade.quantity, -amount),
            };
            *quantities.entry(trade.symbol.clone()).or_insert(0.0) += quantity;
            *cash.entry(trade.currency.clone()).or_insert(0.0) += cash_change;
            currencies
                .entry(trade.symbol.clone())
                .or_insert_with(|| trade.currency.clone());
            trades.pop();
        }
        while let Some(&(_, amount)) = deposits.last().filter(|(d, _)| *d > day) {
            *cash.entry("EUR".into()).or_insert(0.0) -= amount;
            deposits.pop();
        }
        if let Some(value) = value_on(day, &quantities, &currencies, &cash, inputs) {
            values.push((day, value));
        }
    }
    values.reverse();
    values
}

fn value_on(
    day: NaiveDate,
    quantities: &HashMap<String, f64>,
    currencies: &HashMap<String, String>,
    cash: &HashMap<String, f64>,
    inputs: &BackfillInputs,
) -> Option<f64> {
    let rate = |currency: &str| inputs.rates.on(currency, day);
    let mut value = 0.0;
    for (symbol, &quantity) in quantities {
        // Rounding of undone trades leaves dust, which is no holding.
        if quantity.abs() < 1e-9 {
            continue;
        }
        let close = carried(inputs.closes.get(symbol)?, day)?;
        value += quantity * close / rate(currencies.get(symbol)?)?;
    }
    for (currency, amount) in cash {
        if amount.abs() > 1e-9 {
            value += amount / rate(currency)?;
        }
    }
    (value.is_finite() && value >= 0.0).then_some(value)
}
