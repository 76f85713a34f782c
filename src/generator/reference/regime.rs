//! Market-regime pattern (spec §4.6, `_generate_market_regime_patterns`): one sequence shaped
//! by the regime named in the request — `"bull"`, `"bear"`, anything else is sideways (the
//! comparison is case-sensitive).
//!
//! Unlike the depth patterns, the buy loops here stop (`break`) at the first candidate the cash
//! does not cover.

use crate::domain::ActionCandidate;
use crate::domain::Opportunities;

use super::Sequence;

/// The three regimes the reference distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketRegime {
    Bull,
    Bear,
    Sideways,
}

impl MarketRegime {
    /// `"bull"` and `"bear"` exactly; any other text is sideways.
    pub fn parse(text: &str) -> MarketRegime {
        match text {
            "bull" => MarketRegime::Bull,
            "bear" => MarketRegime::Bear,
            _ => MarketRegime::Sideways,
        }
    }
}

/// Adds `candidates` in order until the sequence is full or one is not covered by the cash;
/// a candidate already in the sequence (value equality) is skipped.
fn buy_until_short<'a>(
    sequence: &mut Vec<&'a ActionCandidate>,
    candidates: impl IntoIterator<Item = &'a ActionCandidate>,
    cash: &mut f64,
    max_steps: usize,
) {
    for c in candidates {
        if sequence.len() >= max_steps || *cash < c.value_eur {
            break;
        }
        if !sequence.contains(&c) {
            sequence.push(c);
            *cash -= c.value_eur;
        }
    }
}

/// At most one sequence, from each category cut to its first `n` (a plain slice):
/// * bull: the first two profit-taking sells, then opportunity and rebalance buys;
/// * bear: sells (profit taking, rebalance) up to `max_steps / 2`, then averaging-down buys;
/// * sideways: the first two rebalance sells, then rebalance and opportunity buys.
pub fn market_regime_patterns(
    opportunities: &Opportunities,
    regime: MarketRegime,
    available_cash: f64,
    max_steps: usize,
    n: usize,
) -> Vec<Sequence> {
    let top = |list: &'_ [ActionCandidate]| -> usize { n.min(list.len()) };
    let pt = &opportunities.profit_taking[..top(&opportunities.profit_taking)];
    let rs = &opportunities.rebalance_sells[..top(&opportunities.rebalance_sells)];
    let av = &opportunities.averaging_down[..top(&opportunities.averaging_down)];
    let rb = &opportunities.rebalance_buys[..top(&opportunities.rebalance_buys)];
    let op = &opportunities.opportunity_buys[..top(&opportunities.opportunity_buys)];

    let mut sequence: Vec<&ActionCandidate> = Vec::new();
    let mut cash = available_cash;
    match regime {
        MarketRegime::Bull => {
            for c in pt.iter().take(2) {
                if sequence.len() < max_steps {
                    sequence.push(c);
                    cash += c.value_eur;
                }
            }
            buy_until_short(&mut sequence, op.iter().chain(rb), &mut cash, max_steps);
        }
        MarketRegime::Bear => {
            for c in pt.iter().chain(rs) {
                if sequence.len() >= max_steps / 2 {
                    break;
                }
                if !sequence.contains(&c) {
                    sequence.push(c);
                    cash += c.value_eur;
                }
            }
            buy_until_short(&mut sequence, av, &mut cash, max_steps);
        }
        MarketRegime::Sideways => {
            for c in rs.iter().take(2) {
                if sequence.len() < max_steps {
                    sequence.push(c);
                    cash += c.value_eur;
                }
            }
            buy_until_short(&mut sequence, rb.iter().chain(op), &mut cash, max_steps);
        }
    }
    if sequence.is_empty() {
        Vec::new()
    } else {
        vec![sequence.into_iter().cloned().collect()]
    }
}

#[cfg(test)]
#[path = "regime_tests.rs"]
mod tests;
