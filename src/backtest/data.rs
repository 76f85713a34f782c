//! The backtest's market data: daily closes in USD per symbol and the ECB's euro reference
//! rates, read from CSV files at run time (they are too large to embed in the board binary).

use std::path::Path;

use chrono::NaiveDate;

use super::BacktestError;

/// The price file of the data directory.
pub const PRICES_FILE: &str = "sp500_prices.csv";
/// The FX file of the data directory.
pub const RATES_FILE: &str = "ecb_rates.csv";
/// The scenario file of the data directory.
pub const SCENARIO_FILE: &str = "scenario.yaml";

/// The quote currency of the bundled prices.
const PRICE_CURRENCY: &str = "USD";

/// Daily closes of every symbol, and the euro rate of their currency.
#[derive(Clone, Debug)]
pub struct MarketData {
    /// Trading days, ascending.
    pub days: Vec<NaiveDate>,
    /// Symbols in the file's column order.
    pub symbols: Vec<String>,
    /// `closes[day][symbol]`, in USD.
    pub closes: Vec<Vec<f64>>,
    /// USD per EUR on each trading day: the rate of that day or of the latest earlier day that
    /// has one; `None` before the first rate.
    pub usd_per_eur: Vec<Option<f64>>,
}

impl MarketData {
    /// Reads `sp500_prices.csv` and `ecb_rates.csv` from `dir`.
    pub fn load(dir: &Path) -> Result<MarketData, BacktestError> {
        let prices = read_table(&dir.join(PRICES_FILE), None)?;
        let rates = read_table(&dir.join(RATES_FILE), Some(PRICE_CURRENCY))?;
        let rates: Vec<(NaiveDate, f64)> = rates
            .days
            .into_iter()
            .zip(rates.rows.into_iter().map(|r| r[0]))
            .collect();
        Ok(MarketData::new(
            prices.names,
            prices.days,
            prices.rows,
            &rates,
        ))
    }

    /// Market data from closes and `(day, USD per EUR)` rates in ascending day order.
    pub fn new(
        symbols: Vec<String>,
        days: Vec<NaiveDate>,
        closes: Vec<Vec<f64>>,
        rates: &[(NaiveDate, f64)],
    ) -> MarketData {
        let usd_per_eur = days
            .iter()
            .map(|day| {
                let known = rates.partition_point(|(d, _)| d <= day);
                known.checked_sub(1).map(|i| rates[i].1)
            })
            .collect();
        MarketData {
            days,
            symbols,
            closes,
            usd_per_eur,
        }
    }

    /// The close of `symbol` on trading day `day`, in EUR.
    pub fn close_eur(&self, day: usize, symbol: usize) -> f64 {
        self.closes[day][symbol] / self.usd_per_eur[day].expect("a run starts after the first rate")
    }

    /// The history of one symbol up to and including trading day `day`, in its quote currency
    /// (USD), from the first day of the data.
    pub fn history(&self, symbol: usize, day: usize) -> Vec<(NaiveDate, f64)> {
        (0..=day)
            .map(|d| (self.days[d], self.closes[d][symbol]))
            .collect()
    }

    /// The index of the first trading day on or after `day`.
    pub fn first_on_or_after(&self, day: NaiveDate) -> Option<usize> {
        let index = self.days.partition_point(|d| *d < day);
        (index < self.days.len()).then_some(index)
    }

    /// The index of the last trading day on or before `day`.
    pub fn last_on_or_before(&self, day: NaiveDate) -> Option<usize> {
        self.days.partition_point(|d| *d <= day).checked_sub(1)
    }

    /// The first trading day that has an FX rate.
    pub fn first_priced_day(&self) -> Option<usize> {
        self.usd_per_eur.iter().position(Option::is_some)
    }
}

/// A CSV table with a `date` column then one numeric column per name.
struct Table {
    names: Vec<String>,
    days: Vec<NaiveDate>,
    rows: Vec<Vec<f64>>,
}

/// Reads a [`Table`]; with `only`, just that column is kept. Every value must be a positive
/// number and the days strictly ascending.
fn read_table(path: &Path, only: Option<&str>) -> Result<Table, BacktestError> {
    let file = path.display().to_string();
    let bad = |line: u64, problem: String| BacktestError::Data {
        file: file.clone(),
        line,
        problem,
    };
    // Plain numeric tables, one record a line and no quoting: a split on commas reads them,
    // without a CSV library in the board's binary.
    let text = std::fs::read_to_string(path).map_err(|e| bad(0, e.to_string()))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l));
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if header.first() != Some(&"date") {
        return Err(bad(1, "the first column must be `date`".into()));
    }
    let names: Vec<String> = header.iter().skip(1).map(|h| h.to_string()).collect();
    let columns: Vec<usize> = match only {
        Some(name) => vec![
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| bad(1, format!("no `{name}` column")))?,
        ],
        None => (0..names.len()).collect(),
    };
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut rows = Vec::new();
    for (line, text) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let record: Vec<&str> = text.split(',').collect();
        if record.len() != header.len() {
            return Err(bad(
                line,
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        }
        let day_text = record[0].trim();
        let day: NaiveDate = day_text.parse().map_err(|_| {
            bad(
                line,
                format!("`{}` is not a date (YYYY-MM-DD)", excerpt(day_text)),
            )
        })?;
        if days.last().is_some_and(|last| *last >= day) {
            return Err(bad(line, format!("{day} does not follow the previous day")));
        }
        let row = columns
            .iter()
            .map(|&c| {
                let text = record[c + 1];
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .ok_or_else(|| {
                        bad(
                            line,
                            format!("{}: `{}` is not a positive number", names[c], excerpt(text)),
                        )
                    })
            })
            .collect::<Result<Vec<f64>, _>>()?;
        days.push(day);
        rows.push(row);
    }
    if days.is_empty() {
        return Err(bad(1, "no rows".into()));
    }
    let names = columns.iter().map(|&c| names[c].clone()).collect();
    Ok(Table { names, days, rows })
}

/// At most 40 characters of a bad value, so a message never repeats a whole malformed line.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}
