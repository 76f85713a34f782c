//! Each deterministic pattern on one hand-worked set of candidates (spec §4.3).

use super::*;
use crate::generator::reference::fixtures::{buy, label, sell};

/// Cash 1000. PT p1 500 (5); RS s1 400 (2), s2 200 (1); AV a1 1200 (4), a2 300 (5);
/// RB r1 800 (3), r2 100 (0.5); OP o1 50 (0.1).
fn top() -> TopLists {
    TopLists {
        profit_taking: vec![sell("p1", 500.0, 5.0)],
        averaging_down: vec![buy("a1", 1200.0, 4.0), buy("a2", 300.0, 5.0)],
        rebalance_sells: vec![sell("s1", 400.0, 2.0), sell("s2", 200.0, 1.0)],
        rebalance_buys: vec![buy("r1", 800.0, 3.0), buy("r2", 100.0, 0.5)],
        opportunity_buys: vec![buy("o1", 50.0, 0.1)],
    }
}

fn run(pattern: Pattern, cash: f64, steps: usize) -> String {
    pattern
        .build(&top(), cash, steps)
        .map_or("-".to_string(), |s| label(&s))
}

#[test]
fn fits_loops_skip_what_the_cash_does_not_cover() {
    // a1 1200 > 1000 is skipped, not a stop: a2 (700 left), r1 800 skipped, r2, o1.
    assert_eq!(run(Pattern::DirectBuy, 1000.0, 3), "B:a2 B:r2 B:o1");
    assert_eq!(run(Pattern::DirectBuy, 0.0, 3), "-");
    // OP first (950 left), then AV + RB: a1 skipped, a2 (650), r1 skipped, r2.
    assert_eq!(run(Pattern::OpportunityFirst, 1000.0, 3), "B:o1 B:a2 B:r2");
}

#[test]
fn sell_led_patterns() {
    // PT[:3] = p1; cash 1500; AV + RB: a1 (300 left), a2 (0).
    assert_eq!(run(Pattern::ProfitTaking, 1000.0, 3), "S:p1 B:a1 B:a2");
    // RS s1, s2; cash 1600; RB r1 (800 left), full.
    assert_eq!(run(Pattern::Rebalance, 1000.0, 3), "S:s1 S:s2 B:r1");
    // (PT + RS)[:2] fills the sequence.
    assert_eq!(run(Pattern::MultiSell, 1000.0, 2), "S:p1 S:s1");
    // All three sells, cash 2100, a1 (900 left), full.
    assert_eq!(run(Pattern::MultiSell, 1000.0, 4), "S:p1 S:s1 S:s2 B:a1");
    // Two sells (4 / 2), cash 1900, a1 (700), a2 (400).
    assert_eq!(
        run(Pattern::MixedStrategy, 1000.0, 4),
        "S:p1 S:s1 B:a1 B:a2"
    );
    // One sell at depth 1 or 2 (max(1, S / 2)).
    assert_eq!(run(Pattern::MixedStrategy, 0.0, 1), "S:p1");
    // RS[:1] at depth 3, cash 1400, r1 (600), r2 (500).
    assert_eq!(run(Pattern::DeepRebalance, 1000.0, 3), "S:s1 B:r1 B:r2");
    // Every sell, then OP first: o1.
    assert_eq!(
        run(Pattern::CashGeneration, 1000.0, 4),
        "S:p1 S:s1 S:s2 B:o1"
    );
}

#[test]
fn averaging_down_borrows_the_first_profit_taking_sell_when_short() {
    // 1000 < a1 1200: p1 goes first (cash 1500), then a1 (300), a2 (0).
    assert_eq!(run(Pattern::AveragingDown, 1000.0, 3), "S:p1 B:a1 B:a2");
    // Even with a single step.
    assert_eq!(run(Pattern::AveragingDown, 1000.0, 1), "S:p1");
    // Enough cash: no sell; a1 (800 left), a2 (500).
    assert_eq!(run(Pattern::AveragingDown, 2000.0, 3), "B:a1 B:a2");
    let mut no_pt = top();
    no_pt.profit_taking.clear();
    let s = Pattern::AveragingDown.build(&no_pt, 1000.0, 3).unwrap();
    assert_eq!(label(&s), "B:a2");
}

