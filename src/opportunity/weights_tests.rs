//! The weight-based path (spec §3.2): lot rounding, the sell remainder rule, skips and their
//! reasons, the worthwhile test, and properties over random portfolios.

use indexmap::IndexMap;
use proptest::prelude::*;

use crate::domain::{Category, Position, Security, Side};

use super::identified::Identified;
use super::rejection::{IneligibleWhy, RejectReason};
use super::weights::{WeightInputs, identify_from_weights, weight_gaps};

fn position(symbol: &str, quantity: f64, avg_price: f64) -> Position {
    Position {
        symbol: symbol.to_string(),
        quantity,
        avg_price,
        currency: "EUR".to_string(),
        current_price: None,
        market_value_eur: None,
        unrealized_pnl_pct: None,
        first_bought_at: None,
    }
}

fn security(symbol: &str, min_lot: i64) -> Security {
    let mut s = Security::new(symbol, &format!("{symbol} Inc"));
    s.min_lot = min_lot;
    s
}

fn map(pairs: &[(&str, f64)]) -> IndexMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A 10 000 EUR portfolio with the given targets, held values and prices.
fn inputs(targets: &[(&str, f64)], held: &[(&str, f64)], prices: &[(&str, f64)]) -> WeightInputs {
    WeightInputs {
        target_weights: map(targets),
        position_values: map(held),
        total_value: 10_000.0,
        current_prices: map(prices),
        ..WeightInputs::default()
    }
}

fn only_rejection(result: &Identified) -> &RejectReason {
    assert!(
        result.opportunities.is_empty(),
        "{:?}",
        result.opportunities
    );
    assert_eq!(result.rejected.len(), 1, "{:?}", result.rejected);
    &result.rejected[0].reason
}

#[test]
fn a_buy_smaller_than_one_lot_buys_one_lot() {
    // Gap 1 % of 10 000 = 100 EUR at 50: 2 shares, rounded up to the lot of 10.
    let mut input = inputs(&[("X", 0.01)], &[], &[("X", 50.0)]);
    input.securities = vec![security("X", 10)];
    let result = identify_from_weights(&input);
    let buy = &result.opportunities.rebalance_buys[0];
    assert_eq!(buy.quantity, 10);
    assert_eq!(buy.value_eur, 500.0);
    assert_eq!(buy.currency, "EUR");
}

#[test]
fn buys_above_one_lot_are_not_rounded_to_lots() {
    // 1000 EUR at 30: 33 shares with a lot of 10 (no rounding to multiples).
    let mut input = inputs(&[("X", 0.1)], &[], &[("X", 30.0)]);
    input.securities = vec![security("X", 10)];
    let result = identify_from_weights(&input);
    assert_eq!(result.opportunities.rebalance_buys[0].quantity, 33);
}

#[test]
fn a_zero_lot_leaves_a_zero_quantity_buy_out() {
    // 100 EUR at 150 is 0 shares; a lot of 0 is "no lot rule" and nothing is bought.
    let mut input = inputs(&[("X", 0.01)], &[], &[("X", 150.0)]);
    input.securities = vec![security("X", 0)];
    let result = identify_from_weights(&input);
    assert_eq!(only_rejection(&result), &RejectReason::ZeroQuantity);
    assert_eq!(result.rejected[0].side, Some(Side::Buy));
}

#[test]
fn a_sell_never_leaves_less_than_one_lot() {
    // Sell 1000 EUR at 125 = 8 of 10 shares would leave 2 < lot 3: sell 10 − 3 = 7.
    let mut input = inputs(&[("X", 0.0)], &[("X", 1000.0)], &[("X", 125.0)]);
    input.positions = vec![position("X", 10.0, 100.0)];
    input.securities = vec![security("X", 3)];
    let sell = &identify_from_weights(&input).opportunities.rebalance_sells[0];
    assert_eq!(sell.quantity, 7);
    assert_eq!(sell.value_eur, 875.0);
    assert_eq!(sell.priority, 10.0);
}

#[test]
fn a_sell_leaving_exactly_one_lot_is_kept() {
    // 7 of 10 leaves 3 = lot: unchanged.
    let mut input = inputs(&[("X", 0.0)], &[("X", 700.0)], &[("X", 100.0)]);
    input.positions = vec![position("X", 10.0, 100.0)];
    input.securities = vec![security("X", 3)];
    let sell = &identify_from_weights(&input).opportunities.rebalance_sells[0];
    assert_eq!(sell.quantity, 7);
}

