//! The random combinatorial sampler (spec §4.4, `_generate_enhanced_combinations`): draws a
//! number of sells and buys, then candidates weighted by priority, with a check that the new
//! sequence is not too similar (countries and industries) to the last ten accepted.
//!
//! The reference uses Python's unseeded global generator, so its output cannot be reproduced;
//! here the caller passes a seeded generator and the draws follow CPython's algorithms
//! (`randint` as a uniform integer, `choices` as cumulative weights, `random() * total` and a
//! right bisection), so the shape of the output matches even though the numbers differ.

use std::cmp::Ordering;
use std::collections::HashSet;

use rand::{Rng, RngExt};

use crate::domain::ActionCandidate;

use super::{SecuritiesBySymbol, Sequence, industry_parts, truthy};

/// How many candidates are sampled and how often; see the settings of the same names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerLimits {
    /// Most sells drawn per sequence (`min(combinatorial_max_sells, depth / 2)`).
    pub max_sells: usize,
    /// Most buys drawn per sequence (`min(combinatorial_max_buys, depth)`).
    pub max_buys: usize,
    /// Candidates below this priority are never drawn.
    pub priority_threshold: f64,
    /// Most actions per sequence (the depth).
    pub max_steps: usize,
    /// Sequences wanted; at most three times as many attempts are made.
    pub max_combinations: usize,
    /// Sells and buys (each) kept, highest priority first.
    pub max_candidates: usize,
}

/// Attempts allowed per wanted sequence.
const ATTEMPTS_PER_SEQUENCE: usize = 3;
/// Accepted sequences a new one is compared with.
const DIVERSITY_WINDOW: usize = 10;
/// A sequence is rejected when both overlaps with one recent sequence exceed this.
const MAX_OVERLAP: f64 = 0.8;
/// Weight every candidate gets on top of its squared normalised priority.
const BASE_WEIGHT: f64 = 0.1;

/// Sampling weights: all 1 when the priorities are equal, else
/// `((p − min)/(max − min))² + 0.1`, normalised to sum 1.
pub fn priority_weights(candidates: &[&ActionCandidate]) -> Vec<f64> {
    let Some(first) = candidates.first() else {
        return Vec::new();
    };
    let (min, max) = candidates
        .iter()
        .fold((first.priority, first.priority), |(lo, hi), c| {
            (lo.min(c.priority), hi.max(c.priority))
        });
    if max == min {
        return vec![1.0; candidates.len()];
    }
    let weights: Vec<f64> = candidates
        .iter()
        .map(|c| {
            let x = (c.priority - min) / (max - min);
            x * x + BASE_WEIGHT
        })
        .collect();
    let total = weights.iter().fold(0.0, |sum, w| sum + w);
    weights.into_iter().map(|w| w / total).collect()
}

/// Running sums of the weights (`itertools.accumulate`).
fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// CPython's `random.choices(population, cum_weights=cum, k=k)` as indices: each draw is
/// `bisect_right(cum, random() * total, 0, n − 1)`.
pub fn weighted_choices<R: Rng + ?Sized>(rng: &mut R, cum: &[f64], k: usize) -> Vec<usize> {
    let Some(&total) = cum.last() else {
        return Vec::new();
    };
    let hi = cum.len() - 1;
    (0..k)
        .map(|_| {
            let x = rng.random::<f64>() * total;
            cum[..hi].partition_point(|&c| c <= x)
        })
        .collect()
}

/// `random.randint(1, max)` when a side has candidates and room, else 0 without a draw.
fn draw_count<R: Rng + ?Sized>(rng: &mut R, max_side: usize, available: usize) -> usize {
    let max = max_side.min(available);
    if max > 0 {
        rng.random_range(1..=max)
    } else {
        0
    }
}

/// The drawn candidates, keeping the first per symbol.
fn first_per_symbol<'a>(
    candidates: &[&'a ActionCandidate],
    picks: &[usize],
) -> Vec<&'a ActionCandidate> {
    let mut seen: HashSet<&str> = HashSet::new();
    picks
        .iter()
        .map(|&i| candidates[i])
        .filter(|c| seen.insert(c.symbol.as_str()))
        .collect()
}

