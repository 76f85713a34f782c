//! The history of the ECB's euro reference rates as CSV, imported to value the portfolio's
//! past days at the rates of their day: a header `date,USD,GBP,...` then one row per day, each
//! rate "1 EUR = rate units". The ECB's own `eurofxref-hist.csv` (`Date,USD,JPY,...`, newest
//! day first) marks a currency without a rate that day `N/A` and ends every line with a comma;
//! the backtest's `ecb_rates.csv` is the same table in lowercase, oldest day first. Both are
//! read. The parser is strict like the daily one: a malformed line refuses the whole file, and
//! names its line.

use chrono::NaiveDate;

use super::{FX_KIND, FeedError, refuse};
use crate::domain::{Currency, Decimal, FxRate};
use crate::store::{DayRates, FxHistoryWrite, Store, StoreError, now_iso};

/// The cell of a currency without a rate that day.
const NO_RATE: &str = "N/A";

/// The cells of a line: trimmed, unquoted, without the empty cell a trailing comma leaves.
fn cells(line: &str) -> Vec<&str> {
    let line = line.trim();
    let line = line.strip_suffix(',').unwrap_or(line);
    line.split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect()
}

/// Whether `text` is such a CSV (its first line starts with a `date` column) rather than the
/// daily XML file.
pub fn is_history_csv(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|header| cells(header).first().copied())
        .is_some_and(|first| first.eq_ignore_ascii_case("date"))
}

/// Parses the history, oldest day first. Days without any rate are left out; a file without
/// any rate is refused.
pub fn parse_history_csv(text: &str) -> Result<Vec<DayRates>, FeedError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty());
    let Some((header_line, header)) = lines.next() else {
        return refuse("the file is empty");
    };
    let names = cells(header);
    if !names[0].eq_ignore_ascii_case("date") {
        return refuse(format!(
            "line {header_line}: the first column must be the date"
        ));
    }
    let mut currencies: Vec<Currency> = Vec::with_capacity(names.len() - 1);
    for name in &names[1..] {
        let currency = Currency::new(&name.to_uppercase()).or_else(|_| {
            refuse(format!(
                "line {header_line}: {name:?} is not a currency code"
            ))
        })?;
        if currency == Currency::EUR {
            return refuse(format!("line {header_line}: a column for EUR itself"));
        }
        if currencies.contains(&currency) {
            return refuse(format!("line {header_line}: {currency} appears twice"));
        }
        currencies.push(currency);
    }
    if currencies.is_empty() {
        return refuse(format!("line {header_line}: no currency columns"));
    }
    // With the line of each day, to name a day given twice.
    let mut days: Vec<(usize, DayRates)> = Vec::new();
    for (line_number, line) in lines {
        let fields = cells(line);
        if fields.len() != names.len() {
            return refuse(format!(
                "line {line_number}: {} cells where the header names {}",
                fields.len(),
                names.len()
            ));
        }
        let date = NaiveDate::parse_from_str(fields[0], "%Y-%m-%d").or_else(|_| {
            refuse(format!(
                "line {line_number}: the date {:?} is not YYYY-MM-DD",
                fields[0]
            ))
        })?;
        let mut rates = Vec::with_capacity(currencies.len());
        for (&currency, &cell) in currencies.iter().zip(&fields[1..]) {
            if cell.is_empty() || cell.eq_ignore_ascii_case(NO_RATE) {
                continue;
            }
            let rate = cell
                .parse::<Decimal>()
                .ok()
                .filter(|r: &Decimal| r.is_positive())
                .and_then(|per_eur| FxRate::new(currency, per_eur).ok())
                .ok_or_else(|| {
                    FeedError(format!(
                        "line {line_number}: the rate of {currency} ({cell:?}) is not a positive \
                         number"
                    ))
                })?;
            rates.push(rate);
        }
        if !rates.is_empty() {
            days.push((line_number, DayRates { date, rates }));
        }
    }
    days.sort_by_key(|(line, d)| (d.date, *line));
    if let Some(twice) = days.windows(2).find(|w| w[0].1.date == w[1].1.date) {
        return refuse(format!(
            "line {}: the day {} is also on line {}",
            twice[1].0, twice[1].1.date, twice[0].0
        ));
    }
    if days.is_empty() {
        return refuse("the file holds no rates");
    }
    Ok(days.into_iter().map(|(_, d)| d).collect())
}

/// Stores a parsed history; when its newest day also replaced current rates, marks the FX
/// data refreshed from `source`.
pub fn store_history(
    store: &Store,
    days: &[DayRates],
    source: &str,
) -> Result<FxHistoryWrite, StoreError> {
    let written = store.put_fx_history(days)?;
    if written.current_rates > 0 {
        store.mark_refreshed(FX_KIND, source, &now_iso())?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
