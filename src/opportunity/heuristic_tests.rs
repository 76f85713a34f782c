//! The heuristic path (spec §3.3–3.4): each calculator's candidate and rejections, the
//! cooldowns and sell-eligibility rules measured from `now`, FX, and sorting.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use indexmap::IndexMap;
use proptest::prelude::*;

use crate::domain::{ActionCandidate, Category, Position, Security, Side};

use super::heuristic::{
    CagrMetrics, HeuristicEnv, HeuristicInputs, base_trade_amount, identify_heuristic,
};
use super::identified::{IdentificationPath, Identified};
use super::rejection::{IneligibleWhy, RejectReason, Rejection};

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

fn days_ago(days: i64) -> NaiveDateTime {
    now() - TimeDelta::days(days)
}

/// A EUR position of `quantity` shares bought at `avg`, now worth `price` each.
fn position(symbol: &str, quantity: f64, avg: f64, price: f64) -> Position {
    Position {
        symbol: symbol.to_string(),
        quantity,
        avg_price: avg,
        currency: "EUR".to_string(),
        current_price: Some(price),
        market_value_eur: Some(quantity * price),
        unrealized_pnl_pct: None,
        first_bought_at: None,
    }
}

fn security(symbol: &str, country: Option<&str>) -> Security {
    let mut s = Security::new(symbol, &format!("{symbol} plc"));
    s.country = country.map(str::to_string);
    s
}

fn scores(pairs: &[(&str, f64)]) -> Option<HashMap<String, f64>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
}

fn env() -> HeuristicEnv {
    HeuristicEnv::new(now())
}

/// One position (and its security) in a portfolio of `total` EUR.
fn holding(p: Position, s: Security, total: f64) -> HeuristicInputs {
    HeuristicInputs {
        position_values: [(p.symbol.clone(), p.market_value_eur.unwrap())]
            .into_iter()
            .collect(),
        total_value: total,
        positions: vec![p],
        securities: vec![s],
        ..HeuristicInputs::default()
    }
}

fn rejection<'a>(result: &'a Identified, symbol: &str, category: Category) -> &'a Rejection {
    result
        .rejected
        .iter()
        .find(|r| r.symbol == symbol && r.category == Some(category))
        .unwrap_or_else(|| panic!("no {category:?} rejection for {symbol}: {result:?}"))
}

fn only(list: &[ActionCandidate]) -> &ActionCandidate {
    assert_eq!(list.len(), 1, "{list:?}");
    &list[0]
}

// ---- profit taking ---------------------------------------------------------------------

#[test]
fn profit_taking_sells_half_of_a_windfall_doubler() {
    let input = holding(
        position("W", 10.0, 100.0, 250.0),
        security("W", None),
        2500.0,
    );
    let result = identify_heuristic(&input, &env());
    assert_eq!(result.path, IdentificationPath::Heuristic);
    let sell = only(&result.opportunities.profit_taking);
    assert_eq!(sell.side, Side::Sell);
    assert_eq!(sell.quantity, 5);
    assert_eq!(sell.price, 250.0);
    assert_eq!(sell.value_eur, 1250.0);
    assert_eq!(sell.currency, "EUR");
    assert_eq!(sell.priority, 1.5);
    assert_eq!(sell.reason, "Windfall doubler: 150% gain with 140% excess");
    assert_eq!(sell.tags, ["windfall", "profit_taking"]);
    assert_eq!(sell.name, "W plc");
    // The metrics the reference caches, handed back.
    assert_eq!(result.windfall.len(), 1);
    assert_eq!(result.windfall[0].symbol, "W");
    assert_eq!(result.windfall[0].excess_gain, 1.4);
    assert_eq!(result.windfall[0].windfall_score, 1.0);
}

