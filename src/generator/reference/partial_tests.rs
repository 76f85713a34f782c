//! Partial execution prefixes.

use super::*;
use crate::generator::reference::fixtures::{buy, labels, sell};

#[test]
fn prefixes_of_each_multi_action_sequence_in_order() {
    let sequences = vec![
        vec![buy("A", 100.0, 1.0)],
        vec![
            sell("B", 100.0, 1.0),
            buy("C", 100.0, 1.0),
            buy("D", 100.0, 1.0),
        ],
        vec![],
        vec![sell("E", 100.0, 1.0), buy("F", 100.0, 1.0)],
    ];
    assert_eq!(
        labels(&partial_execution(&sequences, 4)),
        ["S:B", "S:B B:C", "S:E"]
    );
}

#[test]
fn prefixes_stop_below_max_steps() {
    let long: Vec<_> = ["A", "B", "C", "D"]
        .iter()
        .map(|s| buy(s, 100.0, 1.0))
        .collect();
    // min(4, 3) − 1 = 2 prefixes.
    assert_eq!(
        labels(&partial_execution(std::slice::from_ref(&long), 3)),
        ["B:A", "B:A B:B"]
    );
    assert!(partial_execution(&[long], 1).is_empty());
}
