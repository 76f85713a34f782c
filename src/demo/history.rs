//! A year of invented daily closes for the demo universe, so that a first start shows what a
//! running service shows after a year: the portfolio's value over time and a price chart on
//! each security's page.
//!
//! Each series is a seeded random walk that ends at the security's demo quote on the day of
//! the first start, with the yearly drift of its demo `CAGR_5Y` and the volatility of its demo
//! `VOLATILITY_ANNUAL`. The seed is the symbol, so every first start draws the same shapes.
//! None of it is market data (data/README.md says so): the rows are marked invented, a real
//! close of the same day replaces one, and they all go when the account's own positions
//! replace the demo's ([`super::forget_if_replacing`]).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::files::DemoFiles;
use super::{DemoError, failed};
use crate::store::{DailyClose, MetricRecord, QuoteRecord, Store, now_iso};

/// How far back the invented history reaches, in calendar days: a year and a week, so that the
/// one-year return has a first day to start from whatever the weekday.
pub const HISTORY_DAYS: u64 = 372;

/// Trading days in a year, to turn yearly figures into daily ones.
const TRADING_DAYS: f64 = 252.0;

/// Used when the demo lists no figure for a security.
const DEFAULT_VOLATILITY: f64 = 0.25;
const DEFAULT_GROWTH: f64 = 0.07;

/// Writes the invented closes of every demo security with a quote, from [`HISTORY_DAYS`]
/// before `today` to `today` (weekdays only), marked invented, next to any close already
/// stored, and returns how many rows were added. A stored close of the same day is kept.
pub fn seed_price_history(store: &Store, today: NaiveDate) -> Result<usize, DemoError> {
    let dataset = super::dataset::Dataset::parse(&DemoFiles::BUNDLED, &now_iso())?;
    // A security at a time: a small board never holds the whole year of every security at once.
    let mut added = 0;
    for quote in &dataset.quotes {
        let closes = invented_closes(std::slice::from_ref(quote), &dataset.metrics, today);
        added += store
            .put_invented_closes(&closes)
            .map_err(failed("write the demo price history"))?;
    }
    Ok(added)
}

/// The invented closes of each quoted security, oldest first per symbol.
pub(super) fn invented_closes(
    quotes: &[QuoteRecord],
    metrics: &[MetricRecord],
    today: NaiveDate,
) -> Vec<DailyClose> {
    let figure = |symbol: &str, name: &str| -> Option<f64> {
        metrics
            .iter()
            .find(|m| m.symbol == symbol && m.metric == name)
            .map(|m| m.value)
            .filter(|v| v.is_finite())
    };
    let days = trading_days(today);
    let mut rows = Vec::with_capacity(quotes.len() * days.len());
    for quote in quotes {
        let volatility = figure(&quote.symbol, "VOLATILITY_ANNUAL")
            .filter(|v| *v > 0.0)
            .unwrap_or(DEFAULT_VOLATILITY);
        let growth = figure(&quote.symbol, "CAGR_5Y")
            .filter(|g| *g > -1.0)
            .unwrap_or(DEFAULT_GROWTH);
        let series = walk_back(
            quote.price.to_f64(),
            growth,
            volatility,
            days.len(),
            &quote.symbol,
        );
        rows.extend(days.iter().zip(series).map(|(&day, close)| DailyClose {
            symbol: quote.symbol.clone(),
            day,
            close,
        }));
    }
    rows
}

/// The weekdays of the last [`HISTORY_DAYS`] up to and including `today`, oldest first.
fn trading_days(today: NaiveDate) -> Vec<NaiveDate> {
    let first = today
        .checked_sub_days(Days::new(HISTORY_DAYS))
        .unwrap_or(today);
    first
        .iter_days()
        .take_while(|d| *d <= today)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect()
}

/// `n` closes, oldest first, the last of which is `last`: a geometric random walk with the
/// yearly `growth` and `volatility`, drawn backwards from the last close.
fn walk_back(last: f64, growth: f64, volatility: f64, n: usize, symbol: &str) -> Vec<f64> {
    let mut rng = ChaCha8Rng::from_seed(seed_of(symbol));
    let drift = (1.0 + growth).ln() / TRADING_DAYS;
    let sigma = volatility / TRADING_DAYS.sqrt();
    let mut closes = vec![last; n];
    for i in (0..n.saturating_sub(1)).rev() {
        let z: f64 = StandardNormal.sample(&mut rng);
        // The day's log return, from close i to close i + 1.
        let step = drift - sigma * sigma / 2.0 + sigma * z;
        closes[i] = closes[i + 1] / step.exp();
    }
    closes
}

/// The symbol's bytes as the seed, so the same symbol always draws the same walk.
fn seed_of(symbol: &str) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, byte) in symbol.bytes().enumerate() {
        seed[i % 32] ^= byte.rotate_left((i / 32) as u32);
    }
    seed
}
