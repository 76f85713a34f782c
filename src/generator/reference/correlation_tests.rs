//! The correlation filter with a request-supplied matrix.

use super::*;
use crate::generator::reference::fixtures::{buy, labels, security, sell};

fn securities() -> Vec<Security> {
    ["A", "B", "C", "D"]
        .iter()
        .map(|s| security(s, None, None))
        .collect()
}

fn matrix() -> IndexMap<String, f64> {
    [
        ("A:B", 0.8),
        ("C:A", 0.7),
        ("A:D", f64::NAN),
        ("B:C", -0.75),
        ("A:X", 0.99),
        ("B:D", 0.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn pair(a: &str, b: &str) -> Vec<ActionCandidate> {
    vec![buy(a, 100.0, 1.0), buy(b, 100.0, 1.0)]
}

#[test]
fn drops_buy_pairs_above_the_limit_in_either_direction_and_sign() {
    let sequences = vec![
        pair("A", "B"),                                    // 0.8 → dropped
        pair("A", "C"),                                    // "C:A" 0.7, not above → kept
        pair("A", "D"),                                    // NaN → kept
        vec![sell("A", 100.0, 1.0), buy("B", 100.0, 1.0)], // a sell does not count → kept
        pair("C", "B"),                                    // "B:C" -0.75 → dropped
        pair("A", "X"),                                    // X is not a known security → kept
        pair("B", "D"),                                    // 0 → kept
        vec![
            buy("D", 1.0, 1.0),
            buy("C", 1.0, 1.0),
            buy("B", 1.0, 1.0),
            buy("A", 1.0, 1.0),
        ], // C-B and A-B inside → dropped
        pair("A", "A"),                                    // no self-correlation → kept
    ];
    let kept = filter_correlated(sequences, &securities(), Some(&matrix()));
    assert_eq!(
        labels(&kept),
        [
            "B:A B:C", "B:A B:D", "S:A B:B", "B:A B:X", "B:B B:D", "B:A B:A"
        ]
    );
}

#[test]
fn without_a_matrix_or_securities_everything_is_kept() {
    let sequences = vec![pair("A", "B"), pair("B", "C")];
    assert_eq!(
        filter_correlated(sequences.clone(), &securities(), None),
        sequences
    );
    assert_eq!(
        filter_correlated(sequences.clone(), &[], Some(&matrix())),
        sequences
    );
}

#[test]
fn lookup_tries_both_orders() {
    let m = matrix();
    assert_eq!(correlation(&m, "B", "A"), Some(0.8));
    assert_eq!(correlation(&m, "A", "C"), Some(0.7));
    assert_eq!(correlation(&m, "C", "D"), None);
    assert_eq!(correlation(&m, "A", "A"), None);
}
