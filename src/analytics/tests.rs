use chrono::{Duration, NaiveDate};
use proptest::prelude::*;

use super::*;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn close_to(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

/// `n` closes on consecutive days from `start`, the close of day i being `f(i)`.
fn series(start: &str, n: usize, f: impl Fn(usize) -> f64) -> Vec<Close> {
    let start = day(start);
    (0..n)
        .map(|i| (start + Duration::days(i as i64), f(i)))
        .collect()
}

#[test]
fn daily_returns_are_simple_returns_between_closes() {
    let returns = daily_returns(&[100.0, 110.0, 99.0]);
    close_to(returns[0], 0.1);
    close_to(returns[1], -0.1);
}

#[test]
fn volatility_is_the_sample_standard_deviation() {
    // Deviations 0.1 and −0.1 from a mean of 0: √(0.02 / 1).
    close_to(sample_std(&[0.1, -0.1]).unwrap(), 0.02f64.sqrt());
    assert_eq!(sample_std(&[0.1]), None);
}

#[test]
fn max_drawdown_is_the_largest_fall_from_a_running_peak() {
    // 120 → 90 is the worst fall: −25 %; 130 → 117 is only −10 %.
    close_to(max_drawdown(&[100.0, 120.0, 90.0, 130.0, 117.0]), -0.25);
    close_to(max_drawdown(&[1.0, 2.0, 3.0]), 0.0);
}

#[test]
fn sharpe_and_sortino_match_hand_computed_values() {
    let returns = [0.01, 0.03, -0.01];
    // Mean 0.01, sample standard deviation 0.02: 0.5 × √252.
    close_to(sharpe(&returns, 0.0).unwrap(), 7.937253933193772);
    // Downside deviation √(0.0001 / 3): 0.01 / 0.0057735 × √252.
    close_to(sortino(&returns, 0.0).unwrap(), 27.49545416973504);
    // A risk-free rate lowers both.
    assert!(sharpe(&returns, 0.001).unwrap() < 7.9);
    // Never below the risk-free rate: no downside, no Sortino.
    assert_eq!(sortino(&[0.01, 0.02], 0.0), None);
}

#[test]
fn cagr_compounds_over_calendar_days() {
    let history = vec![(day("2010-01-01"), 100.0), (day("2015-01-01"), 200.0)];
    let metrics = metrics_as_of(&history, day("2015-01-01"), 0.0);
    // Doubling in 1826 days: 2^(365.25 / 1826) − 1.
    close_to(metrics.cagr_5y.unwrap(), 0.14872015742261557);
    assert_eq!(metrics.cagr_10y, None, "ten years are not there");
}

#[test]
fn a_short_history_has_no_risk_figures_rather_than_average_ones() {
    let history = series("2020-01-01", 100, |i| 100.0 + i as f64);
    let metrics = metrics_as_of(&history, day("2021-01-01"), 0.0);
    assert_eq!(metrics.volatility_annual, None);
    assert_eq!(metrics.sharpe, None);
    assert_eq!(metrics.max_drawdown, None);
    assert_eq!(metrics.cagr_1y, None);
    assert_eq!(metrics.days_used, 99);
    assert!(metrics.named().is_empty());
}

#[test]
fn risk_figures_use_the_last_five_years() {
    // A crash in the first year, then eight calm years: the crash is outside the window.
    let history = series("2000-01-01", 9 * 365, |i| {
        if i < 200 {
            100.0 - i as f64 * 0.4
        } else {
            20.0 + (i as f64 * 0.7).sin() * 0.1
        }
    });
    let last = history.last().unwrap().0;
    let metrics = metrics_as_of(&history, last, 0.0);
    assert!(metrics.max_drawdown.unwrap() > -0.02, "{metrics:?}");
    let everything = max_drawdown(&history.iter().map(|c| c.1).collect::<Vec<_>>());
    assert!(everything < -0.7);
    // Five calendar years of daily closes, plus the anchor before the window.
    assert!(
        (1825..=1828).contains(&metrics.days_used),
        "{}",
        metrics.days_used
    );
}

#[test]
fn named_figures_use_the_scoring_service_names() {
    let history = series("2010-01-01", 4000, |i| {
        50.0 * (1.0 + 0.0003 * i as f64) + (i % 7) as f64
    });
    let last = history.last().unwrap().0;
    let named = metrics_as_of(&history, last, 0.0).named();
    for name in [
        "CAGR_1Y",
        "CAGR_5Y",
        "CAGR_10Y",
        "VOLATILITY_ANNUAL",
        "MAX_DRAWDOWN",
        "SHARPE",
        "SORTINO",
    ] {
        assert!(named.contains_key(name), "{name} missing from {named:?}");
    }
    assert!(named["MAX_DRAWDOWN"] < 0.0);
}

proptest! {
    /// No look-ahead: the metrics as of a day are the same whatever comes after it.
    #[test]
    fn later_prices_change_nothing_as_of_an_earlier_day(
        steps in prop::collection::vec(-0.05f64..0.05, 300..900),
        later in prop::collection::vec(-0.5f64..0.5, 1..200),
        cut in 0.0f64..1.0,
        rate in 0.0f64..0.05,
    ) {
        let mut close = 100.0;
        let mut history = Vec::new();
        let start = day("2001-03-01");
        for (i, step) in steps.iter().enumerate() {
            close *= 1.0 + step;
            history.push((start + Duration::days(i as i64 * 2), close));
        }
        let as_of = history[((history.len() - 1) as f64 * cut) as usize].0;
        let before = metrics_as_of(&history, as_of, rate);
        let mut extended = history.clone();
        let mut next_day = extended.last().unwrap().0;
        for step in later {
            close *= 1.0 + step;
            next_day += Duration::days(1);
            extended.push((next_day, close));
        }
        prop_assert_eq!(&before, &metrics_as_of(&extended, as_of, rate));
        prop_assert_eq!(&before, &metrics_as_of(up_to(&history, as_of), as_of, rate));
    }
}