#[test]
fn profit_taking_sells_thirty_percent_of_a_consistent_doubler() {
    let input = holding(
        position("C", 10.0, 100.0, 200.0),
        security("C", None),
        2000.0,
    );
    let mut env = env();
    env.cagr.insert(
        "C".into(),
        CagrMetrics {
            cagr_5y: Some(0.8),
            cagr_10y: None,
        },
    );
    let result = identify_heuristic(&input, &env);
    let sell = only(&result.opportunities.profit_taking);
    // int(10 × 0.3) = 3; score 0.3999999999999999 → 0.4; priority 0.4 + 0.5.
    assert_eq!(sell.quantity, 3);
    assert_eq!(sell.value_eur, 600.0);
    assert_eq!(sell.priority, 0.9);
    assert_eq!(sell.reason, "Consistent doubler: 100% gain, taking 30%");
    assert_eq!(result.windfall[0].windfall_score, 0.3999999999999999);
}

#[test]
fn profit_taking_sells_forty_and_twenty_percent() {
    let high = holding(
        position("H", 10.0, 100.0, 180.0),
        security("H", None),
        1800.0,
    );
    let sell = identify_heuristic(&high, &env())
        .opportunities
        .profit_taking[0]
        .clone();
    assert_eq!(
        (sell.quantity, sell.value_eur, sell.priority),
        (4, 720.0, 1.5)
    );
    assert_eq!(sell.reason, "High windfall: 70% above expected growth");

    let medium = holding(
        position("M", 10.0, 100.0, 145.0),
        security("M", None),
        1450.0,
    );
    let sell = identify_heuristic(&medium, &env())
        .opportunities
        .profit_taking[0]
        .clone();
    // Score 0.6999999999999998 → 0.7; priority 1.2.
    assert_eq!(
        (sell.quantity, sell.value_eur, sell.priority),
        (2, 290.0, 1.2)
    );
    assert_eq!(sell.reason, "Medium windfall: 35% above expected growth");
}

#[test]
fn no_windfall_is_a_rejection_with_the_rule_reason() {
    let input = holding(
        position("N", 10.0, 100.0, 125.0),
        security("N", None),
        1250.0,
    );
    let result = identify_heuristic(&input, &env());
    assert!(result.opportunities.profit_taking.is_empty());
    let r = rejection(&result, "N", Category::ProfitTaking);
    assert_eq!(
        r.reason,
        RejectReason::NoWindfall {
            reason: "Performing 15% above expected, but within normal range".into()
        }
    );
    // The metrics are computed (and returned) whether or not profits are taken.
    assert_eq!(result.windfall[0].windfall_score, 0.2999999999999998);
}

#[test]
fn a_profit_take_rounding_to_no_shares_is_rejected() {
    let input = holding(position("O", 1.0, 100.0, 250.0), security("O", None), 250.0);
    let result = identify_heuristic(&input, &env());
    assert!(result.opportunities.profit_taking.is_empty());
    assert_eq!(
        rejection(&result, "O", Category::ProfitTaking).reason,
        RejectReason::ZeroQuantity
    );
}

#[test]
fn profit_taking_needs_a_sellable_valued_position() {
    let mut unsellable = security("U", None);
    unsellable.allow_sell = false;
    let mut zero = position("Z", 10.0, 100.0, 250.0);
    zero.market_value_eur = Some(0.0);
    let input = HeuristicInputs {
        positions: vec![
            position("U", 10.0, 100.0, 250.0),
            zero,
            position("X", 10.0, 100.0, 250.0),
        ],
        securities: vec![unsellable, security("Z", None)],
        total_value: 5000.0,
        ..HeuristicInputs::default()
    };
    let result = identify_heuristic(&input, &env());
    assert!(result.opportunities.profit_taking.is_empty());
    let pt = |s| rejection(&result, s, Category::ProfitTaking).reason.clone();
    assert_eq!(pt("U"), RejectReason::NotAllowedToSell);
    assert_eq!(pt("Z"), RejectReason::NoPositionValue);
    assert_eq!(pt("X"), RejectReason::NoSecurity);
    assert!(result.windfall.is_empty());
}

#[test]
fn profit_taking_divides_native_value_by_the_rate() {
    let mut p = position("F", 10.0, 100.0, 250.0);
    p.currency = "USD".into();
    let input = holding(p, security("F", None), 2500.0);
    let mut env = env();
    env.exchange_rates.insert("USD".into(), 2.0);
    let sell = only(&identify_heuristic(&input, &env).opportunities.profit_taking).clone();
    assert_eq!(sell.quantity, 5);
    assert_eq!(sell.value_eur, 625.0);
    assert_eq!(sell.currency, "USD");
}

