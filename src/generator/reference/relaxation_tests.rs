//! Constraint relaxation as the reference builds it (spec §4.8 and §8 item 19).

use super::*;
use crate::generator::reference::fixtures::{action, buy, labels, sell};

fn held(symbols: &[&str]) -> HashMap<String, i64> {
    symbols.iter().map(|s| (s.to_string(), 10)).collect()
}

#[test]
fn affordable_sequences_are_copied_three_times_unchanged() {
    let fits = vec![sell("A", 500.0, 1.0), buy("B", 300.0, 1.0)];
    let too_big = vec![buy("C", 2000.0, 1.0)];
    let out = constraint_relaxation(&[fits.clone(), too_big], 1000.0, &HashMap::new());
    assert_eq!(out, vec![fits.clone(), fits.clone(), fits]);
}

#[test]
fn only_buys_count_towards_the_need() {
    // Sells of any size do not count: need 1000 = cash → copied.
    let seq = vec![sell("A", 5000.0, 1.0), buy("B", 1000.0, 1.0)];
    assert_eq!(
        constraint_relaxation(&[seq], 1000.0, &HashMap::new()).len(),
        3
    );
    let over = vec![buy("B", 1000.0, 1.0), buy("C", 0.5, 1.0)];
    assert!(constraint_relaxation(&[over], 1000.0, &HashMap::new()).is_empty());
}

#[test]
fn a_buy_of_a_held_symbol_is_enlarged_by_half() {
    let b = action(Side::Buy, "B", 3, 300.0, 1.0);
    let seq = vec![sell("A", 500.0, 1.0), b.clone(), buy("C", 2000.0, 1.0)];
    let out = constraint_relaxation(std::slice::from_ref(&seq), 1000.0, &held(&["B", "A"]));
    // need 2300 > 1000: no copies; B is held (A is a sell) → one relaxed variant.
    assert_eq!(labels(&out), ["S:A B:B B:C"]);
    let relaxed = &out[0][1];
    assert_eq!(relaxed.quantity, 4); // int(3 * 1.5) = int(4.5)
    assert_eq!(relaxed.value_eur, 450.0);
    assert_eq!(relaxed.reason, "test (relaxed)");
    assert_eq!(relaxed.priority, b.priority);
    assert_eq!(relaxed.tags, b.tags);
    assert_eq!(out[0][0], seq[0]);
    assert_eq!(out[0][2], seq[2]);
}

#[test]
fn every_equal_action_is_replaced_and_each_occurrence_yields_a_variant() {
    let b = buy("B", 100.0, 1.0);
    let seq = vec![b.clone(), b.clone()];
    let out = constraint_relaxation(&[seq], 1000.0, &held(&["B"]));
    // Three copies (need 200 ≤ 1000), then one variant per occurrence of the held buy, each
    // replacing both equal actions.
    assert_eq!(out.len(), 5);
    for variant in &out[3..] {
        assert!(variant.iter().all(|a| a == &relaxed_buy(&b)));
    }
}

#[test]
fn held_symbols_are_looked_up_as_the_action_spells_them() {
    let seq = vec![buy("b", 5000.0, 1.0)];
    assert!(constraint_relaxation(std::slice::from_ref(&seq), 0.0, &held(&["B"])).is_empty());
    assert_eq!(constraint_relaxation(&[seq], 0.0, &held(&["b"])).len(), 1);
}
