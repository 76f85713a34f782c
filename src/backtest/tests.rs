//! The baselines on a tiny dataset against figures computed by hand, the bundled data against a
//! short independent computation, and the refusals of bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn close_to(what: &str, actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9 * expected.abs().max(1.0),
        "{what}: {actual} != {expected}"
    );
}

/// Three symbols over 40 days from 2020-01-20 (cycle days: Jan 20 and Feb 1), prices in USD at
/// 2 USD per EUR (one rate, from a day before the data): A 25 EUR, doubling on Jan 29; B 10 EUR;
/// C 4 EUR, halving on Feb 10. Targets A 0.4, B 0.3, C 0.2, reserve 0.1; fees 1 EUR + 1 %.
fn tiny() -> (MarketData, Scenario) {
    let start = day("2020-01-20");
    let days: Vec<NaiveDate> = (0..40).map(|i| start + Duration::days(i)).collect();
    let closes = (0..40)
        .map(|i| {
            vec![
                if i < 9 { 50.0 } else { 100.0 },
                20.0,
                if i < 21 { 8.0 } else { 4.0 },
            ]
        })
        .collect();
    let symbols = vec!["A".to_string(), "B".to_string(), "C".to_string()];
    let market = MarketData::new(symbols, days, closes, &[(day("2020-01-18"), 2.0)]);
    let scenario = Scenario {
        initial_cash_eur: 10_000.0,
        fee: Fee {
            fixed_eur: 1.0,
            rate: 0.01,
        },
        fx_rate: 0.0,
        industries: BTreeMap::from([
            ("A".into(), "X".into()),
            ("B".into(), "Y".into()),
            ("C".into(), "Z".into()),
        ]),
        industry_targets: BTreeMap::from([("X".into(), 0.4), ("Y".into(), 0.3), ("Z".into(), 0.2)]),
    };
    (market, scenario)
}

fn run_tiny(kind: StrategyKind, deposit: f64) -> Simulated {
    let (market, scenario) = tiny();
    let options = BacktestOptions {
        start: Some(day("2020-01-20")),
        end: Some(day("2020-02-28")),
        deposit: Some(deposit),
        ..BacktestOptions::default()
    };
    let backtest = Backtest::new(market, scenario, &options).unwrap();
    let mut report = backtest
        .run(&[kind], &RunControl::new(&|| {}))
        .unwrap()
        .unwrap();
    assert_eq!(report.runs.len(), 1);
    report.runs.remove(0).results.remove(0).1
}

/// The value on each of the 40 days from a few known values: `(first day, value)` pieces.
fn daily_values(pieces: &[(usize, f64)]) -> Vec<f64> {
    (0..40)
        .map(|d| pieces.iter().rev().find(|(from, _)| d >= *from).unwrap().1)
        .collect()
}

fn annualised(index: f64) -> f64 {
    index.powf(365.25 / 39.0) - 1.0
}

#[test]
fn buy_and_hold_on_the_tiny_data_matches_the_hand_computation() {
    let run = run_tiny(StrategyKind::BuyAndHold, 0.0);
    let f = &run.figures;
    // Day 1, V = 10,000: A 160 × 25 (fee 41), B 300 × 10 (fee 31), C 500 × 4 (fee 21).
    assert_eq!(f.trades, 3);
    close_to("fees", f.fees_eur, 93.0);
    // Cash 907 after the buys; A doubles (+4,000), C halves (−1,000); no later trade.
    let values = daily_values(&[(0, 9907.0), (9, 13907.0), (21, 12907.0)]);
    let got: Vec<f64> = run.daily.iter().map(|(_, v)| *v).collect();
    for (g, v) in got.iter().zip(&values) {
        close_to("value", *g, *v);
    }
    close_to("final", f.final_value_eur, 12907.0);
    close_to("twr", f.twr_annual, annualised(1.2907));
    close_to("drawdown", f.max_drawdown, 1.0 - 12907.0 / 13907.0);
    close_to("peak weight", f.peak_weight, 8000.0 / 12907.0);
    // Cash stays under the 10 % reserve: nothing idle.
    close_to("idle", f.avg_idle_cash, 0.0);
    let mean = values.iter().sum::<f64>() / 40.0;
    close_to(
        "turnover",
        f.turnover,
        9000.0 / 2.0 / mean / (39.0 / 365.25),
    );
    // Returns: day 1 −0.93 %, then the two jumps; every other day 0.
    let mut returns = vec![0.0; 40];
    returns[0] = 9907.0 / 10_000.0 - 1.0;
    returns[9] = 13907.0 / 9907.0 - 1.0;
    returns[21] = 12907.0 / 13907.0 - 1.0;
    let mean_r = returns.iter().sum::<f64>() / 40.0;
    let var = returns.iter().map(|r| (r - mean_r).powi(2)).sum::<f64>() / 39.0;
    close_to("volatility", f.volatility, var.sqrt() * 252f64.sqrt());
    assert_eq!(f.unexecutable_steps, 0);
}

