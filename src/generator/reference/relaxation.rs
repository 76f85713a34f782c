//! Constraint relaxation (spec §4.8, `_generate_constraint_relaxation_scenarios`): variants of
//! each sequence meant to probe beyond the cash and position limits.
//!
//! Reproduced as the reference builds them (spec §8 item 19): a sequence whose buys fit the
//! cash is copied three times unchanged (the relaxation factors 1.1, 1.2 and 1.3 never change
//! an action), and a buy of a held symbol yields a copy in which every action equal to it is
//! enlarged by half.

use std::collections::HashMap;

use crate::domain::{ActionCandidate, Side};

use super::Sequence;

/// Cash multipliers the reference tries; each admitted one adds an unchanged copy.
const RELAXATION_FACTORS: [f64; 3] = [1.1, 1.2, 1.3];
/// Size of a relaxed buy relative to the original.
const RELAXED_SIZE: f64 = 1.5;

/// The buy enlarged by half: `quantity = int(q · 1.5)`, `value_eur = v · 1.5`, reason marked.
pub fn relaxed_buy(action: &ActionCandidate) -> ActionCandidate {
    ActionCandidate {
        quantity: (action.quantity as f64 * RELAXED_SIZE) as i64,
        value_eur: action.value_eur * RELAXED_SIZE,
        reason: format!("{} (relaxed)", action.reason),
        ..action.clone()
    }
}

/// The relaxed variants of every sequence, in order. `held` maps upper-cased symbols to held
/// quantities; action symbols are looked up as given.
pub fn constraint_relaxation(
    sequences: &[Sequence],
    available_cash: f64,
    held: &HashMap<String, i64>,
) -> Vec<Sequence> {
    let mut out = Vec::new();
    for sequence in sequences {
        let needed = sequence
            .iter()
            .filter(|a| a.side == Side::Buy)
            .fold(0.0, |sum, a| sum + a.value_eur);
        if needed <= available_cash {
            for factor in RELAXATION_FACTORS {
                if needed <= available_cash * factor {
                    out.push(sequence.clone());
                }
            }
        }
        for action in sequence {
            if action.side == Side::Buy && held.contains_key(&action.symbol) {
                let relaxed = relaxed_buy(action);
                out.push(
                    sequence
                        .iter()
                        .map(|a| {
                            if a == action {
                                relaxed.clone()
                            } else {
                                a.clone()
                            }
                        })
                        .collect(),
                );
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "relaxation_tests.rs"]
mod tests;
