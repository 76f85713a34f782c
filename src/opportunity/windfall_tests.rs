//! The windfall rule with hand-computed numbers (f64 results as CPython prints them).

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use super::windfall::{assess, excess_gain, should_take_profits, windfall_score};

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

#[test]
fn excess_is_gain_above_compounded_growth() {
    // 1.5 − (1.1¹ − 1) = 1.5 − 0.10000000000000009.
    assert_eq!(excess_gain(1.5, 1.0, 0.10), 1.4);
    // 0.8 − (1.1² − 1) = 0.5899999999999999.
    assert_eq!(excess_gain(0.8, 2.0, 0.10), 0.5899999999999999);
    // No holding period, or a CAGR of −100 %: all of the gain is excess.
    assert_eq!(excess_gain(0.3, 0.0, 0.10), 0.3);
    assert_eq!(excess_gain(0.3, 2.0, -1.0), 0.3);
    // Compounding that overflows counts the gain as excess, as the reference's fallback does.
    assert_eq!(excess_gain(0.3, 1e6, 10.0), 0.3);
}

#[test]
fn score_is_piecewise_linear() {
    assert_eq!(windfall_score(0.5), 1.0);
    assert_eq!(windfall_score(2.0), 1.0);
    assert_eq!(windfall_score(0.25), 0.5);
    assert_eq!(windfall_score(0.3499999999999999), 0.6999999999999998);
    assert_eq!(windfall_score(0.1499999999999999), 0.2999999999999998);
    assert_eq!(windfall_score(0.0), 0.0);
    assert_eq!(windfall_score(-0.4), 0.0);
}

#[test]
fn windfall_doubler_sells_half() {
    let a = should_take_profits(1.5, 1.0, 0.10);
    assert!(a.sell);
    assert_eq!(a.sell_pct, 0.50);
    assert_eq!(a.reason, "Windfall doubler: 150% gain with 140% excess");
}

#[test]
fn consistent_doubler_sells_thirty_percent() {
    // Doubled, but 0.8 CAGR explains all but 20 %: not more than 30 % excess.
    let a = should_take_profits(1.0, 1.0, 0.8);
    assert!(a.sell);
    assert_eq!(a.sell_pct, 0.30);
    assert_eq!(a.reason, "Consistent doubler: 100% gain, taking 30%");
    // 0.75 CAGR leaves 25 % excess: consistent; 0.7 leaves 0.30000000000000004, just over 30 %.
    assert!(
        should_take_profits(1.0, 1.0, 0.75)
            .reason
            .starts_with("Consistent doubler")
    );
    let over = should_take_profits(1.0, 1.0, 0.7);
    assert_eq!(over.sell_pct, 0.5);
    assert_eq!(over.reason, "Windfall doubler: 100% gain with 30% excess");
}

#[test]
fn high_windfall_sells_forty_percent() {
    let a = should_take_profits(0.8, 1.0, 0.10);
    assert_eq!((a.sell, a.sell_pct), (true, 0.40));
    assert_eq!(a.reason, "High windfall: 70% above expected growth");
}

#[test]
fn medium_windfall_sells_twenty_percent() {
    let a = should_take_profits(0.45, 1.0, 0.10);
    assert_eq!((a.sell, a.sell_pct), (true, 0.20));
    assert_eq!(a.reason, "Medium windfall: 35% above expected growth");
}

#[test]
fn small_or_negative_excess_keeps_the_position() {
    let a = should_take_profits(0.25, 1.0, 0.10);
    assert_eq!((a.sell, a.sell_pct), (false, 0.0));
    assert_eq!(
        a.reason,
        "Performing 15% above expected, but within normal range"
    );
    let near = should_take_profits(0.05, 1.0, 0.10);
    assert_eq!(near.reason, "Performing near expectations");
    let under = should_take_profits(-0.3, 1.0, 0.10);
    assert_eq!(under.reason, "Underperforming by 40%");
}

#[test]
fn assessment_defaults_to_one_year_and_ten_percent() {
    let a = assess(250.0, 100.0, None, now(), None, None).unwrap();
    assert_eq!(a.current_gain, 1.5);
    assert_eq!(a.years_held, 1.0);
    assert_eq!(a.historical_cagr, 0.10);
    assert_eq!(a.excess_gain, 1.4);
    assert_eq!((a.windfall_score, a.score), (1.0, 1.0));
    assert_eq!(a.suggested_sell_fraction, 0.5);
}

#[test]
fn assessment_prefers_five_year_then_ten_year_cagr() {
    let five = assess(150.0, 100.0, None, now(), Some(0.2), Some(0.3)).unwrap();
    assert_eq!(five.historical_cagr, 0.2);
    let ten = assess(150.0, 100.0, None, now(), None, Some(0.3)).unwrap();
    assert_eq!(ten.historical_cagr, 0.3);
    // A cached 0.0 is a value, not a missing metric.
    let zero = assess(150.0, 100.0, None, now(), Some(0.0), Some(0.3)).unwrap();
    assert_eq!(zero.historical_cagr, 0.0);
}

#[test]
fn score_uses_the_raw_cagr_and_the_decision_the_rounded_one() {
    // Raw CAGR 0.25004: excess 0.49995999999999996, score 0.9999199999999999 (→ 1.0).
    // Rounded CAGR 0.25: excess exactly 0.5, which is a "high windfall".
    let a = assess(175.0, 100.0, None, now(), Some(0.25004), None).unwrap();
    assert_eq!(a.excess_gain, 0.49995999999999996);
    assert_eq!(a.windfall_score, 0.9999199999999999);
    assert_eq!(a.score, 1.0);
    assert_eq!(a.advice.reason, "High windfall: 50% above expected growth");
    assert_eq!(a.suggested_sell_fraction, 0.4);
}

#[test]
fn years_held_come_from_the_first_buy() {
    let two_years = now() - TimeDelta::days(730);
    let a = assess(180.0, 100.0, Some(two_years), now(), None, None).unwrap();
    assert_eq!(a.years_held, 2.0);
    assert_eq!(a.excess_gain, 0.5899999999999999);
    assert_eq!(a.advice.reason, "High windfall: 59% above expected growth");
    // Ten days is less than the 0.1-year floor.
    let recent = now() - TimeDelta::days(10);
    let b = assess(180.0, 100.0, Some(recent), now(), None, None).unwrap();
    assert_eq!(b.years_held, 0.1);
    assert_eq!(b.excess_gain, 0.790423417223113);
}

#[test]
fn score_is_rounded_to_three_decimals() {
    // Excess 0.3499999999999999 → 0.6999999999999998 → 0.7.
    let a = assess(145.0, 100.0, None, now(), None, None).unwrap();
    assert_eq!(a.windfall_score, 0.6999999999999998);
    assert_eq!(a.score, 0.7);
    assert_eq!(a.suggested_sell_fraction, 0.2);
}

#[test]
fn no_sell_gives_no_fraction_and_no_average_price_no_assessment() {
    let a = assess(125.0, 100.0, None, now(), None, None).unwrap();
    assert!(!a.advice.sell);
    assert_eq!(a.suggested_sell_fraction, 0.0);
    assert_eq!(a.score, 0.3);
    assert_eq!(assess(125.0, 0.0, None, now(), None, None), None);
}
