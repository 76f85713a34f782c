//! Diverse top-N selection, with expectations worked out by hand from spec §4.2.

use super::*;
use crate::generator::reference::fixtures::{buy, security};
use crate::generator::reference::securities_by_symbol;

fn symbols(list: &[ActionCandidate]) -> Vec<&str> {
    list.iter().map(|a| a.symbol.as_str()).collect()
}

fn universe() -> SecuritiesBySymbol {
    securities_by_symbol(&[
        security("AAPL", Some("US"), Some("Tech")),
        security("MSFT", Some("US"), Some("Tech")),
        security("SAP", None, Some("Software, Cloud")),
        security("SIE", None, None),
        security("EMPTY", Some(""), Some("")),
    ])
    .unwrap()
}

#[test]
fn cluster_keys_prefer_country_then_industry_then_symbol_prefix() {
    let u = universe();
    let key = |s: &str| cluster_key(&buy(s, 100.0, 1.0), Some(&u));
    assert_eq!(key("AAPL"), "COUNTRY:US");
    assert_eq!(key("SAP"), "INDUSTRY:Software, Cloud");
    assert_eq!(key("SIE"), "SYMBOL:SIE");
    // Empty strings are false in Python: no country, no industry.
    assert_eq!(key("EMPTY"), "SYMBOL:EMP");
    // Unknown symbol, lower-case symbol (not normalised) and no securities: the prefix.
    assert_eq!(key("XYZ1"), "SYMBOL:XYZ");
    assert_eq!(key("aapl"), "SYMBOL:aap");
    assert_eq!(cluster_key(&buy("AAPL", 1.0, 1.0), None), "SYMBOL:AAP");
    assert_eq!(cluster_key(&buy("AB", 1.0, 1.0), None), "SYMBOL:AB");
}

#[test]
fn short_lists_are_returned_unchanged_and_empty_inputs_give_nothing() {
    let list = vec![buy("B", 1.0, 1.0), buy("A", 1.0, 5.0)];
    // Not re-sorted even though A has the higher priority.
    assert_eq!(select_top(&list, 2, None, 0.3), list);
    assert_eq!(select_top(&list, 5, None, 0.3), list);
    assert!(select_top(&list, 0, None, 0.3).is_empty());
    assert!(select_top(&[], 3, None, 0.3).is_empty());
}

#[test]
fn one_per_cluster_when_clusters_outnumber_n() {
    // Clusters in first-seen order: US [AAPL 50, MSFT 40] sum 90, INDUSTRY [SAP 30] 30,
    // SYMBOL:XYZ [XYZ1 20, XYZ2 10] 30, SYMBOL:SIE [SIE 5] 5. per = max(1, 3 / 4) = 1.
    // Sorted by sum (ties stable): US, SAP, XYZ, SIE → AAPL, SAP, XYZ1, then len 3 stops.
    let list = vec![
        buy("AAPL", 100.0, 50.0),
        buy("MSFT", 100.0, 40.0),
        buy("SAP", 100.0, 30.0),
        buy("XYZ1", 100.0, 20.0),
        buy("XYZ2", 100.0, 10.0),
        buy("SIE", 100.0, 5.0),
    ];
    let u = universe();
    let top = select_top(&list, 3, Some(&u), 0.3);
    assert_eq!(symbols(&top), ["AAPL", "SAP", "XYZ1"]);
    // MSFT (40) lost its place to less important but more diverse candidates; the pick never
    // overshoots n because per-cluster quotas are n / #clusters.
    assert_eq!(select_top(&list, 4, Some(&u), 0.3).len(), 4);
    // Without securities everything clusters by prefix: AAP, MSF, SAP, XYZ (2), SIE.
    let plain = select_top(&list, 3, None, 0.3);
    assert_eq!(symbols(&plain), ["AAPL", "MSFT", "SAP"]);
}

#[test]
fn cluster_order_is_by_priority_sum_and_the_pick_is_reordered_by_score() {
    // DE [D1 9, D2 8, D3 7] sums 24 > US [U1 10]: D1 is picked before U1, then the score
    // order puts U1 (10) first.
    let u = securities_by_symbol(&[
        security("U1", Some("US"), None),
        security("D1", Some("DE"), None),
        security("D2", Some("DE"), None),
        security("D3", Some("DE"), None),
    ])
    .unwrap();
    let list = vec![
        buy("U1", 100.0, 10.0),
        buy("D1", 100.0, 9.0),
        buy("D2", 100.0, 8.0),
        buy("D3", 100.0, 7.0),
    ];
    assert_eq!(symbols(&select_top(&list, 2, Some(&u), 0.3)), ["U1", "D1"]);
}

