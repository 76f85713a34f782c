//! Adaptive patterns (spec §4.5, `_generate_adaptive_patterns`): buys aimed at the country and
//! industry groups furthest below their target weight.
//!
//! Reproduced as the reference runs them: the group key of a country gap is compared with the
//! security's raw country, the candidate lists are the full category lists (not the top-N), and
//! a candidate the cash does not cover ends the scan of that gap (`break`). The generator
//! request carries no security-to-country map, so every current allocation is 0 there.

use std::cmp::Ordering;
use std::collections::HashMap;

use indexmap::IndexMap;

use crate::domain::{ActionCandidate, Opportunities};

use super::{SecuritiesBySymbol, Sequence, industry_parts};

/// A country gap counts above this.
const COUNTRY_GAP_MIN: f64 = 0.02;
/// An industry gap counts above this.
const INDUSTRY_GAP_MIN: f64 = 0.01;
/// Gaps served per pattern.
const GAPS_SERVED: usize = 3;

/// The portfolio as the adaptive patterns see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdaptiveContext {
    pub total_value: f64,
    /// Position value (EUR) by symbol, in request order.
    pub positions: IndexMap<String, f64>,
    /// Target weight by country group, in request order.
    pub country_weights: IndexMap<String, f64>,
    /// Target weight by industry group, in request order.
    pub industry_weights: IndexMap<String, f64>,
    /// Country by position symbol; `None` (always, in the generator service) means no current
    /// country allocation is known.
    pub security_countries: Option<HashMap<String, String>>,
    /// Comma-separated industries by position symbol; `None` as above.
    pub security_industries: Option<HashMap<String, String>>,
    /// Country → group; a country without an entry is in group `OTHER`.
    pub country_to_group: HashMap<String, String>,
    /// Industry → group; an industry without an entry is in group `OTHER`.
    pub industry_to_group: HashMap<String, String>,
}

const OTHER: &str = "OTHER";

impl AdaptiveContext {
    /// Current weight per country group and per industry group, summed in position order.
    fn current_allocations(&self) -> (HashMap<String, f64>, HashMap<String, f64>) {
        let mut countries: HashMap<String, f64> = HashMap::new();
        let mut industries: HashMap<String, f64> = HashMap::new();
        for (symbol, &value) in &self.positions {
            if value <= 0.0 {
                continue;
            }
            let weight = value / self.total_value;
            if let Some(country) = self
                .security_countries
                .as_ref()
                .and_then(|m| m.get(symbol))
                .filter(|c| !c.is_empty())
            {
                let group = self
                    .country_to_group
                    .get(country)
                    .map_or(OTHER, String::as_str);
                *countries.entry(group.to_string()).or_insert(0.0) += weight;
            }
            if let Some(list) = self
                .security_industries
                .as_ref()
                .and_then(|m| m.get(symbol))
                .filter(|s| !s.is_empty())
            {
                for industry in industry_parts(list).into_iter().filter(|i| !i.is_empty()) {
                    let group = self
                        .industry_to_group
                        .get(industry)
                        .map_or(OTHER, String::as_str);
                    *industries.entry(group.to_string()).or_insert(0.0) += weight;
                }
            }
        }
        (countries, industries)
    }
}

/// `(group, target − current)` for gaps above `min`, stable-sorted by gap, largest first.
fn gaps(
    targets: &IndexMap<String, f64>,
    current: &HashMap<String, f64>,
    min: f64,
) -> Vec<(String, f64)> {
    let mut gaps: Vec<(String, f64)> = targets
        .iter()
        .map(|(group, &target)| {
            (
                group.clone(),
                target - current.get(group).copied().unwrap_or(0.0),
            )
        })
        .filter(|&(_, gap)| gap > min)
        .collect();
    gaps.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
    gaps
}

/// Buys for the first three gaps: for each gap, scan the candidates from the start, stop at
/// the first one the cash does not cover or when the sequence is full, add a matching one not
/// yet in the sequence (value equality).
fn serve_gaps<'a>(
    gaps: &[(String, f64)],
    candidates: &[&'a ActionCandidate],
    available_cash: f64,
    max_steps: usize,
    matches: impl Fn(&ActionCandidate, &str) -> bool,
) -> Vec<&'a ActionCandidate> {
    let mut sequence: Vec<&ActionCandidate> = Vec::new();
    let mut cash = available_cash;
    for (group, _) in gaps.iter().take(GAPS_SERVED) {
        for &c in candidates {
            if sequence.len() >= max_steps || cash < c.value_eur {
                break;
            }
            if matches(c, group) && !sequence.contains(&c) {
                sequence.push(c);
                cash -= c.value_eur;
            }
        }
    }
    sequence
}

/// Up to two buy-only sequences: the country one first, then the industry one. Nothing
/// without a positive total value or without securities.
pub fn adaptive_patterns(
    opportunities: &Opportunities,
    context: &AdaptiveContext,
    available_cash: f64,
    max_steps: usize,
    securities: Option<&SecuritiesBySymbol>,
) -> Vec<Sequence> {
    let mut out = Vec::new();
    if context.total_value <= 0.0 {
        return out;
    }
    let (current_countries, current_industries) = context.current_allocations();
    let country_gaps = gaps(
        &context.country_weights,
        &current_countries,
        COUNTRY_GAP_MIN,
    );
    let industry_gaps = gaps(
        &context.industry_weights,
        &current_industries,
        INDUSTRY_GAP_MIN,
    );
    let Some(securities) = securities.filter(|s| !s.is_empty()) else {
        return out;
    };
    let candidates: Vec<&ActionCandidate> = opportunities
        .rebalance_buys
        .iter()
        .chain(&opportunities.opportunity_buys)
        .collect();

    if !country_gaps.is_empty() {
        let sequence = serve_gaps(
            &country_gaps,
            &candidates,
            available_cash,
            max_steps,
            |c, group| {
                securities
                    .get(&c.symbol)
                    .is_some_and(|s| s.country.as_deref() == Some(group))
            },
        );
        if !sequence.is_empty() {
            out.push(sequence.into_iter().cloned().collect());
        }
    }
    if !industry_gaps.is_empty() {
        let sequence = serve_gaps(
            &industry_gaps,
            &candidates,
            available_cash,
            max_steps,
            |c, group| {
                securities.get(&c.symbol).is_some_and(|s| {
                    s.industry
                        .as_deref()
                        .filter(|i| !i.is_empty())
                        .is_some_and(|i| industry_parts(i).contains(&group))
                })
            },
        );
        if !sequence.is_empty() {
            out.push(sequence.into_iter().cloned().collect());
        }
    }
    out
}

#[cfg(test)]
#[path = "adaptive_tests.rs"]
mod tests;