#[test]
fn the_band_rebalancer_on_the_tiny_data_matches_the_hand_computation() {
    let run = run_tiny(StrategyKind::BandRebalancer, 0.0);
    let f = &run.figures;
    // Day 1 as buy-and-hold. Feb 1, V = 13,907: A is 57.5 % against 40 ± 5: sell 49 down to
    // floor(0.4 × 13,907 / 50) = 111 (fee 25.5); B and C are more than 5 points short: buy B
    // (the larger shortfall) up to 417 (+117, fee 12.7), then C up to 695 (+195, fee 8.8).
    assert_eq!(f.trades, 6);
    close_to("fees", f.fees_eur, 93.0 + 25.5 + 12.7 + 8.8);
    // Cash 907 + 2,424.5 − 1,182.7 − 788.8 = 1,360: 9.8 % of 13,860, under reserve + 1 point.
    let values = daily_values(&[(0, 9907.0), (9, 13907.0), (12, 13860.0), (21, 12470.0)]);
    for ((_, g), v) in run.daily.iter().zip(&values) {
        close_to("value", *g, *v);
    }
    close_to("twr", f.twr_annual, annualised(1.247));
    close_to("drawdown", f.max_drawdown, 1.0 - 12470.0 / 13907.0);
    let mean = values.iter().sum::<f64>() / 40.0;
    close_to(
        "turnover",
        f.turnover,
        (9000.0 + 2450.0 + 1170.0 + 780.0) / 2.0 / mean / (39.0 / 365.25),
    );
    // Distance after trading on the two cycle days.
    let distance = |a: f64, b: f64, c: f64, cash: f64, v: f64| {
        50.0 * ((a / v - 0.4).abs()
            + (b / v - 0.3).abs()
            + (c / v - 0.2).abs()
            + (cash / v - 0.1).abs())
    };
    let expected = (distance(4000.0, 3000.0, 2000.0, 907.0, 9907.0)
        + distance(5550.0, 4170.0, 2780.0, 1360.0, 13860.0))
        / 2.0;
    close_to("distance", f.avg_distance_pp, expected);
    close_to("peak weight", f.peak_weight, 8000.0 / 13907.0);
}

#[test]
fn buy_and_hold_invests_deposits_as_the_rebalancer_spends_spare_cash() {
    let run = run_tiny(StrategyKind::BuyAndHold, 2000.0);
    let f = &run.figures;
    // Day 1, V = 12,000: A 192 (fee 49), B 360 (fee 37), C 600 (fee 25); cash 1,089.
    // Feb 1: cash 3,089 of 18,689 > 11 %: budget 3,089 − 1,868.9 = 1,220.1 to B (short 10.7
    // points), 120 shares for 1,213; then C (short 7.2 points), 1 share for 5.04.
    assert_eq!(f.trades, 5);
    close_to("fees", f.fees_eur, 111.0 + 13.0 + 1.04);
    let index =
        (9889.0 / 10_000.0) * (16689.0 / 11889.0) * (16674.96 / 16689.0) * (17472.96 / 18674.96);
    close_to("twr", f.twr_annual, annualised(index));
    close_to("final", f.final_value_eur, 17472.96);
    // Idle cash: none on day 1 (1,089 of 11,889), 0.02 points over the reserve on Feb 1.
    close_to("idle", f.avg_idle_cash, (1870.96 / 18674.96 - 0.1) / 2.0);
}

#[test]
fn a_run_ending_earlier_makes_the_same_decisions_up_to_its_end() {
    let (market, scenario) = tiny();
    for kind in [StrategyKind::BuyAndHold, StrategyKind::BandRebalancer] {
        let options = |end| BacktestOptions {
            start: Some(day("2020-01-20")),
            end: Some(day(end)),
            deposit: Some(300.0),
            ..BacktestOptions::default()
        };
        let short =
            Backtest::new(market.clone(), scenario.clone(), &options("2020-02-05")).unwrap();
        let long = Backtest::new(market.clone(), scenario.clone(), &options("2020-02-28")).unwrap();
        let (short, long) = (daily_values_of(&short, kind), daily_values_of(&long, kind));
        assert_eq!(short[..], long[..short.len()], "{kind:?}");
    }
}

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/backtest")
}