#[test]
fn a_short_pick_is_filled_from_the_rest_by_priority() {
    // US [A 10, B 9, C 8], DE [D 1]; per = 2 → A, B, then D: 3 < 4, fill with C.
    // Final order by score: A, B, C, D.
    let u = securities_by_symbol(&[
        security("A", Some("US"), None),
        security("B", Some("US"), None),
        security("C", Some("US"), None),
        security("D", Some("DE"), None),
    ])
    .unwrap();
    let list = vec![
        buy("A", 100.0, 10.0),
        buy("B", 100.0, 9.0),
        buy("C", 100.0, 8.0),
        buy("D", 100.0, 1.0),
    ];
    assert_eq!(
        symbols(&select_top(&list, 4, Some(&u), 0.3)[..]),
        ["A", "B", "C", "D"]
    );
    // With n = 3: per = 1 → A, D; fill with the best of the rest (B, C by priority) → B.
    assert_eq!(
        symbols(&select_top(&list, 3, Some(&u), 0.3)),
        ["A", "B", "D"]
    );
}

#[test]
fn the_fill_excludes_candidates_equal_to_a_picked_one() {
    // US [A 10, X 9, A again (equal by value)], DE [D 2]. n = 3, per = 1 → A, D; the rest
    // without A's twin is [X] → X. Were the twin kept, A (10) would be added instead of X.
    let u = securities_by_symbol(&[
        security("A", Some("US"), None),
        security("X", Some("US"), None),
        security("D", Some("DE"), None),
    ])
    .unwrap();
    let a = buy("A", 100.0, 10.0);
    let list = vec![a.clone(), buy("X", 100.0, 9.0), a, buy("D", 100.0, 2.0)];
    let top = select_top(&list, 3, Some(&u), 0.3);
    assert_eq!(symbols(&top), ["A", "X", "D"]);
    let u2 = securities_by_symbol(&[
        security("A", Some("US"), None),
        security("X", Some("US"), None),
        security("D", Some("DE"), None),
        security("E", Some("FR"), None),
    ])
    .unwrap();
    let mut list2 = list.clone();
    list2.push(buy("E", 100.0, 1.0));
    // Three clusters, n = 4: per = 1 → A, D, E; the rest without A's twin is [X] → X.
    assert_eq!(
        symbols(&select_top(&list2, 4, Some(&u2), 0.3)),
        ["A", "X", "D", "E"]
    );
    // n = 5 of 5 items is returned unchanged, twin included.
    assert_eq!(select_top(&list2, 5, Some(&u2), 0.3), list2);
}

#[test]
fn the_score_has_no_neighbour_penalty_as_in_the_running_reference() {
    // US [A 50, B 48], DE [C 20, D 10]; n = 3, per = 1 → A, C; fill → B. Pick [A, C, B].
    // With w = 0.9 the spec's formula with neighbour counts would rank C first (0.92 vs
    // 0.65); the reference's key sees an empty list while sorting, so the order is by
    // priority.
    let u = securities_by_symbol(&[
        security("A", Some("US"), None),
        security("B", Some("US"), None),
        security("C", Some("DE"), None),
        security("D", Some("DE"), None),
    ])
    .unwrap();
    let list = vec![
        buy("A", 100.0, 50.0),
        buy("B", 100.0, 48.0),
        buy("C", 100.0, 20.0),
        buy("D", 100.0, 10.0),
    ];
    assert_eq!(
        symbols(&select_top(&list, 3, Some(&u), 0.9)),
        ["A", "B", "C"]
    );
}

#[test]
fn non_positive_priorities_tie_and_keep_their_pick_order() {
    // US [A 0, A2 -5] sums -5, DE [B -1, B2 -1] sums -2; n = 2, per = 1 → B, then A.
    // Both scores are w (no priority part for p <= 0), so the pick order stays.
    let u = securities_by_symbol(&[
        security("A", Some("US"), None),
        security("A2", Some("US"), None),
        security("B", Some("DE"), None),
        security("B2", Some("DE"), None),
    ])
    .unwrap();
    let list = vec![
        buy("A", 100.0, 0.0),
        buy("B", 100.0, -1.0),
        buy("B2", 100.0, -1.0),
        buy("A2", 100.0, -5.0),
    ];
    assert_eq!(symbols(&select_top(&list, 2, Some(&u), 0.3)), ["B", "A"]);
}

#[test]
fn score_formula() {
    assert_eq!(diversity_score(50.0, 0.3, 0), 0.7 * 0.5 + 0.3);
    assert_eq!(diversity_score(50.0, 0.3, 2), 0.7 * 0.5 + 0.3 * 0.5);
    assert_eq!(diversity_score(-5.0, 0.3, 0), 0.3);
    assert_eq!(diversity_score(0.0, 0.0, 0), 0.0);
}
