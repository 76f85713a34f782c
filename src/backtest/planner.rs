//! The `planner` strategy: on each cycle day the service's own planning run plans on the
//! simulated portfolio, and its steps go through the research-mode executor, with the simulated
//! day as "now".
//!
//! The path is the trading cycle's: a temporary database holds the universe, the portfolio, the
//! day's quotes and rate, and the metrics computed from the price history up to that day (no
//! look-ahead); [`Runner::run_here`] takes the snapshot, plans and stores the plan; the executor
//! settles each step as a paper fill. A step the executor fills is then booked on the simulated
//! account with the backtest's fees; one the executor skips, or the account's cash cannot cover,
//! is an unexecutable step.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;

use super::BacktestError;
use super::account::Account;
use super::simulate::{CycleDay, Strategy};
use crate::analytics::metrics_as_of;
use crate::coordinator::Runner;
use crate::domain::{Currency, Decimal, FxRate, Money, Quantity, Side};
use crate::evaluator::ScoringProfile;
use crate::evaluator::symbol_terms::ScorerInputs;
use crate::events::EventHub;
use crate::store::{
    AllocationGroup, AllocationTarget, AllowEmpty, MetricRecord, PositionRecord, QuoteRecord,
    ScoreRecord, SecurityRecord, Store, StoreError, TargetKind, iso, keys,
};
use crate::sync::cycle::plan_steps;
use crate::sync::execution::{NoBroker, StepOutcome, execute_steps};

/// The time of day a cycle plans and trades: after the close.
const CYCLE_TIME: (u32, u32) = (17, 30);

/// The annual risk-free rate of the metrics computed from history.
const RISK_FREE_RATE: f64 = 0.0;

/// The quote currency of the bundled prices.
const PRICE_CURRENCY: &str = "USD";

/// Temporary databases get distinct names within one process.
static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

/// The planner on its own temporary database.
pub struct PlannerStrategy {
    store: Arc<Store>,
    runner: Runner,
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    currency: Currency,
    /// Average purchase price per share in the price currency, by symbol index.
    avg_price: Vec<f64>,
}

