//! Metrics of a security as of a day, computed from its daily closes up to that day.
//!
//! Pure: no I/O and no clock. The planner (when the scoring service has no metrics), the service
//! and the backtest use the same functions, so a backtest day sees exactly what the service would
//! have seen on that day, and nothing later (no look-ahead).
//!
//! Conventions:
//! - A history is a list of `(day, close)` in ascending day order; only the closes on or before
//!   the `as_of` day count.
//! - Daily returns are simple returns between consecutive closes, `p(t) / p(t−1) − 1`.
//! - A year is 252 trading days for annualising daily figures (volatility, Sharpe, Sortino) and
//!   365.25 calendar days for compound growth (CAGR).
//! - The risk, ratio and drawdown figures use the last five years of closes (calendar years
//!   before `as_of`), or all the history when it is shorter but spans at least one year.
//! - The risk-free rate is an annual fraction (setting `risk_free_rate`, default 0); a day's
//!   share of it is `rate / 252`.
//! - Sharpe: mean daily excess return ÷ its sample standard deviation (n − 1), × √252.
//! - Sortino: mean daily excess return ÷ the downside deviation √(mean(min(0, excess)²)) over
//!   every day, × √252.
//! - Max drawdown: the largest fall from a running peak of the closes, as a negative fraction
//!   (−0.25 is a 25 % fall), the sign the scoring service stores.
//! - CAGR over n years: `(p(as_of) / p(start))^(365.25 / days) − 1` with `p(start)` the last close
//!   on or before `as_of` − n years; absent when the history does not reach back that far.
//! - A figure that needs more history than there is, is absent, not zero: the caller says "not
//!   enough history" rather than scoring the security as average.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};

/// Trading days in a year, for annualising daily figures.
pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// Calendar days in a year, for compound growth.
pub const DAYS_PER_YEAR: f64 = 365.25;

/// The shortest history, in trading days, for the risk and ratio figures.
pub const MIN_RISK_DAYS: usize = 252;

/// The window of the risk, ratio and drawdown figures, in calendar years.
pub const RISK_WINDOW_YEARS: u32 = 5;

/// One daily close.
pub type Close = (NaiveDate, f64);

/// The metrics of one security as of a day. `None`: not enough history for that figure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryMetrics {
    /// Compound annual growth over the last year.
    pub cagr_1y: Option<f64>,
    /// Compound annual growth over the last five years.
    pub cagr_5y: Option<f64>,
    /// Compound annual growth over the last ten years.
    pub cagr_10y: Option<f64>,
    /// Annualised standard deviation of daily returns (fraction).
    pub volatility_annual: Option<f64>,
    /// Largest fall from a running peak, negative fraction.
    pub max_drawdown: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    /// Trading days of history the risk figures used.
    pub days_used: usize,
}

impl HistoryMetrics {
    /// The figures under the metric names the scoring service stores and the scorer reads
    /// (`CAGR_5Y`, `VOLATILITY_ANNUAL`, `MAX_DRAWDOWN`, `SHARPE`, `SORTINO`, …); absent figures
    /// are left out.
    pub fn named(&self) -> HashMap<String, f64> {
        [
            ("CAGR_1Y", self.cagr_1y),
            ("CAGR_5Y", self.cagr_5y),
            ("CAGR_10Y", self.cagr_10y),
            ("VOLATILITY_ANNUAL", self.volatility_annual),
            ("MAX_DRAWDOWN", self.max_drawdown),
            ("SHARPE", self.sharpe),
            ("SORTINO", self.sortino),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), value?)))
        .collect()
    }
}

/// The closes of `history` on or before `as_of` (the history is in ascending day order).
pub fn up_to(history: &[Close], as_of: NaiveDate) -> &[Close] {
    let end = history.partition_point(|(day, _)| *day <= as_of);
    &history[..end]
}

