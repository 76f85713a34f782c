//! Market-regime patterns, worked by hand from spec §4.6.

use super::*;
use crate::generator::reference::fixtures::{buy, labels, sell};

fn opportunities() -> Opportunities {
    Opportunities {
        profit_taking: vec![
            sell("PT1", 300.0, 9.0),
            sell("PT2", 200.0, 8.0),
            sell("PT3", 100.0, 7.0),
        ],
        averaging_down: vec![
            buy("AV1", 500.0, 6.0),
            buy("AV2", 2000.0, 5.0),
            buy("AV3", 100.0, 4.0),
        ],
        rebalance_sells: vec![
            sell("RS1", 400.0, 3.0),
            sell("RS2", 300.0, 2.5),
            sell("RS3", 50.0, 2.0),
        ],
        rebalance_buys: vec![buy("RB1", 600.0, 1.5), buy("RB2", 100.0, 1.0)],
        opportunity_buys: vec![buy("OP1", 700.0, 0.9), buy("OP2", 50.0, 0.8)],
    }
}

fn run(regime: &str, cash: f64, steps: usize, n: usize) -> Vec<String> {
    labels(&market_regime_patterns(
        &opportunities(),
        MarketRegime::parse(regime),
        cash,
        steps,
        n,
    ))
}

#[test]
fn bull_takes_two_profits_then_growth_buys() {
    // PT1, PT2 → cash 500 + 500 = 1000; OP1 700 → 300; OP2 50 → 250; full at 4.
    assert_eq!(run("bull", 500.0, 4, 5), ["S:PT1 S:PT2 B:OP1 B:OP2"]);
    // Cash 100 → 600 after sells; OP1 700 > 600 stops the buys (break, OP2 never tried).
    assert_eq!(run("bull", 100.0, 4, 5), ["S:PT1 S:PT2"]);
    // One step: only PT1.
    assert_eq!(run("bull", 500.0, 1, 5), ["S:PT1"]);
    // Top-1 per category: PT2 and OP2 are cut before the pattern sees them. PT1 → 1300;
    // OP1 → 600; RB1 600 fits exactly → 0.
    assert_eq!(run("bull", 1000.0, 4, 1), ["S:PT1 B:OP1 B:RB1"]);
}

#[test]
fn bear_sells_up_to_half_the_steps_then_averages_down() {
    // 4 steps → at most 2 sells: PT1, PT2 (cash 100 + 500 = 600); AV1 500 → 100;
    // AV2 2000 > 100 → break (AV3 never tried).
    assert_eq!(run("bear", 100.0, 4, 5), ["S:PT1 S:PT2 B:AV1"]);
    // 6 steps → 3 sells: PT1, PT2, PT3, then AV1; AV2 stops it.
    assert_eq!(run("bear", 0.0, 6, 5), ["S:PT1 S:PT2 S:PT3 B:AV1"]);
    // 1 step → 1 / 2 = 0 sells; AV1 500 > 100 → nothing at all.
    assert!(run("bear", 100.0, 1, 5).is_empty());
}

#[test]
fn anything_else_is_sideways() {
    // RS1, RS2 → cash 100 + 700 = 800; RB1 600 → 200; RB2 100 → 100; full.
    let expected = ["S:RS1 S:RS2 B:RB1 B:RB2"];
    assert_eq!(run("sideways", 100.0, 4, 5), expected);
    assert_eq!(run("Bull", 100.0, 4, 5), expected);
    assert_eq!(run("crab", 100.0, 4, 5), expected);
    assert_eq!(MarketRegime::parse("BEAR"), MarketRegime::Sideways);
    // Five steps: RB1, RB2, then OP1 700 > 100 → break.
    assert_eq!(run("sideways", 100.0, 5, 5), expected);
}

#[test]
fn no_candidates_no_sequence() {
    let empty = Opportunities::default();
    for regime in [
        MarketRegime::Bull,
        MarketRegime::Bear,
        MarketRegime::Sideways,
    ] {
        assert!(market_regime_patterns(&empty, regime, 1000.0, 4, 5).is_empty());
    }
}