/// Countries and industries (comma parts, trimmed, empty parts kept) of a sequence's
/// securities.
fn profile<'a>(
    sequence: &[ActionCandidate],
    securities: &'a SecuritiesBySymbol,
) -> (HashSet<&'a str>, HashSet<&'a str>) {
    let mut countries = HashSet::new();
    let mut industries = HashSet::new();
    for action in sequence {
        if let Some(security) = securities.get(&action.symbol) {
            if let Some(country) = truthy(&security.country) {
                countries.insert(country);
            }
            if let Some(industry) = truthy(&security.industry) {
                industries.extend(industry_parts(industry));
            }
        }
    }
    (countries, industries)
}

/// `|a ∩ b| / max(|a ∪ b|, 1)`.
fn jaccard(a: &HashSet<&str>, b: &HashSet<&str>) -> f64 {
    let common = a.intersection(b).count();
    let union = a.union(b).count();
    common as f64 / union.max(1) as f64
}

/// False when, against one of the last ten accepted sequences, both the country and the
/// industry overlap exceed 0.8. Always true without securities or before the first sequence.
fn is_diverse(
    sequence: &[ActionCandidate],
    accepted: &[Sequence],
    securities: Option<&SecuritiesBySymbol>,
) -> bool {
    let Some(securities) = securities.filter(|s| !s.is_empty()) else {
        return true;
    };
    if accepted.is_empty() {
        return true;
    }
    let (countries, industries) = profile(sequence, securities);
    let window = &accepted[accepted.len().saturating_sub(DIVERSITY_WINDOW)..];
    window.iter().all(|existing| {
        let (c, i) = profile(existing, securities);
        !(jaccard(&countries, &c) > MAX_OVERLAP && jaccard(&industries, &i) > MAX_OVERLAP)
    })
}

/// Candidates at or above the threshold, stable-sorted by priority (highest first), capped.
fn eligible<'a>(
    candidates: &'a [ActionCandidate],
    limits: &SamplerLimits,
) -> Vec<&'a ActionCandidate> {
    let mut kept: Vec<&ActionCandidate> = candidates
        .iter()
        .filter(|c| c.priority >= limits.priority_threshold)
        .collect();
    kept.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(Ordering::Equal)
    });
    kept.truncate(limits.max_candidates);
    kept
}

/// Up to `max_combinations` sampled sequences (sells first, then buys). Identical sequences
/// may be drawn repeatedly; the caller's dedup removes them.
pub fn sample_sequences<R: Rng + ?Sized>(
    sells: &[ActionCandidate],
    buys: &[ActionCandidate],
    limits: &SamplerLimits,
    securities: Option<&SecuritiesBySymbol>,
    rng: &mut R,
) -> Vec<Sequence> {
    let sells = eligible(sells, limits);
    let buys = eligible(buys, limits);
    let sell_cum = cumulative(&priority_weights(&sells));
    let buy_cum = cumulative(&priority_weights(&buys));
    let mut out: Vec<Sequence> = Vec::new();
    if sells.is_empty() && buys.is_empty() {
        return out;
    }
    let max_attempts = limits.max_combinations * ATTEMPTS_PER_SEQUENCE;
    let mut attempts = 0;
    while out.len() < limits.max_combinations && attempts < max_attempts {
        attempts += 1;
        let n_sells = draw_count(rng, limits.max_sells, sells.len());
        let n_buys = draw_count(rng, limits.max_buys, buys.len());
        if n_sells + n_buys > limits.max_steps || (n_sells == 0 && n_buys == 0) {
            continue;
        }
        let sell_picks = weighted_choices(rng, &sell_cum, n_sells);
        let buy_picks = weighted_choices(rng, &buy_cum, n_buys);
        let sequence: Sequence = first_per_symbol(&sells, &sell_picks)
            .into_iter()
            .chain(first_per_symbol(&buys, &buy_picks))
            .cloned()
            .collect();
        if is_diverse(&sequence, &out, securities) {
            out.push(sequence);
        }
    }
    out
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