#[test]
fn a_sell_is_not_capped_at_the_held_quantity() {
    // The value map says 1500 EUR but only 10 shares at 100 are held: all 15 are offered.
    let mut input = inputs(&[("X", 0.0)], &[("X", 1500.0)], &[("X", 100.0)]);
    input.positions = vec![position("X", 10.0, 100.0)];
    input.securities = vec![security("X", 1)];
    let sell = &identify_from_weights(&input).opportunities.rebalance_sells[0];
    assert_eq!(sell.quantity, 15);
}

#[test]
fn a_position_at_its_minimum_lot_is_not_sold() {
    let mut input = inputs(&[], &[("X", 1000.0)], &[("X", 100.0)]);
    input.positions = vec![position("X", 3.0, 100.0)];
    input.securities = vec![security("X", 3)];
    let result = identify_from_weights(&input);
    assert_eq!(
        only_rejection(&result),
        &RejectReason::AtMinLot {
            quantity: 3.0,
            min_lot: 3
        }
    );
    assert_eq!(result.rejected[0].category, Some(Category::RebalanceSells));
}

#[test]
fn a_sell_without_a_security_uses_the_symbol_as_name() {
    let mut input = inputs(&[], &[("X", 1000.0)], &[("X", 100.0)]);
    input.positions = vec![position("X", 20.0, 100.0)];
    let sell = &identify_from_weights(&input).opportunities.rebalance_sells[0];
    assert_eq!(sell.name, "X");
    assert_eq!(sell.quantity, 10);
    assert_eq!(sell.priority, 10.0);
    assert_eq!(sell.reason, "Optimizer target: 0.0% (current: 10.0%)");
}

#[test]
fn recently_sold_and_ineligible_symbols_skip_sells_only() {
    let mut input = inputs(
        &[("S", 0.0), ("I", 0.0), ("B", 0.2)],
        &[("S", 1000.0), ("I", 1000.0), ("B", 1000.0)],
        &[("S", 10.0), ("I", 10.0), ("B", 10.0)],
    );
    input.positions = vec![
        position("S", 100.0, 10.0),
        position("I", 100.0, 10.0),
        position("B", 100.0, 10.0),
    ];
    input.securities = vec![security("S", 1), security("I", 1), security("B", 1)];
    input.recently_sold = ["S", "B"].iter().map(|s| s.to_string()).collect();
    input.ineligible_symbols = ["S", "I", "B"].iter().map(|s| s.to_string()).collect();
    let result = identify_from_weights(&input);
    // B is a buy gap: the sell lists do not touch it.
    assert_eq!(result.opportunities.rebalance_buys.len(), 1);
    assert_eq!(result.opportunities.rebalance_buys[0].symbol, "B");
    assert!(result.opportunities.rebalance_sells.is_empty());
    let reasons: Vec<(&str, &RejectReason)> = result
        .rejected
        .iter()
        .map(|r| (r.symbol.as_str(), &r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "S",
                &RejectReason::InSellCooldown {
                    days_since_sell: None
                }
            ),
            ("I", &RejectReason::IneligibleToSell(IneligibleWhy::Listed)),
        ]
    );
}

#[test]
fn a_sell_gap_without_a_position_is_rejected() {
    let mut input = inputs(&[], &[("X", 1000.0)], &[("X", 100.0)]);
    input.securities = vec![security("X", 1)];
    let result = identify_from_weights(&input);
    assert_eq!(only_rejection(&result), &RejectReason::NoPosition);
}

#[test]
fn allow_flags_are_respected() {
    let mut input = inputs(&[("B", 0.1)], &[("S", 1000.0)], &[("B", 10.0), ("S", 10.0)]);
    input.positions = vec![position("S", 100.0, 10.0)];
    let mut b = security("B", 1);
    b.allow_buy = false;
    let mut s = security("S", 1);
    s.allow_sell = false;
    input.securities = vec![b, s];
    let result = identify_from_weights(&input);
    assert!(result.opportunities.is_empty());
    let codes: Vec<&str> = result.rejected.iter().map(|r| r.code()).collect();
    assert_eq!(codes, ["buy_not_allowed", "sell_not_allowed"]);
}

#[test]
fn a_buy_without_a_security_is_rejected() {
    let input = inputs(&[("X", 0.1)], &[], &[("X", 10.0)]);
    let result = identify_from_weights(&input);
    assert_eq!(only_rejection(&result), &RejectReason::NoSecurity);
}

