//! One strategy over one window: deposits and trades on cycle days, every trading day valued,
//! and the figures of the contract computed from the daily values.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::BacktestError;
use super::account::{Account, Costs};
use super::data::MarketData;
use crate::analytics::{DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR, sample_std};

/// The symbols a backtest trades, their targets and the cash reserve.
#[derive(Clone, Debug, PartialEq)]
pub struct Universe {
    /// Symbols in name order; an account's holdings use the same order.
    pub symbols: Vec<String>,
    /// The column of each symbol in the market data.
    pub columns: Vec<usize>,
    /// Target weight of each symbol.
    pub targets: Vec<f64>,
    /// The weight cash should keep.
    pub reserve: f64,
}

impl Universe {
    /// The tolerance band of symbol `i` (the 5/25 rule): 5 percentage points or a quarter of
    /// its target, whichever is smaller.
    pub fn band(&self, i: usize) -> f64 {
        (0.25 * self.targets[i]).min(0.05)
    }

    /// The closes of the universe on trading day `day`, in EUR.
    pub fn prices(&self, market: &MarketData, day: usize) -> Vec<f64> {
        self.columns
            .iter()
            .map(|&c| market.close_eur(day, c))
            .collect()
    }
}

/// What a strategy sees on a cycle day.
pub struct CycleDay<'a> {
    pub market: &'a MarketData,
    pub universe: &'a Universe,
    /// Index of the trading day in `market`.
    pub day: usize,
    pub date: NaiveDate,
    /// EUR closes of the universe on that day.
    pub prices: &'a [f64],
    /// The first cycle day of the run.
    pub first: bool,
    /// The deposit that arrived this day (already in the account's cash).
    pub deposit: f64,
}

/// A way of trading on cycle days.
pub trait Strategy {
    /// Trades on a cycle day at that day's close. Returns the planned steps that could not be
    /// executed as planned.
    fn trade(&mut self, cycle: &CycleDay, account: &mut Account) -> Result<u64, BacktestError>;
}

/// The figures of one strategy in one run (the keys of the contract's output).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub twr_annual: f64,
    pub volatility: f64,
    pub max_drawdown: f64,
    pub turnover: f64,
    pub fees_eur: f64,
    pub trades: u64,
    pub avg_distance_pp: f64,
    pub peak_weight: f64,
    pub avg_idle_cash: f64,
    pub unexecutable_steps: u64,
    pub final_value_eur: f64,
}

/// One strategy's run: its figures and its value on every trading day.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulated {
    pub figures: Figures,
    pub daily: Vec<(NaiveDate, f64)>,
}

/// The rules of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Index of the first trading day.
    pub start: usize,
    /// Index of the last trading day (included).
    pub end: usize,
    pub initial_cash: f64,
    pub monthly_deposit: f64,
    pub costs: Costs,
}

/// Runs `strategy` over `window`; `on_day` is called after each trading day (for progress).
/// `Ok(None)` when `cancel` was set before the end.
pub fn simulate(
    market: &MarketData,
    universe: &Universe,
    window: &Window,
    strategy: &mut dyn Strategy,
    on_day: &mut dyn FnMut(usize),
    cancel: &AtomicBool,
) -> Result<Option<Simulated>, BacktestError> {
    let mut account = Account::new(window.initial_cash, universe.symbols.len(), window.costs);
    let mut tally = Tally::new(window.initial_cash);
    let mut unexecutable = 0;
    for day in window.start..=window.end {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let date = market.days[day];
        let cycle = day == window.start || market.days[day - 1].month() != date.month();
        let deposit = if cycle { window.monthly_deposit } else { 0.0 };
        account.cash += deposit;
        let prices = universe.prices(market, day);
        if cycle {
            let view = CycleDay {
                market,
                universe,
                day,
                date,
                prices: &prices,
                first: day == window.start,
                deposit,
            };
            unexecutable += strategy.trade(&view, &mut account)?;
        }
        tally.value_day(date, &account, universe, &prices, deposit, cycle);
        on_day(day);
    }
    let first = market.days[window.start];
    let last = market.days[window.end];
    Ok(Some(Simulated {
        figures: tally.figures(&account, first, last, unexecutable),
        daily: tally.daily,
    }))
}

/// The running measurements of a run.
struct Tally {
    previous_value: f64,
    index: f64,
    peak_index: f64,
    max_drawdown: f64,
    returns: Vec<f64>,
    daily: Vec<(NaiveDate, f64)>,
    peak_weight: f64,
    distance_sum: f64,
    idle_sum: f64,
    cycle_days: u32,
}

impl Tally {
    fn new(initial_cash: f64) -> Tally {
        Tally {
            previous_value: initial_cash,
            index: 1.0,
            peak_index: 1.0,
            max_drawdown: 0.0,
            returns: Vec::new(),
            daily: Vec::new(),
            peak_weight: 0.0,
            distance_sum: 0.0,
            idle_sum: 0.0,
            cycle_days: 0,
        }
    }

    fn value_day(
        &mut self,
        date: NaiveDate,
        account: &Account,
        universe: &Universe,
        prices: &[f64],
        deposit: f64,
        cycle: bool,
    ) {
        let value = account.value(prices);
        // A deposit arrives at the close: it is not a return.
        let r = (value - deposit) / self.previous_value - 1.0;
        self.returns.push(r);
        self.index *= 1.0 + r;
        self.peak_index = self.peak_index.max(self.index);
        self.max_drawdown = self.max_drawdown.max(1.0 - self.index / self.peak_index);
        self.previous_value = value;
        self.daily.push((date, value));
        let weights: Vec<f64> = account
            .shares
            .iter()
            .zip(prices)
            .map(|(&n, &p)| n as f64 * p / value)
            .collect();
        self.peak_weight = weights.iter().copied().fold(self.peak_weight, f64::max);
        if cycle {
            let cash_weight = account.cash / value;
            let off_target: f64 = weights
                .iter()
                .zip(&universe.targets)
                .map(|(w, t)| (w - t).abs())
                .sum::<f64>()
                + (cash_weight - universe.reserve).abs();
            self.distance_sum += 0.5 * off_target * 100.0;
            self.idle_sum += (cash_weight - universe.reserve).max(0.0);
            self.cycle_days += 1;
        }
    }

    fn figures(
        &self,
        account: &Account,
        first: NaiveDate,
        last: NaiveDate,
        unexecutable: u64,
    ) -> Figures {
        let years = (last - first).num_days() as f64 / DAYS_PER_YEAR;
        let mean_value = self.daily.iter().map(|(_, v)| v).sum::<f64>() / self.daily.len() as f64;
        let cycles = f64::from(self.cycle_days.max(1));
        Figures {
            twr_annual: if years > 0.0 {
                self.index.powf(1.0 / years) - 1.0
            } else {
                0.0
            },
            volatility: sample_std(&self.returns).unwrap_or(0.0) * TRADING_DAYS_PER_YEAR.sqrt(),
            max_drawdown: self.max_drawdown,
            turnover: if years > 0.0 {
                account.traded_value / 2.0 / mean_value / years
            } else {
                0.0
            },
            fees_eur: account.fees,
            trades: account.trades,
            avg_distance_pp: self.distance_sum / cycles,
            peak_weight: self.peak_weight,
            avg_idle_cash: self.idle_sum / cycles,
            unexecutable_steps: unexecutable,
            final_value_eur: self.previous_value,
        }
    }
}
