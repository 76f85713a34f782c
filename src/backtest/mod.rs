//! Replays history through trading strategies on the same data, fees and rules, and reports the
//! same figures for each (the contract is docs/backtest.md).
//!
//! Data are read from files at run time: `data/backtest/` of the repository, or the directory
//! given with `--data`. Nothing here reads the wall clock: every run's "now" is its simulated day.

mod account;
mod baselines;
mod data;
mod planner;
mod scenario;
mod simulate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use chrono::{Datelike, NaiveDate};
use indexmap::IndexMap;
use rayon::prelude::*;
use serde::Serialize;

pub use account::{Account, Costs};
pub use data::MarketData;
pub use scenario::{Fee, Scenario};
pub use simulate::{CycleDay, Figures, Simulated, Strategy, Universe, Window};

/// The first years of the default windows, each six calendar years long.
pub const DEFAULT_START_YEARS: [i32; 7] = [1999, 2002, 2005, 2008, 2011, 2014, 2017];
/// The default monthly deposits: every window runs once with each.
pub const DEFAULT_DEPOSITS: [f64; 2] = [0.0, 500.0];
/// Calendar years in a default window.
const WINDOW_YEARS: i32 = 6;

/// Why a backtest cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{file}, line {line}: {problem}")]
    Data {
        file: String,
        line: u64,
        problem: String,
    },
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("{0}")]
    Options(String),
    #[error("the planner failed: {0}")]
    Planner(String),
    #[error("the planner's database failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// What the command line (or the API) asks for; `None` keeps the scenario's value or the
/// default windows and deposits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BacktestOptions {
    pub data_dir: PathBuf,
    pub scenario: Option<PathBuf>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub deposit: Option<f64>,
    pub initial_cash: Option<f64>,
    pub fee_fixed: Option<f64>,
    pub fee_rate: Option<f64>,
    pub fx_rate: Option<f64>,
    /// The settings of the `planner` strategy's runs: the service's.
    pub planner: crate::config::PlannerConfig,
}

/// The strategies a backtest can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    Planner,
    BuyAndHold,
    BandRebalancer,
}

impl StrategyKind {
    /// Every strategy, in the order the output lists them.
    pub const ALL: [StrategyKind; 3] = [
        StrategyKind::Planner,
        StrategyKind::BuyAndHold,
        StrategyKind::BandRebalancer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Planner => "planner",
            StrategyKind::BuyAndHold => "buy_and_hold",
            StrategyKind::BandRebalancer => "band_rebalancer",
        }
    }

    fn strategy(self, backtest: &Backtest) -> Result<Box<dyn Strategy>, BacktestError> {
        Ok(match self {
            StrategyKind::Planner => Box::new(planner::PlannerStrategy::new(backtest)?),
            StrategyKind::BuyAndHold => Box::new(baselines::BuyAndHold),
            StrategyKind::BandRebalancer => Box::new(baselines::BandRebalancer),
        })
    }
}

/// How a caller follows and stops a backtest.
pub struct RunControl<'a> {
    /// Called once per simulated trading day, from any thread.
    pub on_day: &'a (dyn Fn() + Sync),
    /// Polled every simulated day; once set, the backtest stops and reports nothing.
    pub cancel: &'a AtomicBool,
}

/// The flag of a backtest nobody cancels.
static NEVER_CANCELLED: AtomicBool = AtomicBool::new(false);

impl<'a> RunControl<'a> {
    /// Followed by `on_day`, never cancelled.
    pub fn new(on_day: &'a (dyn Fn() + Sync)) -> RunControl<'a> {
        RunControl {
            on_day,
            cancel: &NEVER_CANCELLED,
        }
    }

    /// Followed by `on_day`, stopped once `cancel` is set.
    pub fn cancellable(on_day: &'a (dyn Fn() + Sync), cancel: &'a AtomicBool) -> RunControl<'a> {
        RunControl { on_day, cancel }
    }
}

/// One run: a window and a monthly deposit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunSpec {
    pub start: usize,
    pub end: usize,
    pub monthly_deposit: f64,
}

/// Market data, scenario and runs, checked and ready to simulate.
#[derive(Clone, Debug)]
pub struct Backtest {
    pub market: MarketData,
    pub scenario: Scenario,
    pub universe: Universe,
    pub runs: Vec<RunSpec>,
    /// The settings of the `planner` strategy's runs.
    pub planner: crate::config::PlannerConfig,
}