#[test]
fn the_worthwhile_test_needs_twice_the_cost() {
    // Fixed 2, no percentage: exactly 4 EUR passes, 3.99 EUR does not.
    let mut input = inputs(&[("X", 0.01)], &[], &[("X", 1.0)]);
    input.securities = vec![security("X", 1)];
    input.transaction_cost_percent = 0.0;
    input.total_value = 400.0;
    assert_eq!(
        identify_from_weights(&input).opportunities.rebalance_buys[0].quantity,
        4
    );
    input.total_value = 399.0;
    let result = identify_from_weights(&input);
    assert_eq!(
        only_rejection(&result),
        &RejectReason::BelowWorthwhile {
            value: 3.99,
            cost: 2.0
        }
    );

    // With 0.2 %: 4.01 EUR costs 2.00802 (needs 4.01604), 4.02 EUR passes.
    input.transaction_cost_percent = 0.002;
    input.total_value = 401.0;
    assert_eq!(
        identify_from_weights(&input).rejected[0].code(),
        "below_worthwhile_threshold"
    );
    input.total_value = 402.0;
    assert_eq!(identify_from_weights(&input).opportunities.len(), 1);
}

#[test]
fn no_or_non_positive_price_is_rejected() {
    let mut input = inputs(
        &[("A", 0.1), ("B", 0.1), ("C", 0.1)],
        &[],
        &[("A", 0.0), ("B", -1.0)],
    );
    input.securities = vec![security("A", 1), security("B", 1), security("C", 1)];
    let result = identify_from_weights(&input);
    assert!(result.opportunities.is_empty());
    assert_eq!(result.rejected.len(), 3);
    assert!(
        result
            .rejected
            .iter()
            .all(|r| r.reason == RejectReason::NoPrice && r.side == Some(Side::Buy))
    );
}

#[test]
fn a_non_positive_total_gives_nothing() {
    for total in [0.0, -100.0] {
        let mut input = inputs(&[("X", 0.5)], &[("X", 100.0)], &[("X", 10.0)]);
        input.securities = vec![security("X", 1)];
        input.total_value = total;
        let result = identify_from_weights(&input);
        assert!(result.opportunities.is_empty());
        assert!(result.rejected.is_empty());
    }
}

#[test]
fn gaps_of_half_a_percent_or_less_are_ignored() {
    let gaps = weight_gaps(
        &map(&[("T", 0.005), ("U", 0.0051)]),
        &map(&[("H", 0.005), ("K", 0.0051)]),
        100.0,
    );
    let symbols: Vec<&str> = gaps.iter().map(|g| g.symbol.as_str()).collect();
    assert_eq!(symbols, ["U", "K"]);
    assert_eq!(gaps[1].target, 0.0);
    assert_eq!(gaps[1].gap, -0.0051);
    assert_eq!(gaps[1].gap_value, -0.0051 * 100.0);
}

#[test]
fn gaps_sort_by_size_keeping_ties_in_order() {
    let gaps = weight_gaps(
        &map(&[("A", 0.1), ("B", 0.3), ("C", 0.2)]),
        &map(&[("B", 0.2), ("D", 0.1)]),
        1000.0,
    );
    let symbols: Vec<&str> = gaps.iter().map(|g| g.symbol.as_str()).collect();
    // |gaps|: A .1, B .09999999999999998, C .2, D .1 (target-less, after the targets).
    assert_eq!(symbols, ["C", "A", "D", "B"]);
}

#[test]
fn buy_category_splits_on_a_strictly_higher_average_price() {
    let mut input = inputs(
        &[("EQ", 0.1), ("UP", 0.1), ("DN", 0.1)],
        &[],
        &[("EQ", 10.0), ("UP", 10.0), ("DN", 10.0)],
    );
    input.positions = vec![
        position("EQ", 1.0, 10.0),
        position("UP", 1.0, 5.0),
        position("DN", 1.0, 10.5),
    ];
    input.positions[0].currency = "USD".into();
    input.securities = vec![security("EQ", 1), security("UP", 1), security("DN", 1)];
    let o = identify_from_weights(&input).opportunities;
    let buys: Vec<&str> = o.rebalance_buys.iter().map(|c| c.symbol.as_str()).collect();
    assert_eq!(buys, ["EQ", "UP"]);
    // The held position's currency is carried over.
    assert_eq!(o.rebalance_buys[0].currency, "USD");
    assert_eq!(o.averaging_down.len(), 1);
    assert_eq!(o.averaging_down[0].symbol, "DN");
    assert_eq!(
        o.averaging_down[0].tags,
        ["averaging_down", "optimizer_target"]
    );
}