/// The bundled CSV read without the module's loader: `(header, rows)`.
fn read_csv(path: &Path) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|line| {
            let mut cells = line.split(',');
            let date = cells.next().unwrap().to_string();
            (date, cells.map(|c| c.parse().unwrap()).collect())
        })
        .collect();
    (header, rows)
}

#[test]
fn buy_and_hold_on_the_bundled_data_matches_an_independent_computation() {
    let options = BacktestOptions {
        data_dir: bundled(),
        start: Some(day("2017-01-01")),
        end: Some(day("2018-12-31")),
        deposit: Some(0.0),
        ..BacktestOptions::default()
    };
    let backtest = Backtest::prepare(&options).unwrap();
    let report = backtest
        .run(&[StrategyKind::BuyAndHold], &RunControl::new(&|| {}))
        .unwrap()
        .unwrap();
    let figures = &report.runs[0].results[0].1.figures;

    // Independently: buy floor(target × 10,000 / price) of each symbol in name order on the
    // first trading day of 2017, pay 1 EUR + 0.2 % each, hold to the last day of 2018.
    let (header, prices) = read_csv(&bundled().join("sp500_prices.csv"));
    let (rate_header, rates) = read_csv(&bundled().join("ecb_rates.csv"));
    let usd = rate_header.iter().position(|h| h == "USD").unwrap() - 1;
    let rate_on = |date: &str| {
        rates
            .iter()
            .rev()
            .find(|(d, _)| d.as_str() <= date)
            .unwrap()
            .1[usd]
    };
    let first = prices
        .iter()
        .find(|(d, _)| d.as_str() >= "2017-01-01")
        .unwrap();
    let last = prices
        .iter()
        .rev()
        .find(|(d, _)| d.as_str() <= "2018-12-31")
        .unwrap();
    let scenario: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(bundled().join("scenario.yaml")).unwrap())
            .unwrap();
    let industries = scenario["industries"].as_mapping().unwrap();
    let mut symbols: Vec<&str> = industries.keys().map(|k| k.as_str().unwrap()).collect();
    symbols.sort();
    let mut cash = 10_000.0;
    let mut final_value = 0.0;
    let mut trades = 0;
    for symbol in symbols {
        let industry = industries[symbol].as_str().unwrap();
        let members = industries
            .values()
            .filter(|v| v.as_str() == Some(industry))
            .count() as f64;
        let target = scenario["industry_targets"][industry].as_f64().unwrap() / members;
        let column = header.iter().position(|h| h == symbol).unwrap() - 1;
        let price = first.1[column] / rate_on(&first.0);
        let shares = (target * 10_000.0 / price).floor();
        if shares > 0.0 {
            cash -= shares * price * 1.002 + 1.0;
            trades += 1;
        }
        final_value += shares * last.1[column] / rate_on(&last.0);
    }
    final_value += cash;
    close_to("final value", figures.final_value_eur, final_value);
    assert_eq!(figures.trades, trades);
    let years = (day(&last.0) - day(&first.0)).num_days() as f64 / 365.25;
    close_to(
        "twr",
        figures.twr_annual,
        (final_value / 10_000.0).powf(1.0 / years) - 1.0,
    );
}

#[test]
fn the_default_backtest_has_fourteen_runs_of_six_years() {
    let backtest = Backtest::prepare(&BacktestOptions {
        data_dir: bundled(),
        ..BacktestOptions::default()
    })
    .unwrap();
    assert_eq!(backtest.runs.len(), 14);
    let first = &backtest.runs[0];
    assert_eq!(backtest.market.days[first.start], day("1999-01-04"));
    assert_eq!(backtest.market.days[first.end], day("2004-12-31"));
    let last = backtest.runs.last().unwrap();
    assert_eq!(backtest.market.days[last.end], day("2022-12-28"));
    assert_eq!(
        backtest
            .runs
            .iter()
            .map(|r| r.monthly_deposit)
            .collect::<Vec<_>>()[..2],
        [0.0, 500.0]
    );
    close_to("reserve", backtest.universe.reserve, 0.05);
    let it = backtest
        .universe
        .symbols
        .iter()
        .position(|s| s == "AAPL")
        .unwrap();
    assert_eq!(backtest.universe.targets[it], 0.2 / 3.0, "exact fractions");
}