/// The metrics of `history` as of `as_of`, with `risk_free_rate` a year.
pub fn metrics_as_of(history: &[Close], as_of: NaiveDate, risk_free_rate: f64) -> HistoryMetrics {
    let known = up_to(history, as_of);
    let Some(&(last_day, _)) = known.last() else {
        return HistoryMetrics::default();
    };
    let window_start = years_before(last_day, RISK_WINDOW_YEARS);
    let from = known.partition_point(|(day, _)| *day < window_start);
    // The close on or before the window's start anchors the first return of the window.
    let window = &known[from.saturating_sub(1)..];
    let closes: Vec<f64> = window.iter().map(|(_, close)| *close).collect();
    let returns = daily_returns(&closes);
    let enough = returns.len() >= MIN_RISK_DAYS;
    let daily_rate = risk_free_rate / TRADING_DAYS_PER_YEAR;
    HistoryMetrics {
        cagr_1y: cagr(known, 1),
        cagr_5y: cagr(known, 5),
        cagr_10y: cagr(known, 10),
        volatility_annual: enough
            .then(|| sample_std(&returns).map(|s| s * TRADING_DAYS_PER_YEAR.sqrt()))
            .flatten(),
        max_drawdown: enough.then(|| max_drawdown(&closes)),
        sharpe: enough.then(|| sharpe(&returns, daily_rate)).flatten(),
        sortino: enough.then(|| sortino(&returns, daily_rate)).flatten(),
        days_used: returns.len(),
    }
}

/// The day `years` calendar years before `day` (29 February falls back to the 28th).
fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(12 * years))
        .unwrap_or(NaiveDate::MIN)
}

/// Simple returns between consecutive closes.
pub fn daily_returns(closes: &[f64]) -> Vec<f64> {
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n − 1); `None` under two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let squares: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some((squares / (values.len() - 1) as f64).sqrt())
}

/// Annualised Sharpe ratio of daily `returns` over a daily risk-free rate; `None` when the
/// returns do not vary.
pub fn sharpe(returns: &[f64], daily_rate: f64) -> Option<f64> {
    let excess: Vec<f64> = returns.iter().map(|r| r - daily_rate).collect();
    let std = sample_std(&excess).filter(|s| *s > 0.0)?;
    Some(mean(&excess)? / std * TRADING_DAYS_PER_YEAR.sqrt())
}

/// Annualised Sortino ratio of daily `returns` over a daily risk-free rate; `None` when no day
/// fell short of it.
pub fn sortino(returns: &[f64], daily_rate: f64) -> Option<f64> {
    let excess: Vec<f64> = returns.iter().map(|r| r - daily_rate).collect();
    let downside: Vec<f64> = excess.iter().map(|e| e.min(0.0).powi(2)).collect();
    let deviation = mean(&downside)?.sqrt();
    (deviation > 0.0)
        .then(|| mean(&excess).unwrap_or(0.0) / deviation * TRADING_DAYS_PER_YEAR.sqrt())
}

/// The largest fall from a running peak of `closes`, as a negative fraction (0 when it never
/// fell).
pub fn max_drawdown(closes: &[f64]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut worst: f64 = 0.0;
    for &close in closes {
        peak = peak.max(close);
        worst = worst.min(close / peak - 1.0);
    }
    worst
}

/// Compound annual growth over the last `years` of `known` (all on or before its last day).
fn cagr(known: &[Close], years: u32) -> Option<f64> {
    let &(end_day, end_close) = known.last()?;
    let start_day = years_before(end_day, years);
    // The last close on or before the start; none when the history begins after it.
    let index = known
        .partition_point(|(day, _)| *day <= start_day)
        .checked_sub(1)?;
    let (first_day, first_close) = known[index];
    let days = (end_day - first_day).num_days() as f64;
    (days > 0.0 && first_close > 0.0)
        .then(|| (end_close / first_close).powf(DAYS_PER_YEAR / days) - 1.0)
}

#[cfg(test)]
mod tests;