#[test]
fn priority_multiplier_raises_buys_and_lowers_sells() {
    let mut input = inputs(&[("B", 0.1)], &[("S", 1000.0)], &[("B", 10.0), ("S", 10.0)]);
    input.positions = vec![position("S", 200.0, 10.0)];
    let mut b = security("B", 1);
    b.priority_multiplier = 2.0;
    let mut s = security("S", 1);
    s.priority_multiplier = 2.0;
    input.securities = vec![b, s];
    let o = identify_from_weights(&input).opportunities;
    assert_eq!(o.rebalance_buys[0].priority, 20.0);
    assert_eq!(o.rebalance_sells[0].priority, 5.0);
}

#[test]
fn equal_priorities_keep_the_gap_order() {
    let mut input = inputs(
        &[("B", 0.1), ("A", 0.1), ("C", 0.2)],
        &[],
        &[("A", 10.0), ("B", 10.0), ("C", 10.0)],
    );
    input.securities = vec![security("A", 1), security("B", 1), security("C", 1)];
    let o = identify_from_weights(&input).opportunities;
    let order: Vec<&str> = o.rebalance_buys.iter().map(|c| c.symbol.as_str()).collect();
    assert_eq!(order, ["C", "B", "A"]);
}

const SYMBOLS: [&str; 6] = ["A", "B", "C", "D", "E", "a"];

fn arb_inputs() -> impl Strategy<Value = WeightInputs> {
    let sym = 0..SYMBOLS.len();
    (
        prop::collection::vec((sym.clone(), 0.0..0.5f64), 0..6),
        prop::collection::vec((sym.clone(), -100.0..5000.0f64), 0..6),
        1.0..20_000.0f64,
        prop::collection::vec((sym.clone(), prop_oneof![Just(0.0), 0.01..300.0f64]), 0..6),
        prop::collection::vec((sym.clone(), 0..400i64, 0.5..300.0f64), 0..6),
        prop::collection::vec((sym, 0..5i64, any::<(bool, bool)>(), 0.5..2.0f64), 0..6),
        (0.0..5.0f64, 0.0..0.01f64),
        prop::collection::vec(0..SYMBOLS.len(), 0..3),
    )
        .prop_map(
            |(targets, held, total, prices, positions, securities, costs, sold)| {
                let named = |pairs: Vec<(usize, f64)>| {
                    pairs
                        .into_iter()
                        .map(|(i, v)| (SYMBOLS[i].to_string(), v))
                        .collect()
                };
                WeightInputs {
                    target_weights: named(targets),
                    position_values: named(held),
                    total_value: total,
                    current_prices: named(prices),
                    positions: positions
                        .into_iter()
                        .map(|(i, q, avg)| position(SYMBOLS[i], q as f64, avg))
                        .collect(),
                    securities: securities
                        .into_iter()
                        .map(|(i, lot, (buy, sell), m)| {
                            let mut s = security(SYMBOLS[i], lot);
                            s.allow_buy = buy;
                            s.allow_sell = sell;
                            s.priority_multiplier = m;
                            s
                        })
                        .collect(),
                    transaction_cost_fixed: costs.0,
                    transaction_cost_percent: costs.1,
                    recently_sold: sold.into_iter().map(|i| SYMBOLS[i].to_string()).collect(),
                    ..WeightInputs::default()
                }
            },
        )
}

proptest! {
    #[test]
    fn weight_path_invariants(input in arb_inputs()) {
        let result = identify_from_weights(&input);
        let o = &result.opportunities;
        prop_assert!(o.profit_taking.is_empty());
        prop_assert!(o.opportunity_buys.is_empty());
        for (category, c) in o.iter() {
            prop_assert!(c.quantity > 0, "{c:?}");
            prop_assert_eq!(c.value_eur.to_bits(), (c.quantity as f64 * c.price).to_bits());
            prop_assert!(c.price > 0.0);
            prop_assert_eq!(c.side, category.side());
        }
        for category in Category::ALL {
            let list = o.list(category);
            prop_assert!(list.windows(2).all(|w| w[0].priority >= w[1].priority));
        }
        // Every gap ends as exactly one candidate or one rejection.
        let current: IndexMap<String, f64> = input
            .position_values
            .iter()
            .map(|(s, v)| (s.clone(), v / input.total_value))
            .collect();
        let gaps = weight_gaps(&input.target_weights, &current, input.total_value);
        prop_assert_eq!(o.len() + result.rejected.len(), gaps.len());
    }
}