#[test]
fn single_best_is_the_first_of_the_highest_priority() {
    // p1 and a2 tie at 5; p1 comes first (PT before AV).
    assert_eq!(run(Pattern::SingleBest, 0.0, 3), "S:p1");
    let mut t = top();
    t.profit_taking.clear();
    // Now a2 (5) wins; a buy needs the cash.
    assert_eq!(
        label(&Pattern::SingleBest.build(&t, 300.0, 1).unwrap()),
        "B:a2"
    );
    assert!(Pattern::SingleBest.build(&t, 299.0, 1).is_none());
    assert!(
        Pattern::SingleBest
            .build(&TopLists::default(), 1.0, 1)
            .is_none()
    );
}

#[test]
fn cost_optimized_takes_sells_then_buys_by_priority() {
    // Sells p1, s1, s2 (cash 2100); buys by priority: a2 5 (1800), a1 4 (600), r1 3 does
    // not fit and is skipped, r2 0.5 (500).
    assert_eq!(
        run(Pattern::CostOptimized, 1000.0, 4),
        "S:p1 S:s1 S:s2 B:a2"
    );
    assert_eq!(
        run(Pattern::CostOptimized, 1000.0, 6),
        "S:p1 S:s1 S:s2 B:a2 B:a1 B:r2"
    );
    // No cash: 1100 from sells; a2 (800), a1 skipped, r1 (0).
    assert_eq!(
        run(Pattern::CostOptimized, 0.0, 6),
        "S:p1 S:s1 S:s2 B:a2 B:r1"
    );
    assert_eq!(run(Pattern::CostOptimized, 0.0, 2), "S:p1 S:s1");
    // A candidate listed twice (value-equal) is added once.
    let twin = buy("x", 100.0, 1.0);
    let t = TopLists {
        averaging_down: vec![twin.clone()],
        rebalance_buys: vec![twin],
        ..TopLists::default()
    };
    assert_eq!(
        label(&Pattern::CostOptimized.build(&t, 1000.0, 3).unwrap()),
        "B:x"
    );
}

#[test]
fn patterns_without_their_candidates_give_nothing() {
    let buys_only = TopLists {
        rebalance_buys: vec![buy("r", 100.0, 1.0)],
        ..TopLists::default()
    };
    for p in [
        Pattern::ProfitTaking,
        Pattern::Rebalance,
        Pattern::AveragingDown,
        Pattern::MultiSell,
        Pattern::OpportunityFirst,
        Pattern::DeepRebalance,
        Pattern::CashGeneration,
    ] {
        assert!(p.build(&buys_only, 1000.0, 3).is_none(), "{}", p.name());
    }
    assert!(deterministic_patterns(&TopLists::default(), 1000.0, 3).is_empty());
}

#[test]
fn the_order_of_cash_additions_is_kept() {
    // Cash 0.1, sells 0.2 and 0.7, a buy of 1.0. 0.1 + (0.2 + 0.7) = 0.9999999999999999
    // but (0.1 + 0.2) + 0.7 = 1.0: the patterns that add the sell total at once cannot afford
    // the buy, those that add sell by sell can.
    let t = TopLists {
        rebalance_sells: vec![sell("s1", 0.2, 1.0), sell("s2", 0.7, 1.0)],
        rebalance_buys: vec![buy("b", 1.0, 1.0)],
        ..TopLists::default()
    };
    let at = |p: Pattern, steps| label(&p.build(&t, 0.1, steps).unwrap());
    assert_eq!(at(Pattern::Rebalance, 3), "S:s1 S:s2");
    assert_eq!(at(Pattern::MultiSell, 3), "S:s1 S:s2");
    assert_eq!(at(Pattern::DeepRebalance, 4), "S:s1 S:s2 B:b");
    assert_eq!(at(Pattern::CashGeneration, 3), "S:s1 S:s2 B:b");
    assert_eq!(at(Pattern::MixedStrategy, 4), "S:s1 S:s2 B:b");
}
