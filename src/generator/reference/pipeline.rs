//! The first stage of a request (spec §4.1, `generate_action_sequences`): the patterns of every
//! depth 1..=max_depth, then one pass that drops empty sequences, sequences touching a symbol
//! twice, and repeats of an ordered `(symbol, side)` list.

use std::collections::HashSet;

use rand::Rng;

use crate::domain::{ActionCandidate, Opportunities, Side};

use super::patterns::{TopLists, deterministic_patterns};
use super::sampler::{SamplerLimits, sample_sequences};
use super::{SecuritiesBySymbol, Sequence};
use crate::generator::settings::CombinatorialSettings;

/// The knobs of the first stage, as counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequenceParams {
    /// Starting cash of every pattern (EUR).
    pub available_cash: f64,
    pub max_depth: usize,
    /// Top-N per category.
    pub max_per_category: usize,
    /// Runs the random sampler as the twelfth pattern of each depth.
    pub enable_combinatorial: bool,
    /// Sampler candidates below this priority are left out.
    pub priority_threshold: f64,
    pub max_combinations_per_depth: usize,
    pub max_sells: usize,
    pub max_buys: usize,
    pub max_candidates: usize,
    pub enable_diverse_selection: bool,
    pub diversity_weight: f64,
}

/// An integer setting as a count, held inside its documented bounds so an unvalidated value
/// cannot make the generator loop for ages.
fn bounded(value: i64, min: i64, max: i64) -> usize {
    usize::try_from(value.clamp(min, max)).unwrap_or(0)
}

impl SequenceParams {
    /// The request's combinatorial settings with the feasibility settings' cash. Integers out of
    /// their bounds (which validation rejects) are clamped into them.
    pub fn from_settings(settings: &CombinatorialSettings, available_cash: f64) -> Self {
        SequenceParams {
            available_cash,
            max_depth: bounded(settings.max_depth, 1, 10),
            max_per_category: bounded(settings.max_opportunities_per_category, 1, 20),
            enable_combinatorial: settings.enable_weighted_combinations,
            priority_threshold: settings.priority_threshold,
            max_combinations_per_depth: bounded(
                settings.combinatorial_max_combinations_per_depth,
                10,
                200,
            ),
            max_sells: bounded(settings.combinatorial_max_sells, 1, 10),
            max_buys: bounded(settings.combinatorial_max_buys, 1, 10),
            max_candidates: bounded(settings.combinatorial_max_candidates, 4, 30),
            enable_diverse_selection: settings.enable_diverse_selection,
            diversity_weight: settings.diversity_weight,
        }
    }

    /// The sampler's limits at one depth.
    pub fn sampler_limits(&self, depth: usize) -> SamplerLimits {
        SamplerLimits {
            max_sells: self.max_sells.min(depth / 2),
            max_buys: self.max_buys.min(depth),
            priority_threshold: self.priority_threshold,
            max_steps: depth,
            max_combinations: self.max_combinations_per_depth,
            max_candidates: self.max_candidates,
        }
    }
}

/// The sequences of one depth: the eleven patterns (§4.3), then the sampler's draws when it
/// is on and any candidate exists. The top-N lists are recomputed at every depth.
pub fn patterns_at_depth<R: Rng + ?Sized>(
    opportunities: &Opportunities,
    params: &SequenceParams,
    securities: Option<&SecuritiesBySymbol>,
    depth: usize,
    rng: &mut R,
) -> Vec<Sequence> {
    let top = TopLists::select(
        opportunities,
        params.max_per_category,
        params.enable_diverse_selection,
        params.diversity_weight,
        securities,
    );
    let mut sequences = deterministic_patterns(&top, params.available_cash, depth);
    if params.enable_combinatorial {
        let sells: Vec<ActionCandidate> = top.sells().into_iter().cloned().collect();
        let buys: Vec<ActionCandidate> = top.buys().into_iter().cloned().collect();
        if !sells.is_empty() || !buys.is_empty() {
            let limits = params.sampler_limits(depth);
            sequences.extend(sample_sequences(&sells, &buys, &limits, securities, rng));
        }
    }
    sequences
}

/// Drops empty sequences and sequences that touch a symbol twice, then keeps the first
/// sequence of each ordered `(symbol, side)` list (quantities and values are not compared).
pub fn dedup_sequences(sequences: Vec<Sequence>) -> Vec<Sequence> {
    let mut seen: HashSet<Vec<(String, Side)>> = HashSet::new();
    let mut unique = Vec::new();
    for sequence in sequences {
        if sequence.is_empty() {
            continue;
        }
        let mut symbols: HashSet<&str> = HashSet::new();
        if !sequence.iter().all(|a| symbols.insert(a.symbol.as_str())) {
            continue;
        }
        let key: Vec<(String, Side)> = sequence
            .iter()
            .map(|a| (a.symbol.clone(), a.side))
            .collect();
        if seen.insert(key) {
            unique.push(sequence);
        }
    }
    unique
}

/// Patterns of depths 1..=max_depth in order, deduplicated. The generator is consumed across
/// depths in order, so one seed gives one output.
pub fn generate_action_sequences<R: Rng + ?Sized>(
    opportunities: &Opportunities,
    params: &SequenceParams,
    securities: Option<&SecuritiesBySymbol>,
    rng: &mut R,
) -> Vec<Sequence> {
    let mut all = Vec::new();
    for depth in 1..=params.max_depth {
        all.extend(patterns_at_depth(
            opportunities,
            params,
            securities,
            depth,
            rng,
        ));
    }
    dedup_sequences(all)
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
