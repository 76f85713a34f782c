//! The first stage's dedup, and the whole request pipeline: stage order, seeding, positions,
//! and a property check that every output sequence is feasible.

use std::collections::HashSet;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::*;
use crate::generator::api::{GenerateSequencesRequest, generate_request};
use crate::generator::feasibility::{FeasibilityCheck, Infeasible};
use crate::generator::reference::fixtures::{action, buy, label, labels, sell};
use crate::generator::reference::securities_by_symbol;
use crate::generator::settings::CombinatorialSettings;

#[test]
fn dedup_keeps_the_first_of_each_ordered_symbol_side_list() {
    let all = vec![
        vec![],
        vec![sell("A", 100.0, 1.0), buy("A", 100.0, 1.0)],
        vec![buy("A", 100.0, 1.0), buy("B", 100.0, 1.0)],
        vec![action(Side::Buy, "A", 99, 900.0, 5.0), buy("B", 100.0, 1.0)],
        vec![buy("B", 100.0, 1.0), buy("A", 100.0, 1.0)],
        vec![sell("A", 100.0, 1.0), buy("B", 100.0, 1.0)],
        vec![buy("A", 100.0, 1.0), buy("B", 100.0, 1.0)],
    ];
    let unique = dedup_sequences(all);
    assert_eq!(labels(&unique), ["B:A B:B", "B:B B:A", "S:A B:B"]);
    // The first occurrence (quantity 10) won over the later one (quantity 99).
    assert_eq!(unique[0][0].quantity, 10);
}

fn sampled_opportunities() -> Opportunities {
    Opportunities {
        profit_taking: vec![sell("P1", 400.0, 0.9), sell("P2", 300.0, 0.6)],
        averaging_down: vec![buy("A1", 500.0, 0.8)],
        rebalance_sells: vec![sell("R1", 600.0, 0.7)],
        rebalance_buys: vec![buy("B1", 300.0, 0.5), buy("P1", 200.0, 0.4)],
        opportunity_buys: vec![buy("O1", 250.0, 0.45), buy("O2", 150.0, 0.35)],
    }
}

#[test]
fn sampled_sequences_follow_the_patterns_and_are_deduplicated() {
    let params = SequenceParams::from_settings(&CombinatorialSettings::default(), 1000.0);
    let opportunities = sampled_opportunities();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let unique = generate_action_sequences(&opportunities, &params, None, &mut rng);
    let mut keys = HashSet::new();
    for s in &unique {
        assert!(s.len() <= params.max_depth);
        let symbols: HashSet<&str> = s.iter().map(|a| a.symbol.as_str()).collect();
        assert_eq!(symbols.len(), s.len(), "{}", label(s));
        assert!(keys.insert(label(s)));
    }
    // The deterministic patterns of depth 1 come first.
    let top = TopLists::select(&opportunities, 5, true, 0.3, None);
    let first = deterministic_patterns(&top, 1000.0, 1);
    assert_eq!(unique[0], first[0]);
    // The sampler added more than the deterministic patterns alone give.
    let off = SequenceParams {
        enable_combinatorial: false,
        ..params
    };
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let without = generate_action_sequences(&opportunities, &off, None, &mut rng);
    assert!(unique.len() > without.len());
}

#[test]
fn the_sampler_limits_follow_the_depth() {
    let params = SequenceParams::from_settings(&CombinatorialSettings::default(), 1000.0);
    let l1 = params.sampler_limits(1);
    assert_eq!((l1.max_sells, l1.max_buys, l1.max_steps), (0, 1, 1));
    let l5 = params.sampler_limits(5);
    assert_eq!(
        (
            l5.max_sells,
            l5.max_buys,
            l5.max_steps,
            l5.max_combinations,
            l5.max_candidates
        ),
        (2, 4, 5, 50, 12)
    );
    // At depth 1 the sampler adds only buy singletons after the eleven patterns.
    let opportunities = sampled_opportunities();
    let top = TopLists::select(&opportunities, 5, true, 0.3, None);
    let fixed = deterministic_patterns(&top, 1000.0, 1).len();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let all = patterns_at_depth(&opportunities, &params, None, 1, &mut rng);
    assert_eq!(all.len(), fixed + 50);
    assert!(
        all[fixed..]
            .iter()
            .all(|s| s.len() == 1 && s[0].side == Side::Buy)
    );
}

#[test]
fn unvalidated_counts_are_held_in_their_bounds() {
    let wild = CombinatorialSettings {
        max_depth: 1_000_000,
        max_opportunities_per_category: -3,
        combinatorial_max_candidates: 0,
        ..CombinatorialSettings::default()
    };
    let p = SequenceParams::from_settings(&wild, 0.0);
    assert_eq!(
        (p.max_depth, p.max_per_category, p.max_candidates),
        (10, 1, 4)
    );
}