impl Backtest {
    /// Reads the data and the scenario and lays out the runs, refusing bad options with a
    /// message that names the problem.
    pub fn prepare(options: &BacktestOptions) -> Result<Backtest, BacktestError> {
        let market = MarketData::load(&options.data_dir)?;
        let scenario_path = options
            .scenario
            .clone()
            .unwrap_or_else(|| options.data_dir.join(data::SCENARIO_FILE));
        let mut scenario = Scenario::load(&scenario_path, &market.symbols)?;
        if let Some(cash) = options.initial_cash {
            scenario.initial_cash_eur = cash;
        }
        if let Some(fixed) = options.fee_fixed {
            scenario.fee.fixed_eur = fixed;
        }
        if let Some(rate) = options.fee_rate {
            scenario.fee.rate = rate;
        }
        if let Some(rate) = options.fx_rate {
            scenario.fx_rate = rate;
        }
        scenario.check(&market.symbols)?;
        Backtest::new(market, scenario, options)
    }

    /// A backtest over data already in memory.
    pub fn new(
        market: MarketData,
        scenario: Scenario,
        options: &BacktestOptions,
    ) -> Result<Backtest, BacktestError> {
        let universe = universe(&market, &scenario);
        let runs = runs(&market, options)?;
        Ok(Backtest {
            market,
            scenario,
            universe,
            runs,
            planner: options.planner.clone(),
        })
    }

    /// Trading days in all runs, for progress.
    pub fn total_days(&self, strategies: usize) -> usize {
        self.runs.iter().map(|r| r.end - r.start + 1).sum::<usize>() * strategies
    }

    /// Simulates every run with every strategy (each pair in parallel); `control.on_day` is
    /// called once per simulated trading day, from any thread. `Ok(None)` when
    /// `control.cancel` was set before the end.
    pub fn run(
        &self,
        strategies: &[StrategyKind],
        control: &RunControl,
    ) -> Result<Option<Report>, BacktestError> {
        let costs = Costs {
            fee: self.scenario.fee,
            fx_rate: self.scenario.fx_rate,
        };
        let pairs: Vec<(&RunSpec, StrategyKind)> = self
            .runs
            .iter()
            .flat_map(|spec| strategies.iter().map(move |&kind| (spec, kind)))
            .collect();
        let simulated = pairs
            .par_iter()
            .map(|&(spec, kind)| {
                let window = Window {
                    start: spec.start,
                    end: spec.end,
                    initial_cash: self.scenario.initial_cash_eur,
                    monthly_deposit: spec.monthly_deposit,
                    costs,
                };
                let mut strategy = kind.strategy(self)?;
                simulate::simulate(
                    &self.market,
                    &self.universe,
                    &window,
                    strategy.as_mut(),
                    &mut |_| (control.on_day)(),
                    control.cancel,
                )
            })
            .collect::<Result<Option<Vec<Simulated>>, BacktestError>>()?;
        let Some(mut simulated) = simulated else {
            return Ok(None);
        };
        let runs = self
            .runs
            .iter()
            .rev()
            .map(|spec| {
                let results = strategies
                    .iter()
                    .rev()
                    .map(|&kind| (kind, simulated.pop().expect("one per pair")))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                RunResult {
                    start: self.market.days[spec.start],
                    end: self.market.days[spec.end],
                    monthly_deposit_eur: spec.monthly_deposit,
                    results,
                }
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Ok(Some(Report {
            scenario: self.scenario_view(),
            runs,
        }))
    }

    fn scenario_view(&self) -> ScenarioView {
        let first = self.runs.iter().map(|r| r.start).min().unwrap_or(0);
        let last = self.runs.iter().map(|r| r.end).max().unwrap_or(0);
        ScenarioView {
            start: self.market.days[first],
            end: self.market.days[last],
            initial_cash_eur: self.scenario.initial_cash_eur,
            fee: self.scenario.fee,
            fx_rate: self.scenario.fx_rate,
            cash_reserve: self.universe.reserve,
            targets: self
                .universe
                .symbols
                .iter()
                .cloned()
                .zip(self.universe.targets.iter().copied())
                .collect(),
        }
    }
}

/// The scenario's symbols in name order, their columns and targets.
fn universe(market: &MarketData, scenario: &Scenario) -> Universe {
    let targets = scenario.targets();
    let symbols: Vec<String> = targets.keys().cloned().collect();
    let columns = symbols
        .iter()
        .map(|s| {
            market
                .symbols
                .iter()
                .position(|m| m == s)
                .expect("checked by the scenario")
        })
        .collect();
    Universe {
        symbols,
        columns,
        targets: targets.values().copied().collect(),
        reserve: scenario.cash_reserve(),
    }
}

/// The runs the options ask for: one window with `--start`/`--end`, else the seven default
/// windows; each with the one `--deposit`, else with 0 and 500 EUR a month.
fn runs(market: &MarketData, options: &BacktestOptions) -> Result<Vec<RunSpec>, BacktestError> {
    let refuse = |message: String| Err(BacktestError::Options(message));
    let first_priced = market
        .first_priced_day()
        .ok_or_else(|| BacktestError::Options("no price has an FX rate".into()))?;
    let (first_day, last_day) = (
        market.days[first_priced],
        *market.days.last().expect("rows"),
    );
    if let Some(deposit) = options.deposit
        && !(deposit.is_finite() && deposit >= 0.0)
    {
        return refuse(format!("the deposit must not be negative, got {deposit}"));
    }
    let windows: Vec<(usize, usize)> = if options.start.is_some() || options.end.is_some() {
        let start = options.start.unwrap_or(first_day);
        let end = options.end.unwrap_or(last_day);
        if start < first_day {
            return refuse(format!(
                "--start {start} is before the data: prices with FX rates begin on {first_day}"
            ));
        }
        if start > last_day {
            return refuse(format!(
                "--start {start} is after the data's end ({last_day})"
            ));
        }
        if start >= end {
            return refuse(format!("--start {start} must come before --end {end}"));
        }
        let (Some(s), Some(e)) = (
            market.first_on_or_after(start),
            market.last_on_or_before(end),
        ) else {
            return refuse(format!("no trading day between {start} and {end}"));
        };
        if s >= e {
            return refuse(format!(
                "fewer than two trading days between {start} and {end}"
            ));
        }
        vec![(s, e)]
    } else {
        DEFAULT_START_YEARS
            .iter()
            .filter_map(|&year| {
                let s = market.first_on_or_after(NaiveDate::from_ymd_opt(year, 1, 1)?)?;
                let e = market.last_on_or_before(NaiveDate::from_ymd_opt(
                    year + WINDOW_YEARS - 1,
                    12,
                    31,
                )?)?;
                (s >= first_priced && s < e && market.days[s].year() == year).then_some((s, e))
            })
            .collect()
    };
    if windows.is_empty() {
        return refuse(format!(
            "the data ({first_day} to {last_day}) cover none of the default windows"
        ));
    }
    let deposits: Vec<f64> = match options.deposit {
        Some(deposit) => vec![deposit],
        None => DEFAULT_DEPOSITS.to_vec(),
    };
    Ok(windows
        .into_iter()
        .flat_map(|(start, end)| {
            deposits.iter().map(move |&monthly_deposit| RunSpec {
                start,
                end,
                monthly_deposit,
            })
        })
        .collect())
}

/// The scenario as the output reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioView {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub initial_cash_eur: f64,
    pub fee: Fee,
    pub fx_rate: f64,
    pub cash_reserve: f64,
    pub targets: IndexMap<String, f64>,
}

/// One run's results.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub monthly_deposit_eur: f64,
    pub results: Vec<(StrategyKind, Simulated)>,
}