#[test]
fn bad_options_are_refused_with_a_message_naming_the_problem() {
    let refused = |options: BacktestOptions| Backtest::prepare(&options).unwrap_err().to_string();
    let base = BacktestOptions {
        data_dir: bundled(),
        ..BacktestOptions::default()
    };
    let message = refused(BacktestOptions {
        start: Some(day("1995-01-01")),
        ..base.clone()
    });
    assert!(
        message.contains("before the data") && message.contains("1999-01-04"),
        "{message}"
    );
    let message = refused(BacktestOptions {
        start: Some(day("2030-01-01")),
        ..base.clone()
    });
    assert!(message.contains("after the data's end"), "{message}");
    let message = refused(BacktestOptions {
        start: Some(day("2010-01-01")),
        end: Some(day("2010-01-01")),
        ..base.clone()
    });
    assert!(message.contains("must come before"), "{message}");
    let message = refused(BacktestOptions {
        deposit: Some(-5.0),
        ..base.clone()
    });
    assert!(
        message.contains("deposit must not be negative"),
        "{message}"
    );
    let message = refused(BacktestOptions {
        fee_fixed: Some(-1.0),
        ..base.clone()
    });
    assert!(
        message.contains("fee.fixed_eur must not be negative"),
        "{message}"
    );
}

#[test]
fn bad_scenarios_and_malformed_data_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["sp500_prices.csv", "ecb_rates.csv"] {
        std::fs::copy(bundled().join(file), dir.path().join(file)).unwrap();
    }
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let refused = || {
        Backtest::prepare(&BacktestOptions {
            data_dir: dir.path().into(),
            ..BacktestOptions::default()
        })
        .unwrap_err()
        .to_string()
    };
    let scenario = "initial_cash_eur: 1000\nfee: {fixed_eur: 1, rate: 0.002}\n";
    write(
        "scenario.yaml",
        &format!("{scenario}industries: {{ZZZZ: Tech}}\nindustry_targets: {{Tech: 0.5}}\n"),
    );
    assert!(refused().contains("unknown symbol ZZZZ"), "{}", refused());
    write(
        "scenario.yaml",
        &format!(
            "{scenario}industries: {{AAPL: Tech, KO: Food}}\nindustry_targets: {{Tech: 0.7, Food: 0.4}}\n"
        ),
    );
    assert!(refused().contains("over 100 %"), "{}", refused());
    write(
        "scenario.yaml",
        &format!("{scenario}industries: {{AAPL: Tech}}\nindustry_targets: {{Tech: 0.5}}\n"),
    );
    let mut prices = std::fs::read_to_string(bundled().join("sp500_prices.csv")).unwrap();
    prices.push_str("2023-01-03,12,abc\n");
    write("sp500_prices.csv", &prices);
    let message = refused();
    assert!(message.contains("sp500_prices.csv, line 8315"), "{message}");
    write(
        "sp500_prices.csv",
        &prices.replace(
            "2023-01-03,12,abc\n",
            &format!("2023-01-03{}\n", ",x".repeat(20)),
        ),
    );
    let message = refused();
    assert!(
        message.contains("line 8315") && message.contains("AAPL: `x` is not a positive number"),
        "{message}"
    );
}

#[test]
fn a_cancelled_backtest_reports_nothing() {
    let (market, scenario) = tiny();
    let options = BacktestOptions {
        start: Some(day("2020-01-20")),
        end: Some(day("2020-02-28")),
        ..BacktestOptions::default()
    };
    let backtest = Backtest::new(market, scenario, &options).unwrap();
    let days = std::sync::atomic::AtomicUsize::new(0);
    let on_day = || {
        days.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let control = RunControl::cancellable(&on_day, &cancel);
    assert!(
        backtest
            .run(&[StrategyKind::BandRebalancer], &control)
            .unwrap()
            .is_none()
    );
    assert_eq!(days.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn the_planner_strategy_is_deterministic_and_never_looks_ahead() {
    let run = |end: &str| {
        let options = BacktestOptions {
            data_dir: bundled(),
            start: Some(day("2017-01-01")),
            end: Some(day(end)),
            deposit: Some(500.0),
            ..BacktestOptions::default()
        };
        Backtest::prepare(&options)
            .unwrap()
            .run(&[StrategyKind::Planner], &RunControl::new(&|| {}))
            .unwrap()
            .unwrap()
    };
    let first = run("2018-06-30");
    let again = run("2018-06-30");
    assert_eq!(
        serde_json::to_string(&first.to_json()).unwrap(),
        serde_json::to_string(&again.to_json()).unwrap()
    );
    let shorter = run("2017-09-30");
    let short = &shorter.runs[0].results[0].1.daily;
    let long = &first.runs[0].results[0].1.daily;
    assert_eq!(short[..], long[..short.len()]);
}

/// The daily values of `kind` in the first run of `backtest`.
fn daily_values_of(backtest: &Backtest, kind: StrategyKind) -> Vec<(NaiveDate, f64)> {
    let mut report = backtest
        .run(&[kind], &RunControl::new(&|| {}))
        .unwrap()
        .unwrap();
    report.runs.remove(0).results.remove(0).1.daily
}