fn request(extra: serde_json::Value) -> GenerateSequencesRequest {
    let mut body = json!({
        "opportunities": serde_json::to_value(sampled_opportunities()).unwrap(),
        "feasibility": {"available_cash": 1000.0},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    serde_json::from_value(body).unwrap()
}

#[test]
fn the_seed_decides_the_sampled_output() {
    let r = request(json!({}));
    assert_eq!(generate_request(&r, 1), generate_request(&r, 1));
    let outputs: Vec<_> = (0..6).map(|seed| generate_request(&r, seed)).collect();
    assert!(outputs.iter().any(|o| o != &outputs[0]));
    // A seed in the request overrides the caller's default.
    let seeded = request(json!({"combinatorial": {"seed": 5}}));
    assert_eq!(generate_request(&seeded, 1), generate_request(&seeded, 2));
    assert_eq!(generate_request(&seeded, 1), generate_request(&r, 5));
}

/// PPP sells 300 (0.9); DDD buys 500 (0.5) and EEE buys 200 (0.4), both French.
fn staged_request(extra: serde_json::Value) -> GenerateSequencesRequest {
    let opportunities = Opportunities {
        profit_taking: vec![sell("PPP", 300.0, 0.9)],
        rebalance_buys: vec![buy("DDD", 500.0, 0.5)],
        opportunity_buys: vec![buy("EEE", 200.0, 0.4)],
        ..Opportunities::default()
    };
    let mut body = json!({
        "opportunities": serde_json::to_value(opportunities).unwrap(),
        "feasibility": {"available_cash": 1000.0},
        "combinatorial": {
            "max_depth": 2,
            "enable_weighted_combinations": false,
            "enable_market_regime": true
        },
        "portfolio_context": {"total_value": 10000.0, "positions": {}, "country_weights": {"FR": 0.5}},
        "securities": [
            {"symbol": "ddd", "name": "Delta", "country": "FR"},
            {"symbol": "EEE", "name": "Echo", "country": "FR"},
            {"symbol": "PPP", "name": "Papa", "country": "US"}
        ],
        "market_regime": "bull"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    serde_json::from_value(body).unwrap()
}

const STAGED: [&str; 9] = [
    // Deduplicated patterns of depths 1 and 2.
    "B:DDD",
    "S:PPP",
    "B:EEE",
    "B:DDD B:EEE",
    "S:PPP B:DDD",
    "B:EEE B:DDD",
    "S:PPP B:EEE",
    // Adaptive (FR gap), then the bull regime.
    "B:DDD B:EEE",
    "S:PPP B:EEE",
];

#[test]
fn stages_append_in_the_reference_order() {
    let r = staged_request(json!({}));
    let mut expected: Vec<&str> = STAGED.to_vec();
    // Partial execution of everything so far, adaptive and regime included.
    expected.extend(["B:DDD", "S:PPP", "B:EEE", "S:PPP", "B:DDD", "S:PPP"]);
    assert_eq!(labels(&generate_request(&r, 0)), expected);

    let mut off = staged_request(json!({}));
    off.combinatorial.enable_partial_execution = false;
    off.combinatorial.enable_market_regime = false;
    off.combinatorial.enable_adaptive_patterns = false;
    assert_eq!(labels(&generate_request(&off, 0)), STAGED[..7]);

    // An empty regime name is false in Python: no regime pattern.
    let mut unnamed = staged_request(json!({"market_regime": ""}));
    unnamed.combinatorial.enable_partial_execution = false;
    assert_eq!(labels(&generate_request(&unnamed, 0)), STAGED[..8]);
}

#[test]
fn correlated_buys_are_filtered_before_partials_are_taken() {
    let r = staged_request(json!({"filters": {"correlation_matrix": {"EEE:DDD": 0.9}}}));
    let got = labels(&generate_request(&r, 0));
    // Every DDD+EEE pair is gone, including the adaptive one; no prefix of them appears.
    let expected = [
        "B:DDD",
        "S:PPP",
        "B:EEE",
        "S:PPP B:DDD",
        "S:PPP B:EEE",
        "S:PPP B:EEE",
        "S:PPP",
        "S:PPP",
        "S:PPP",
    ];
    assert_eq!(got, expected);
}

#[test]
fn positions_enable_relaxation_and_the_sell_quantity_check() {
    // DDD is held (symbol normalised), PPP is not: every sequence selling PPP is dropped,
    // every buy of DDD gets a relaxed variant worth 750.
    let r = staged_request(json!({"positions": [
        {"symbol": "ddd", "quantity": 1, "avg_price": 10.0, "market_value_eur": 10.0}
    ]}));
    assert!(r.validate().is_empty());
    let out = generate_request(&r, 0);
    assert_eq!(out.len(), 38);
    assert!(out.iter().flatten().all(|a| a.symbol != "PPP"));
    let relaxed = out
        .iter()
        .filter(|s| s.iter().any(|a| a.value_eur == 750.0))
        .count();
    assert_eq!(relaxed, 6);
    // The first relaxed sequences: three copies of B:DDD, then its relaxed variant.
    assert_eq!(out[8], out[9]);
    assert_eq!(out[11][0].quantity, 15);
    assert_eq!(out[11][0].reason, "test (relaxed)");

    // Holding PPP but fewer shares than sold drops the PPP sells too.
    let short = staged_request(json!({"positions": [
        {"symbol": "PPP", "quantity": 9, "avg_price": 10.0, "market_value_eur": 90.0}
    ]}));
    let check = FeasibilityCheck::new(&short.feasibility).with_positions([("PPP", 9_i64)]);
    assert!(matches!(
        check.check(&[sell("PPP", 300.0, 0.9)]),
        Err(Infeasible::MoreThanHeld { held: 9, .. })
    ));
    assert!(
        generate_request(&short, 0)
            .iter()
            .flatten()
            .all(|a| a.symbol != "PPP")
    );
    // Enough shares keep them.
    let enough = staged_request(json!({"positions": [
        {"symbol": "PPP", "quantity": 10, "avg_price": 10.0, "market_value_eur": 100.0}
    ]}));
    assert!(
        generate_request(&enough, 0)
            .iter()
            .flatten()
            .any(|a| a.symbol == "PPP")
    );
}

#[test]
fn allow_flags_of_the_securities_are_enforced() {
    let r = staged_request(json!({"securities": [
        {"symbol": "DDD", "name": "Delta", "country": "FR", "allow_buy": false},
        {"symbol": "PPP", "name": "Papa", "allow_sell": false}
    ]}));
    let out = generate_request(&r, 0);
    assert!(!out.is_empty());
    assert!(out.iter().flatten().all(|a| a.symbol == "EEE"));
}

fn candidate_strategy(side: Side) -> impl Strategy<Value = ActionCandidate> {
    (
        prop::sample::select(vec!["A", "B", "C", "D", "E", "F"]),
        1_i64..50,
        50.0_f64..1500.0,
        0.0_f64..2.0,
    )
        .prop_map(move |(symbol, quantity, value, priority)| {
            action(side, symbol, quantity, value, priority)
        })
}

fn opportunities_strategy() -> impl Strategy<Value = Opportunities> {
    let list = |side| prop::collection::vec(candidate_strategy(side), 0..5);
    (
        list(Side::Sell),
        list(Side::Buy),
        list(Side::Sell),
        list(Side::Buy),
        list(Side::Buy),
    )
        .prop_map(|(pt, av, rs, rb, op)| {
            let mut o = Opportunities {
                profit_taking: pt,
                averaging_down: av,
                rebalance_sells: rs,
                rebalance_buys: rb,
                opportunity_buys: op,
            };
            o.sort_by_priority();
            o
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_output_is_feasible_and_the_first_stage_never_repeats_a_symbol(
        opportunities in opportunities_strategy(),
        cash in 0.0_f64..3000.0,
        max_depth in 1_i64..=5,
        per_category in 1_i64..=5,
        sampler in any::<bool>(),
        diverse in any::<bool>(),
        with_securities in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let securities = if with_securities {
            json!([
                {"symbol": "A", "name": "A", "country": "US", "industry": "Tech"},
                {"symbol": "B", "name": "B", "country": "US", "allow_buy": false},
                {"symbol": "C", "name": "C", "country": "DE", "allow_sell": false},
                {"symbol": "D", "name": "D", "industry": "Cars, Tech"}
            ])
        } else {
            json!([])
        };
        let body = json!({
            "opportunities": serde_json::to_value(&opportunities).unwrap(),
            "feasibility": {"available_cash": cash},
            "combinatorial": {
                "max_depth": max_depth,
                "max_opportunities_per_category": per_category,
                "enable_weighted_combinations": sampler,
                "enable_diverse_selection": diverse,
                "enable_market_regime": true,
                "seed": seed
            },
            "portfolio_context": {"total_value": 5000.0, "positions": {"A": 1000.0},
                                  "country_weights": {"US": 0.4, "DE": 0.3},
                                  "industry_weights": {"Tech": 0.2}},
            "securities": securities,
            "market_regime": "bear"
        });
        let request: GenerateSequencesRequest = serde_json::from_value(body).unwrap();
        prop_assert!(request.validate().is_empty());

        let check = FeasibilityCheck::new(&request.feasibility)
            .with_securities(&request.domain_securities());
        for sequence in generate_request(&request, 0) {
            prop_assert!(sequence.len() as i64 <= max_depth);
            prop_assert_eq!(check.check(&sequence).err(), None, "{}", label(&sequence));
        }

        let params = SequenceParams::from_settings(&request.combinatorial, cash);
        let by_symbol = securities_by_symbol(&request.domain_securities());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let unique = generate_action_sequences(&opportunities, &params, by_symbol.as_ref(), &mut rng);
        let mut keys = HashSet::new();
        for sequence in &unique {
            let symbols: HashSet<&str> = sequence.iter().map(|a| a.symbol.as_str()).collect();
            prop_assert_eq!(symbols.len(), sequence.len(), "{}", label(sequence));
            prop_assert!(keys.insert(label(sequence)));
            // Every action comes from the candidates, unchanged.
            for a in sequence {
                prop_assert!(opportunities.iter().any(|(c, o)| o == a && c.side() == a.side));
            }
        }
    }
}