// ---- rebalance sells -------------------------------------------------------------------

/// 60 % in a US holding against a 40 % target, 40 % in a German one against 60 %.
fn two_countries() -> HeuristicInputs {
    let us = position("US1", 60.0, 100.0, 100.0);
    let de = position("DE1", 40.0, 100.0, 100.0);
    HeuristicInputs {
        position_values: [("US1".to_string(), 6000.0), ("DE1".to_string(), 4000.0)]
            .into_iter()
            .collect(),
        total_value: 10_000.0,
        country_weights: [("US".to_string(), 0.4), ("DE".to_string(), 0.6)]
            .into_iter()
            .collect(),
        security_countries: Some(
            [("US1", "US"), ("DE1", "DE")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        ),
        positions: vec![us, de],
        securities: vec![security("US1", Some("US")), security("DE1", Some("DE"))],
    }
}

#[test]
fn an_overweight_group_is_trimmed_by_at_most_thirty_percent() {
    let result = identify_heuristic(&two_countries(), &env());
    let sell = only(&result.opportunities.rebalance_sells);
    // Overweight 0.6 − 0.4 = 0.19999999999999996; min(6000 × 0.3, 1999.9999999999995) = 1800.
    assert_eq!(sell.symbol, "US1");
    assert_eq!(sell.quantity, 18);
    assert_eq!(sell.value_eur, 1800.0);
    assert_eq!(sell.priority, 0.3999999999999999);
    assert_eq!(sell.reason, "Overweight US by 20.0%");
    assert_eq!(sell.tags, ["rebalance", "overweight_us"]);
    assert_eq!(
        rejection(&result, "DE1", Category::RebalanceSells).reason,
        RejectReason::NotOverweight {
            group: "DE".into(),
            current: 0.4,
            target: 0.6
        }
    );
}

#[test]
fn rebalance_sells_multiply_eur_by_the_rate() {
    let mut input = two_countries();
    input.positions[0].currency = "USD".into();
    let mut env = env();
    env.exchange_rates.insert("USD".into(), 2.0);
    let sell = only(
        &identify_heuristic(&input, &env)
            .opportunities
            .rebalance_sells,
    )
    .clone();
    // 1800 EUR × 2 = 3600 native / 100 = 36 shares; the value stays the EUR amount.
    assert_eq!(sell.quantity, 36);
    assert_eq!(sell.value_eur, 1800.0);
    assert_eq!(sell.currency, "USD");
}

#[test]
fn country_groups_come_from_the_mapping_when_given() {
    let mut input = two_countries();
    input.country_weights = [("NA".to_string(), 0.4)].into_iter().collect();
    let mut env = env();
    env.country_to_group = Some([("US".to_string(), "NA".to_string())].into_iter().collect());
    let sells = identify_heuristic(&input, &env)
        .opportunities
        .rebalance_sells;
    assert_eq!(sells.len(), 2);
    // DE maps to no group, so to OTHER, which has no target: 40 % overweight, capped at
    // 4000 × 0.3 = 1200 EUR; it outranks the US sell.
    assert_eq!(sells[0].symbol, "DE1");
    assert_eq!((sells[0].quantity, sells[0].value_eur), (12, 1200.0));
    assert_eq!(sells[0].priority, 0.8);
    assert_eq!(sells[0].reason, "Overweight OTHER by 40.0%");
    assert_eq!(sells[0].tags, ["rebalance", "overweight_other"]);
    assert_eq!(sells[1].symbol, "US1");
    assert_eq!(sells[1].reason, "Overweight NA by 20.0%");
    assert_eq!(sells[1].tags, ["rebalance", "overweight_na"]);
}

#[test]
fn a_security_without_country_is_not_rebalanced() {
    let mut input = two_countries();
    input.securities[0].country = None;
    let result = identify_heuristic(&input, &env());
    assert!(result.opportunities.rebalance_sells.is_empty());
    assert_eq!(
        rejection(&result, "US1", Category::RebalanceSells).reason,
        RejectReason::NoCountry
    );
}

#[test]
fn a_zero_total_value_allocates_nothing() {
    let mut input = two_countries();
    input.total_value = 0.0;
    let result = identify_heuristic(&input, &env());
    assert!(result.opportunities.rebalance_sells.is_empty());
    assert_eq!(
        rejection(&result, "US1", Category::RebalanceSells).code(),
        "not_overweight"
    );
}

// ---- sell cooldown and eligibility -----------------------------------------------------

#[test]
fn sells_inside_the_sell_cooldown_are_held_back() {
    let mut env = env();
    env.last_sell.insert("US1".into(), days_ago(179));
    let result = identify_heuristic(&two_countries(), &env);
    assert!(result.opportunities.rebalance_sells.is_empty());
    assert_eq!(
        rejection(&result, "US1", Category::RebalanceSells).reason,
        RejectReason::InSellCooldown {
            days_since_sell: Some(179)
        }
    );

    env.last_sell.insert("US1".into(), days_ago(181));
    let result = identify_heuristic(&two_countries(), &env);
    assert_eq!(result.opportunities.rebalance_sells.len(), 1);
}

#[test]
fn sells_are_blocked_by_holding_time_cooldown_and_loss() {
    let blocked = |last: i64, price: f64| {
        let mut input = two_countries();
        input.positions[0].current_price = Some(price);
        let mut env = env();
        env.last_transaction.insert("US1".into(), days_ago(last));
        let result = identify_heuristic(&input, &env);
        let reason = result
            .rejected
            .iter()
            .find(|r| r.symbol == "US1" && r.category == Some(Category::RebalanceSells))
            .map(|r| r.reason.clone());
        assert_eq!(
            result.opportunities.rebalance_sells.is_empty(),
            reason.is_some()
        );
        reason
    };
    assert_eq!(
        blocked(89, 100.0),
        Some(RejectReason::IneligibleToSell(
            IneligibleWhy::HeldTooShort {
                days: 89,
                min_days: 90
            }
        ))
    );
    assert_eq!(
        blocked(90, 100.0),
        Some(RejectReason::IneligibleToSell(
            IneligibleWhy::TradedRecently {
                days: 90,
                cooldown_days: 180
            }
        ))
    );
    // A loss of 30 % (price 70 against 100) blocks even long-held positions.
    assert_eq!(
        blocked(400, 70.0),
        Some(RejectReason::IneligibleToSell(
            IneligibleWhy::LossBeyondThreshold {
                loss: -0.3,
                threshold: -0.2
            }
        ))
    );
    assert_eq!(blocked(180, 100.0), None);
}

#[test]
fn without_a_last_transaction_no_eligibility_rule_applies() {
    let mut input = two_countries();
    input.positions[0].current_price = Some(50.0);
    let result = identify_heuristic(&input, &env());
    assert_eq!(result.opportunities.rebalance_sells.len(), 1);
}

// ---- buys ------------------------------------------------------------------------------

/// Candidate buys: `symbol`'s price and, optionally, its quality score.
fn buy_env(prices: &[(&str, f64)], quality: &[(&str, f64)]) -> HeuristicEnv {
    let mut env = env();
    env.prices = prices.iter().map(|(s, p)| (s.to_string(), *p)).collect();
    if !quality.is_empty() {
        env.security_scores = scores(quality);
    }
    env
}

fn universe(securities: Vec<Security>) -> HeuristicInputs {
    HeuristicInputs {
        total_value: 10_000.0,
        securities,
        ..HeuristicInputs::default()
    }
}

#[test]
fn buy_prefilter_rejects_with_the_first_failing_rule() {
    let mut no_buy = security("NB", None);
    no_buy.allow_buy = false;
    let input = universe(vec![
        no_buy,
        security("CD", None),
        security("NP", None),
        security("LQ", None),
    ]);
    let mut env = buy_env(
        &[("NB", 10.0), ("CD", 10.0), ("NP", 0.0), ("LQ", 10.0)],
        &[("LQ", 0.4)],
    );
    env.last_buy.insert("CD".into(), days_ago(29));
    let result = identify_heuristic(&input, &env);
    assert!(result.opportunities.is_empty());
    let reasons: Vec<(&str, Option<Category>, &RejectReason)> = result
        .rejected
        .iter()
        .map(|r| (r.symbol.as_str(), r.category, &r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("NB", None, &RejectReason::NotAllowedToBuy),
            (
                "CD",
                None,
                &RejectReason::InBuyCooldown {
                    days_since_buy: 29,
                    cooldown_days: 30
                }
            ),
            ("NP", None, &RejectReason::NoPrice),
            (
                "LQ",
                None,
                &RejectReason::QualityTooLow {
                    score: 0.4,
                    min: 0.5
                }
            ),
        ]
    );
}

#[test]
fn the_buy_cooldown_ends_after_thirty_days() {
    let input = universe(vec![security("CD", None)]);
    let mut env = buy_env(&[("CD", 10.0)], &[("CD", 0.9)]);
    env.last_buy.insert("CD".into(), days_ago(31));
    let result = identify_heuristic(&input, &env);
    assert_eq!(result.opportunities.opportunity_buys.len(), 1);
}

#[test]
fn averaging_down_buys_a_quality_dip_of_a_held_security() {
    let mut input = universe(vec![
        security("AD", None),
        security("LQ", None),
        security("NH", None),
        security("NA", None),
        security("SD", None),
    ]);
    input.position_values = ["AD", "LQ", "NA", "SD"]
        .iter()
        .map(|s| (s.to_string(), 1000.0))
        .collect();
    let mut env = buy_env(
        &[
            ("AD", 70.0),
            ("LQ", 70.0),
            ("NH", 70.0),
            ("NA", 70.0),
            ("SD", 80.0),
        ],
        &[
            ("AD", 0.65),
            ("LQ", 0.55),
            ("NH", 0.65),
            ("NA", 0.65),
            ("SD", 0.65),
        ],
    );
    env.position_avg_prices = Some(
        [("AD", 100.0), ("LQ", 100.0), ("NH", 100.0), ("SD", 100.0)]
            .iter()
            .map(|(s, p)| (s.to_string(), *p))
            .collect(),
    );
    let result = identify_heuristic(&input, &env);
    let buy = only(&result.opportunities.averaging_down);
    // Loss −0.3; 250 EUR / 70 = 3 shares = 210 EUR; priority 0.65 + 0.3.
    assert_eq!(buy.symbol, "AD");
    assert_eq!(buy.side, Side::Buy);
    assert_eq!((buy.quantity, buy.value_eur), (3, 210.0));
    assert_eq!(buy.priority, 0.95);
    assert_eq!(buy.reason, "Quality security down 30%, averaging down");
    assert_eq!(buy.tags, ["averaging_down", "buy_low"]);
    let ad = |s| {
        rejection(&result, s, Category::AveragingDown)
            .reason
            .clone()
    };
    assert_eq!(
        ad("LQ"),
        RejectReason::QualityTooLow {
            score: 0.55,
            min: 0.6
        }
    );
    assert_eq!(ad("NH"), RejectReason::NoPosition);
    assert_eq!(ad("NA"), RejectReason::NoAveragePrice);
    // Down exactly 20 % is not beyond 20 %.
    assert_eq!(
        ad("SD"),
        RejectReason::NotDownEnough {
            loss: -0.2,
            threshold: -0.2
        }
    );
}

#[test]
fn rebalance_buys_fill_an_underweight_group() {
    let mut input = universe(vec![
        security("FR1", Some("FR")),
        security("US1", Some("US")),
        security("XX", None),
    ]);
    input.country_weights = [("FR".to_string(), 0.2), ("US".to_string(), 0.04)]
        .into_iter()
        .collect();
    let env = buy_env(&[("FR1", 25.0), ("US1", 25.0), ("XX", 25.0)], &[]);
    let result = identify_heuristic(&input, &env);
    let buy = only(&result.opportunities.rebalance_buys);
    // Underweight 0.2 × 2 + default quality 0.5 × 0.5 = 0.65; 250 EUR / 25 = 10 shares.
    assert_eq!(buy.symbol, "FR1");
    assert_eq!((buy.quantity, buy.value_eur), (10, 250.0));
    assert_eq!(buy.priority, 0.65);
    assert_eq!(buy.reason, "Underweight FR by 20.0%");
    assert_eq!(buy.tags, ["rebalance", "underweight_fr"]);
    assert_eq!(
        rejection(&result, "US1", Category::RebalanceBuys).reason,
        RejectReason::NotUnderweight {
            group: "US".into(),
            current: 0.0,
            target: 0.04
        }
    );
    assert_eq!(
        rejection(&result, "XX", Category::RebalanceBuys).reason,
        RejectReason::NoCountry
    );
}

#[test]
fn opportunity_buys_need_a_quality_of_seventy_percent() {
    let input = universe(vec![security("HQ", None), security("MQ", None)]);
    let env = buy_env(&[("HQ", 60.0), ("MQ", 60.0)], &[("HQ", 0.7), ("MQ", 0.69)]);
    let result = identify_heuristic(&input, &env);
    let buy = only(&result.opportunities.opportunity_buys);
    assert_eq!(buy.symbol, "HQ");
    // 250 / 60 = 4.17 → 4 shares, 240 EUR.
    assert_eq!((buy.quantity, buy.value_eur), (4, 240.0));
    assert_eq!(buy.priority, 0.7);
    assert_eq!(buy.reason, "High quality (score: 0.70)");
    assert_eq!(buy.tags, ["quality", "opportunity"]);
    assert_eq!(
        rejection(&result, "MQ", Category::OpportunityBuys).reason,
        RejectReason::QualityTooLow {
            score: 0.69,
            min: 0.7
        }
    );
}

#[test]
fn heuristic_buys_are_sized_in_lots_with_the_security_currency() {
    let mut s = security("LOT", None);
    s.min_lot = 5;
    s.currency = Some("USD".into());
    s.priority_multiplier = 2.0;
    let input = universe(vec![s]);
    let mut env = buy_env(&[("LOT", 60.0)], &[("LOT", 0.8)]);
    env.exchange_rates.insert("USD".into(), 1.1);
    let buy = only(
        &identify_heuristic(&input, &env)
            .opportunities
            .opportunity_buys,
    )
    .clone();
    // One lot of 5 × 60 = 300 USD = 272.7… EUR exceeds 250 EUR: one lot anyway.
    assert_eq!(buy.quantity, 5);
    assert_eq!(buy.value_eur, 300.0 / 1.1);
    assert_eq!(buy.price, 60.0);
    assert_eq!(buy.currency, "USD");
    assert_eq!(buy.priority, 1.6);
}

#[test]
fn the_base_trade_keeps_costs_at_one_percent() {
    assert_eq!(base_trade_amount(2.0, 0.002), 250.0);
    assert_eq!(base_trade_amount(2.0, 0.01), 1000.0);
    assert_eq!(base_trade_amount(2.0, 0.02), 1000.0);
    assert_eq!(base_trade_amount(1.0, 0.0), 100.0);
}

#[test]
fn settings_change_the_base_amount_and_the_cooldowns() {
    let input = universe(vec![security("S", None)]);
    let mut env = buy_env(&[("S", 10.0)], &[("S", 0.9)]);
    env.settings.transaction_cost_fixed = 4.0;
    env.last_buy.insert("S".into(), days_ago(20));
    env.settings.buy_cooldown_days = 10;
    let buy = only(
        &identify_heuristic(&input, &env)
            .opportunities
            .opportunity_buys,
    )
    .clone();
    // 4 / 0.008 = 500 EUR at 10 = 50 shares.
    assert_eq!(buy.quantity, 50);
}

// ---- ordering --------------------------------------------------------------------------

#[test]
fn categories_are_sorted_by_priority_keeping_ties() {
    let input = universe(vec![
        security("A", None),
        security("B", None),
        security("C", None),
    ]);
    let env = buy_env(
        &[("A", 10.0), ("B", 10.0), ("C", 10.0)],
        &[("A", 0.75), ("B", 0.9), ("C", 0.75)],
    );
    let o = identify_heuristic(&input, &env).opportunities;
    let order: Vec<&str> = o
        .opportunity_buys
        .iter()
        .map(|c| c.symbol.as_str())
        .collect();
    assert_eq!(order, ["B", "A", "C"]);
}

const SYMBOLS: [&str; 5] = ["P", "Q", "R", "S", "T"];
const COUNTRIES: [&str; 3] = ["US", "DE", "FR"];

fn arb_case() -> impl Strategy<Value = (HeuristicInputs, HeuristicEnv)> {
    let sym = 0..SYMBOLS.len();
    (
        prop::collection::vec((sym.clone(), 0..300i64, 1.0..200.0f64, 1.0..400.0f64), 0..5),
        prop::collection::vec((sym.clone(), 0..3usize, 0..4i64, any::<bool>()), 0..5),
        prop::collection::vec((sym.clone(), 0.0..300.0f64), 0..5),
        prop::collection::vec((sym.clone(), 0.0..1.0f64), 0..5),
        prop::collection::vec((0..3usize, 0.0..0.6f64), 0..3),
        prop::collection::vec((sym, 0..400i64), 0..4),
    )
        .prop_map(
            |(positions, securities, prices, quality, weights, trades)| {
                let positions: Vec<Position> = positions
                    .into_iter()
                    .map(|(i, q, avg, price)| position(SYMBOLS[i], q as f64, avg, price))
                    .collect();
                let position_values: IndexMap<String, f64> = positions
                    .iter()
                    .map(|p| (p.symbol.clone(), p.market_value_eur.unwrap()))
                    .collect();
                let total = position_values.values().sum::<f64>() + 1000.0;
                let input = HeuristicInputs {
                    position_values,
                    total_value: total,
                    country_weights: weights
                        .into_iter()
                        .map(|(c, w)| (COUNTRIES[c].to_string(), w))
                        .collect(),
                    security_countries: Some(
                        SYMBOLS
                            .iter()
                            .enumerate()
                            .map(|(i, s)| (s.to_string(), COUNTRIES[i % 3].to_string()))
                            .collect(),
                    ),
                    positions,
                    securities: securities
                        .into_iter()
                        .map(|(i, c, lot, sell)| {
                            let mut s = security(SYMBOLS[i], Some(COUNTRIES[c]));
                            s.min_lot = lot;
                            s.allow_sell = sell;
                            s
                        })
                        .collect(),
                };
                let mut env = env();
                env.prices = prices
                    .into_iter()
                    .map(|(i, p)| (SYMBOLS[i].to_string(), p))
                    .collect();
                env.security_scores = Some(
                    quality
                        .into_iter()
                        .map(|(i, q)| (SYMBOLS[i].to_string(), q))
                        .collect(),
                );
                for (i, d) in trades {
                    env.last_transaction
                        .insert(SYMBOLS[i].to_string(), days_ago(d));
                    env.last_buy.insert(SYMBOLS[i].to_string(), days_ago(d));
                }
                env.position_avg_prices = Some(
                    input
                        .positions
                        .iter()
                        .map(|p| (p.symbol.clone(), p.avg_price))
                        .collect(),
                );
                (input, env)
            },
        )
}

proptest! {
    #[test]
    fn heuristic_invariants((input, env) in arb_case()) {
        let result = identify_heuristic(&input, &env);
        for (category, c) in result.opportunities.iter() {
            prop_assert!(c.quantity > 0, "{c:?}");
            prop_assert_eq!(c.side, category.side());
            prop_assert!(c.value_eur.is_finite() && c.value_eur > 0.0);
        }
        for category in Category::ALL {
            let list = result.opportunities.list(category);
            prop_assert!(list.windows(2).all(|w| w[0].priority >= w[1].priority));
        }
        // Same inputs, same answer: nothing is read from outside.
        prop_assert_eq!(identify_heuristic(&input, &env), result);
    }
}
