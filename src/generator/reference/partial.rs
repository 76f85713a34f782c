//! Partial execution (spec §4.7, `_generate_partial_execution_scenarios`): the prefixes of
//! each sequence, as if execution stopped early. Quantities are unchanged and duplicates are
//! kept.

use super::Sequence;

/// For each sequence of length `L ≥ 2`, in order, its prefixes of length `1 .. min(L, max_steps) − 1`.
pub fn partial_execution(sequences: &[Sequence], max_steps: usize) -> Vec<Sequence> {
    let mut out = Vec::new();
    for sequence in sequences {
        if sequence.len() <= 1 {
            continue;
        }
        for length in 1..sequence.len().min(max_steps) {
            out.push(sequence[..length].to_vec());
        }
    }
    out
}

#[cfg(test)]
#[path = "partial_tests.rs"]
mod tests;
