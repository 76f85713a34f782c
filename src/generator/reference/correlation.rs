//! Correlation-aware filter (spec §4.10, `_filter_correlation_aware_sequences`): drops a
//! sequence that buys two securities whose returns move together.
//!
//! The reference computed the correlations from its price-history database and kept every
//! sequence when that failed — always, in a stateless service. Here the correlations come with
//! the request (`FilterSettings.correlation_matrix`); without them every sequence is kept.

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::domain::{ActionCandidate, Security, Side};

use super::Sequence;

/// A pair correlated above this (in absolute value) excludes a sequence; the reference fixes
/// it here and ignores `FilterSettings.correlation_threshold`.
pub const CORRELATION_LIMIT: f64 = 0.7;

/// The correlation of two symbols, looked up as `"A:B"` then `"B:A"`. A symbol has no entry
/// with itself (the reference's table holds distinct pairs only).
pub fn correlation(matrix: &IndexMap<String, f64>, a: &str, b: &str) -> Option<f64> {
    if a == b {
        return None;
    }
    matrix
        .get(&format!("{a}:{b}"))
        .or_else(|| matrix.get(&format!("{b}:{a}")))
        .copied()
}

/// True when two of the sequence's buys of known securities (pairs in order, `i < j`) have a
/// correlation that is non-zero and above the limit in absolute value. NaN never excludes.
fn has_correlated_buys(
    sequence: &[ActionCandidate],
    known: &HashSet<&str>,
    matrix: &IndexMap<String, f64>,
) -> bool {
    let buys: Vec<&str> = sequence
        .iter()
        .filter(|a| a.side == Side::Buy && known.contains(a.symbol.as_str()))
        .map(|a| a.symbol.as_str())
        .collect();
    buys.iter().enumerate().any(|(i, a)| {
        buys[i + 1..].iter().any(|b| {
            correlation(matrix, a, b).is_some_and(|rho| rho != 0.0 && rho.abs() > CORRELATION_LIMIT)
        })
    })
}

/// The sequences without highly correlated buy pairs, in order. No securities, no matrix or
/// no buys at all keep everything.
pub fn filter_correlated(
    sequences: Vec<Sequence>,
    securities: &[Security],
    matrix: Option<&IndexMap<String, f64>>,
) -> Vec<Sequence> {
    let Some(matrix) = matrix else {
        return sequences;
    };
    if sequences.is_empty() || securities.is_empty() {
        return sequences;
    }
    let known: HashSet<&str> = securities.iter().map(|s| s.symbol.as_str()).collect();
    sequences
        .into_iter()
        .filter(|s| !has_correlated_buys(s, &known, matrix))
        .collect()
}

#[cfg(test)]
#[path = "correlation_tests.rs"]
mod tests;