impl PlannerStrategy {
    /// A database in a fresh temporary folder with the backtest's universe: symbols, their
    /// industries and the industry targets, research mode, the backtest's fees.
    pub fn new(backtest: &super::Backtest) -> Result<PlannerStrategy, BacktestError> {
        let universe = &backtest.universe;
        let scenario = &backtest.scenario;
        let fee = scenario.fee;
        let dir = std::env::temp_dir().join(format!(
            "trading-planner-backtest-{}-{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| planner_error(format!("{}: {e}", dir.display())))?;
        let store = Arc::new(Store::open(&dir.join("backtest.db"))?);
        let currency = Currency::new(PRICE_CURRENCY).map_err(|e| planner_error(e.to_string()))?;
        let securities: Vec<SecurityRecord> = universe
            .symbols
            .iter()
            .map(|symbol| {
                let mut security = SecurityRecord::new(symbol, symbol, currency);
                security.industry = Some(scenario.industries[symbol].clone());
                security.country = Some("United States".into());
                security.allow_sell = true;
                security
            })
            .collect();
        store.replace_securities(&securities, AllowEmpty::No)?;
        let targets = scenario
            .industry_targets
            .iter()
            .map(|(industry, target)| {
                Ok(AllocationTarget {
                    kind: TargetKind::Industry,
                    group: industry.clone(),
                    target: decimal(*target)?,
                })
            })
            .collect::<Result<Vec<_>, BacktestError>>()?;
        store.replace_allocation_targets(&targets, AllowEmpty::Yes)?;
        let groups: Vec<AllocationGroup> = scenario
            .industry_targets
            .keys()
            .map(|industry| AllocationGroup {
                kind: TargetKind::Industry,
                member: industry.clone(),
                group: industry.clone(),
            })
            .collect();
        store.replace_allocation_groups(&groups, AllowEmpty::Yes)?;
        // The service's settings, but for what the scenario fixes: its fees; its per-symbol
        // targets (its industries' targets in equal shares, so no score tilt and every symbol
        // eligible); its reserve, which is what those targets leave — a target like the others,
        // not a floor (the band rebalancer dips into it too). A cycle day stands for a month of
        // the service's cycles: the plan may hold a step for every symbol, and the day's and
        // week's limits, meant for cycles a few hours apart, do not apply (docs/backtest.md).
        let symbols = universe.symbols.len().to_string();
        let setting = |key: &str, value: String| (key.to_string(), value);
        store.set_settings(&[
            setting(keys::TRADING_MODE, "research".into()),
            setting(keys::TRANSACTION_COST_FIXED.key, fee.fixed_eur.to_string()),
            setting(keys::TRANSACTION_COST_PERCENT.key, fee.rate.to_string()),
            setting(keys::MIN_CASH_RESERVE.key, "0".into()),
            setting(keys::CASH_RESERVE_RATIO.key, "0".into()),
            setting(keys::TARGET_SCORE_TILT.key, "0".into()),
            setting(keys::MIN_SECURITY_SCORE.key, "0".into()),
            setting(keys::MAX_PLAN_DEPTH.key, symbols.clone()),
            setting(keys::MAX_TRADES_PER_CYCLE.key, symbols),
            setting(keys::TRADE_FREQUENCY_LIMITS_ENABLED.key, "0.0".into()),
        ])?;
        // One thread each: the runs of a backtest already run in parallel.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| planner_error(e.to_string()))?;
        let runner = Runner::new(
            Arc::clone(&store),
            Arc::new(pool),
            Arc::new(EventHub::new(1)),
            backtest.planner.clone(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| planner_error(e.to_string()))?;
        Ok(PlannerStrategy {
            store,
            runner,
            runtime,
            dir,
            currency,
            avg_price: vec![0.0; universe.symbols.len()],
        })
    }

    /// Writes the simulated portfolio and the day's market into the database.
    fn write_day(&self, cycle: &CycleDay, account: &Account) -> Result<(), BacktestError> {
        let at = iso(now_of(cycle));
        let rate = cycle.market.usd_per_eur[cycle.day].expect("a run starts after the first rate");
        let universe = cycle.universe;
        let mut quotes = Vec::new();
        let mut metrics = Vec::new();
        let mut scores = Vec::new();
        let mut positions = Vec::new();
        for (i, symbol) in universe.symbols.iter().enumerate() {
            let column = universe.columns[i];
            quotes.push(QuoteRecord {
                symbol: symbol.clone(),
                price: decimal(cycle.market.closes[cycle.day][column])?,
                currency: self.currency,
                as_of: at.clone(),
                source: "backtest".into(),
            });
            // In the quote currency, as the scoring service computes a security's metrics: the
            // price history reaches back before the first EUR rate (1999).
            let history = cycle.market.history(column, cycle.day);
            let named = metrics_as_of(&history, cycle.date, RISK_FREE_RATE).named();
            scores.push(quality_score(symbol, &named, &at));
            for (metric, value) in named {
                metrics.push(MetricRecord {
                    symbol: symbol.clone(),
                    metric,
                    value,
                    calculated_at: at.clone(),
                    expires_at: None,
                    source: "backtest".into(),
                });
            }
            if account.shares[i] > 0 {
                positions.push(PositionRecord {
                    symbol: symbol.clone(),
                    quantity: Quantity::from_shares(account.shares[i]).map_err(StoreError::from)?,
                    avg_price: decimal(self.avg_price[i])?,
                    currency: self.currency,
                });
            }
        }
        self.store.put_quotes(&quotes)?;
        self.store.put_metrics(&metrics)?;
        self.store.put_scores(&scores)?;
        for kind in ["positions", "cash", "quotes", "scores", "metrics"] {
            self.store.mark_refreshed(kind, "backtest", &at)?;
        }
        self.store.replace_positions(&positions, AllowEmpty::Yes)?;
        self.store
            .set_fx_rate(FxRate::new(self.currency, decimal(rate)?).map_err(StoreError::from)?)?;
        // Cash is kept in EUR: whatever a paper fill left in the price currency was settled on
        // the account in EUR.
        self.store.replace_cash_balances(
            &[
                Money::from_minor((account.cash * 100.0).floor() as i64, Currency::EUR),
                Money::from_minor(0, self.currency),
            ],
            AllowEmpty::No,
        )?;
        Ok(())
    }
}

impl Drop for PlannerStrategy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Strategy for PlannerStrategy {
    fn trade(&mut self, cycle: &CycleDay, account: &mut Account) -> Result<u64, BacktestError> {
        self.write_day(cycle, account)?;
        let now = now_of(cycle);
        let outcome = self
            .runner
            .run_here(now, &mut |_| {})
            .map_err(|e| planner_error(e.to_string()))?;
        let Some(plan_id) = outcome.plan_id else {
            return match outcome.error {
                Some(error) => Err(planner_error(error)),
                None => Ok(0),
            };
        };
        let plan = self
            .store
            .plan(plan_id)?
            .ok_or_else(|| planner_error(format!("plan {plan_id} is gone")))?;
        let steps = plan_steps(&plan);
        let report = self
            .runtime
            .block_on(execute_steps(&self.store, &NoBroker, &steps, now))
            .map_err(|e| planner_error(e.to_string()))?;
        let mut unexecutable = 0;
        for (step, outcome) in steps.iter().zip(&report.outcomes) {
            if !matches!(outcome, StepOutcome::Filled { .. }) {
                unexecutable += 1;
                continue;
            }
            let Some(i) = cycle
                .universe
                .symbols
                .iter()
                .position(|s| *s == step.symbol)
            else {
                unexecutable += 1;
                continue;
            };
            let wanted = step.quantity.as_decimal().to_f64() as i64;
            let price = cycle.prices[i];
            let done = match step.side {
                Side::Buy => {
                    let held = account.shares[i];
                    let bought = account.buy(i, wanted, price);
                    if bought > 0 {
                        let usd = cycle.market.closes[cycle.day][cycle.universe.columns[i]];
                        self.avg_price[i] = (self.avg_price[i] * held as f64 + usd * bought as f64)
                            / (held + bought) as f64;
                    }
                    bought
                }
                Side::Sell => account.sell(i, wanted, price),
            };
            if done < wanted {
                unexecutable += 1;
            }
        }
        Ok(unexecutable)
    }
}

/// A security's quality score as of the day. The scoring service has no history to replay, so
/// the backtest scores a security as the native scorer sees it: the mean of its total-return,
/// long-term-promise and stability terms (each 0–1) under the corrected profile, from the
/// metrics of its price history up to that day.
fn quality_score(symbol: &str, metrics: &HashMap<String, f64>, at: &str) -> ScoreRecord {
    let inputs = ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(metrics));
    let components = BTreeMap::from([
        ("total_return".to_string(), inputs.total_return()),
        ("long_term_promise".to_string(), inputs.long_term_promise()),
        ("stability".to_string(), inputs.stability()),
    ]);
    ScoreRecord {
        symbol: symbol.to_string(),
        total_score: components.values().sum::<f64>() / components.len() as f64,
        components,
        calculated_at: at.to_string(),
    }
}

/// The simulated "now" of a cycle day: after the close.
fn now_of(cycle: &CycleDay) -> NaiveDateTime {
    cycle
        .date
        .and_hms_opt(CYCLE_TIME.0, CYCLE_TIME.1, 0)
        .expect("a valid time of day")
}

/// A price, rate or target for the database, to the six places it keeps.
fn decimal(value: f64) -> Result<Decimal, BacktestError> {
    Ok(Decimal::from_f64(value)
        .map_err(StoreError::from)?
        .round_dp(6))
}

fn planner_error(message: String) -> BacktestError {
    BacktestError::Planner(message)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::backtest::{Backtest, BacktestOptions, StrategyKind};

    #[test]
    fn a_cycle_day_plans_through_the_service_path_as_of_the_simulated_day() {
        let options = BacktestOptions {
            data_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("data/backtest"),
            start: Some("2017-01-01".parse().unwrap()),
            end: Some("2017-03-31".parse().unwrap()),
            deposit: Some(0.0),
            ..BacktestOptions::default()
        };
        let backtest = Backtest::prepare(&options).unwrap();
        let spec = backtest.runs[0];
        let mut strategy = StrategyKind::Planner.strategy(&backtest).unwrap();
        let prices = backtest.universe.prices(&backtest.market, spec.start);
        let cycle = CycleDay {
            market: &backtest.market,
            universe: &backtest.universe,
            day: spec.start,
            date: backtest.market.days[spec.start],
            prices: &prices,
            first: true,
            deposit: 0.0,
        };
        let costs = super::super::Costs {
            fee: backtest.scenario.fee,
            fx_rate: 0.0,
        };
        let mut account = Account::new(10_000.0, prices.len(), costs);
        strategy.trade(&cycle, &mut account).unwrap();
        drop(strategy);

        // The same strategy again, to look into its database after one cycle day.
        let planner = PlannerStrategy::new(&backtest).unwrap();
        planner.write_day(&cycle, &account).unwrap();
        let outcome = planner
            .runner
            .run_here(now_of(&cycle), &mut |_| {})
            .unwrap();
        let plan = planner
            .store
            .plan(outcome.plan_id.unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(plan.plan.body["data"]["taken_at"], "2017-01-03T17:30:00");
        assert_eq!(plan.plan.body["data"]["stale"], serde_json::json!([]));
        // The metrics the planner read are the history's as of that day.
        let history = backtest
            .market
            .history(backtest.universe.columns[0], spec.start);
        let expected = metrics_as_of(&history, cycle.date, RISK_FREE_RATE).named();
        let stored = planner
            .store
            .valid_metrics(
                &[backtest.universe.symbols[0].as_str()],
                &["CAGR_5Y"],
                &iso(now_of(&cycle)),
            )
            .unwrap();
        let stored = stored[&backtest.universe.symbols[0]]["CAGR_5Y"];
        assert!((stored - expected["CAGR_5Y"]).abs() < 1e-9);
    }
}