/// Every run's results.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub scenario: ScenarioView,
    pub runs: Vec<RunResult>,
}

impl Report {
    /// The contract's JSON: `scenario`, then `runs` with each strategy's figures.
    pub fn to_json(&self) -> serde_json::Value {
        let runs: Vec<serde_json::Value> = self
            .runs
            .iter()
            .map(|run| {
                let strategies: IndexMap<&str, &Figures> = run
                    .results
                    .iter()
                    .map(|(kind, simulated)| (kind.name(), &simulated.figures))
                    .collect();
                serde_json::json!({
                    "start": run.start,
                    "end": run.end,
                    "monthly_deposit_eur": run.monthly_deposit_eur,
                    "strategies": strategies,
                })
            })
            .collect();
        serde_json::json!({ "scenario": self.scenario, "runs": runs })
    }

    /// Writes one CSV per run into `dir`: the value of each strategy on every trading day.
    pub fn write_csv(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for run in &self.runs {
            let path = dir.join(format!(
                "{}_{}_deposit{}.csv",
                run.start, run.end, run.monthly_deposit_eur
            ));
            let mut out = String::from("date");
            for (kind, _) in &run.results {
                out.push(',');
                out.push_str(kind.name());
            }
            out.push('\n');
            let days = run.results.first().map_or(0, |(_, s)| s.daily.len());
            for i in 0..days {
                out.push_str(&run.results[0].1.daily[i].0.to_string());
                for (_, simulated) in &run.results {
                    out.push_str(&format!(",{:.2}", simulated.daily[i].1));
                }
                out.push('\n');
            }
            std::fs::write(&path, out)?;
            written.push(path);
        }
        Ok(written)
    }
}
