//! The reference's sequence generation (spec opportunity-generator.md §4.1–4.10): eleven
//! deterministic patterns and a seeded random sampler per depth, deduplicated, then adaptive,
//! market-regime, correlation, partial-execution and constraint-relaxation stages.
//!
//! Every stage keeps the reference's order of operations — list order, stable sorts, value
//! equality of actions, float operation order — because the order of the output is part of the
//! behaviour: the evaluator keeps the first of equal scores.

pub(crate) mod adaptive;
pub(crate) mod correlation;
mod diverse;
pub(crate) mod partial;
mod patterns;
mod pipeline;
pub(crate) mod regime;
pub(crate) mod relaxation;
mod sampler;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod worked_example_tests;

use std::collections::HashMap;

use crate::domain::{ActionCandidate, Security};

pub use pipeline::{SequenceParams, generate_action_sequences};

/// One candidate sequence: actions in execution order.
pub type Sequence = Vec<ActionCandidate>;

/// Securities by their (upper-cased) symbol. Actions look their symbol up as given, so an
/// action in lower case finds nothing, as in the reference.
pub type SecuritiesBySymbol = HashMap<String, Security>;

/// The lookup the stages share, or `None` when the request carried no securities (the
/// reference passes `None` then, which switches clustering and the sampler's diversity check
/// off). A later security with the same symbol replaces an earlier one.
pub fn securities_by_symbol(securities: &[Security]) -> Option<SecuritiesBySymbol> {
    if securities.is_empty() {
        return None;
    }
    Some(
        securities
            .iter()
            .map(|s| (s.symbol.clone(), s.clone()))
            .collect(),
    )
}

/// Python truthiness of an optional string: `None` and `""` are both false.
fn truthy(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// The reference's `[i.strip() for i in industry.split(",")]`: unlike
/// [`Security::industries`], empty parts are kept.
fn industry_parts(industry: &str) -> Vec<&str> {
    industry.split(',').map(str::trim).collect()
}
