//! The eleven deterministic patterns of one depth (spec §4.3, `_generate_*_pattern`).
//!
//! "Fits" is `value_eur ≤ cash` with no costs; a sell is never cash-checked; the "fits" loops
//! skip an unaffordable candidate and keep scanning. The cash arithmetic follows each pattern's
//! own order (`A + Σv` for some, `cash += v` per sell for others) because a different order can
//! flip a comparison at the last bit.

use std::cmp::Ordering;

use crate::domain::{ActionCandidate, Category, Opportunities, Side};

use super::diverse::select_top;
use super::{SecuritiesBySymbol, Sequence};

/// The top-N lists of the five categories at one depth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopLists {
    pub profit_taking: Vec<ActionCandidate>,
    pub averaging_down: Vec<ActionCandidate>,
    pub rebalance_sells: Vec<ActionCandidate>,
    pub rebalance_buys: Vec<ActionCandidate>,
    pub opportunity_buys: Vec<ActionCandidate>,
}

impl TopLists {
    /// Diverse top-N (§4.2) per category, or the first `n` of each list.
    pub fn select(
        opportunities: &Opportunities,
        n: usize,
        diverse: bool,
        diversity_weight: f64,
        securities: Option<&SecuritiesBySymbol>,
    ) -> TopLists {
        let pick = |category: Category| {
            let list = opportunities.list(category);
            if diverse {
                select_top(list, n, securities, diversity_weight)
            } else {
                list[..n.min(list.len())].to_vec()
            }
        };
        TopLists {
            profit_taking: pick(Category::ProfitTaking),
            averaging_down: pick(Category::AveragingDown),
            rebalance_sells: pick(Category::RebalanceSells),
            rebalance_buys: pick(Category::RebalanceBuys),
            opportunity_buys: pick(Category::OpportunityBuys),
        }
    }

    /// Profit taking then rebalance sells.
    pub fn sells(&self) -> Vec<&ActionCandidate> {
        chain(&[&self.profit_taking, &self.rebalance_sells])
    }

    /// Averaging down, rebalance buys, opportunity buys.
    pub fn buys(&self) -> Vec<&ActionCandidate> {
        chain(&[
            &self.averaging_down,
            &self.rebalance_buys,
            &self.opportunity_buys,
        ])
    }
}

fn chain<'a>(lists: &[&'a Vec<ActionCandidate>]) -> Vec<&'a ActionCandidate> {
    lists.iter().flat_map(|l| l.iter()).collect()
}

fn sum_values<'a>(actions: impl IntoIterator<Item = &'a ActionCandidate>) -> f64 {
    actions.into_iter().fold(0.0, |sum, a| sum + a.value_eur)
}

fn non_empty(sequence: Vec<&ActionCandidate>) -> Option<Sequence> {
    if sequence.is_empty() {
        None
    } else {
        Some(sequence.into_iter().cloned().collect())
    }
}

/// Appends every candidate that fits the cash while the sequence is shorter than `steps`;
/// an unaffordable candidate is skipped, not a stop.
fn fill_buys<'a>(
    sequence: &mut Vec<&'a ActionCandidate>,
    candidates: impl IntoIterator<Item = &'a ActionCandidate>,
    cash: &mut f64,
    steps: usize,
) {
    for c in candidates {
        if c.value_eur <= *cash && sequence.len() < steps {
            sequence.push(c);
            *cash -= c.value_eur;
        }
    }
}

/// The deterministic patterns, in the order they are generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    DirectBuy,
    ProfitTaking,
    Rebalance,
    AveragingDown,
    SingleBest,
    MultiSell,
    MixedStrategy,
    OpportunityFirst,
    DeepRebalance,
    CashGeneration,
    CostOptimized,
}

impl Pattern {
    pub const ALL: [Pattern; 11] = [
        Pattern::DirectBuy,
        Pattern::ProfitTaking,
        Pattern::Rebalance,
        Pattern::AveragingDown,
        Pattern::SingleBest,
        Pattern::MultiSell,
        Pattern::MixedStrategy,
        Pattern::OpportunityFirst,
        Pattern::DeepRebalance,
        Pattern::CashGeneration,
        Pattern::CostOptimized,
    ];

    #[cfg(test)]
    pub fn name(self) -> &'static str {
        match self {
            Pattern::DirectBuy => "direct_buy",
            Pattern::ProfitTaking => "profit_taking",
            Pattern::Rebalance => "rebalance",
            Pattern::AveragingDown => "averaging_down",
            Pattern::SingleBest => "single_best",
            Pattern::MultiSell => "multi_sell",
            Pattern::MixedStrategy => "mixed_strategy",
            Pattern::OpportunityFirst => "opportunity_first",
            Pattern::DeepRebalance => "deep_rebalance",
            Pattern::CashGeneration => "cash_generation",
            Pattern::CostOptimized => "cost_optimized",
        }
    }

    /// The pattern's sequence for `cash` available and at most `steps` actions, or `None` when
    /// its precondition fails or it picks nothing.
    pub fn build(self, top: &TopLists, cash: f64, steps: usize) -> Option<Sequence> {
        match self {
            Pattern::DirectBuy => direct_buy(top, cash, steps),
            Pattern::ProfitTaking => profit_taking(top, cash, steps),
            Pattern::Rebalance => rebalance(top, cash, steps),
            Pattern::AveragingDown => averaging_down(top, cash, steps),
            Pattern::SingleBest => single_best(top, cash, steps),
            Pattern::MultiSell => multi_sell(top, cash, steps),
            Pattern::MixedStrategy => mixed_strategy(top, cash, steps),
            Pattern::OpportunityFirst => opportunity_first(top, cash, steps),
            Pattern::DeepRebalance => deep_rebalance(top, cash, steps),
            Pattern::CashGeneration => cash_generation(top, cash, steps),
            Pattern::CostOptimized => cost_optimized(top, cash, steps),
        }
    }
}

/// Every pattern's non-empty sequence, in pattern order.
pub fn deterministic_patterns(top: &TopLists, cash: f64, steps: usize) -> Vec<Sequence> {
    Pattern::ALL
        .iter()
        .filter_map(|p| p.build(top, cash, steps))
        .collect()
}

fn direct_buy(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if available <= 0.0 {
        return None;
    }
    let mut sequence = Vec::new();
    let mut cash = available;
    fill_buys(&mut sequence, top.buys(), &mut cash, steps);
    non_empty(sequence)
}

fn profit_taking(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if top.profit_taking.is_empty() {
        return None;
    }
    let mut sequence: Vec<&ActionCandidate> = top.profit_taking.iter().take(steps).collect();
    let mut cash = available + sum_values(sequence.iter().copied());
    let buys = chain(&[&top.averaging_down, &top.rebalance_buys]);
    fill_buys(&mut sequence, buys, &mut cash, steps);
    non_empty(sequence)
}

fn rebalance(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if top.rebalance_sells.is_empty() {
        return None;
    }
    let mut sequence: Vec<&ActionCandidate> = top.rebalance_sells.iter().take(steps).collect();
    let mut cash = available + sum_values(sequence.iter().copied());
    fill_buys(&mut sequence, &top.rebalance_buys, &mut cash, steps);
    non_empty(sequence)
}

/// Adds the first profit-taking sell when the cash does not cover the first averaging-down
/// buy, even when that fills the only step.
fn averaging_down(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    let first = top.averaging_down.first()?;
    let mut sequence = Vec::new();
    let mut cash = available;
    if cash < first.value_eur
        && let Some(sell) = top.profit_taking.first()
    {
        sequence.push(sell);
        cash += sell.value_eur;
    }
    fill_buys(&mut sequence, &top.averaging_down, &mut cash, steps);
    non_empty(sequence)
}

/// The first candidate with the highest priority (PT, AV, RS, RB, OP order); a buy only if the
/// cash covers it.
fn single_best(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if steps < 1 {
        return None;
    }
    let all = chain(&[
        &top.profit_taking,
        &top.averaging_down,
        &top.rebalance_sells,
        &top.rebalance_buys,
        &top.opportunity_buys,
    ]);
    let mut best = *all.first()?;
    for &c in &all[1..] {
        if c.priority > best.priority {
            best = c;
        }
    }
    match best.side {
        Side::Buy if best.value_eur <= available => Some(vec![best.clone()]),
        Side::Sell => Some(vec![best.clone()]),
        Side::Buy => None,
    }
}

fn multi_sell(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    let sells = top.sells();
    if sells.is_empty() {
        return None;
    }
    let mut sequence: Vec<&ActionCandidate> = sells.into_iter().take(steps).collect();
    let mut cash = available + sum_values(sequence.iter().copied());
    fill_buys(&mut sequence, top.buys(), &mut cash, steps);
    non_empty(sequence)
}

fn mixed_strategy(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    let sells = top.sells();
    let buys = top.buys();
    if sells.is_empty() && buys.is_empty() {
        return None;
    }
    let mut sequence = Vec::new();
    let mut cash = available;
    let max_sells = (steps / 2).max(1);
    for c in sells.into_iter().take(max_sells) {
        if sequence.len() < steps {
            sequence.push(c);
            cash += c.value_eur;
        }
    }
    fill_buys(&mut sequence, buys, &mut cash, steps);
    non_empty(sequence)
}

fn opportunity_first(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if top.opportunity_buys.is_empty() {
        return None;
    }
    let mut sequence = Vec::new();
    let mut cash = available;
    fill_buys(&mut sequence, &top.opportunity_buys, &mut cash, steps);
    let rest = chain(&[&top.averaging_down, &top.rebalance_buys]);
    fill_buys(&mut sequence, rest, &mut cash, steps);
    non_empty(sequence)
}

fn deep_rebalance(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if top.rebalance_sells.is_empty() || top.rebalance_buys.is_empty() {
        return None;
    }
    let mut sequence = Vec::new();
    let mut cash = available;
    let max_sells = (steps / 2).max(1);
    for c in top.rebalance_sells.iter().take(max_sells) {
        if sequence.len() < steps {
            sequence.push(c);
            cash += c.value_eur;
        }
    }
    fill_buys(&mut sequence, &top.rebalance_buys, &mut cash, steps);
    non_empty(sequence)
}

fn cash_generation(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    let sells = top.sells();
    if sells.is_empty() {
        return None;
    }
    let mut sequence = Vec::new();
    let mut cash = available;
    for c in sells.into_iter().take(steps) {
        sequence.push(c);
        cash += c.value_eur;
    }
    let buys = chain(&[
        &top.opportunity_buys,
        &top.averaging_down,
        &top.rebalance_buys,
    ]);
    fill_buys(&mut sequence, buys, &mut cash, steps);
    non_empty(sequence)
}

/// Every sell of PT and RS (up to `steps`), then the highest-priority affordable buys across
/// all categories; here the loops stop (`break`) once the sequence is full.
fn cost_optimized(top: &TopLists, available: f64, steps: usize) -> Option<Sequence> {
    if steps < 1 {
        return None;
    }
    let mut all = chain(&[
        &top.profit_taking,
        &top.rebalance_sells,
        &top.averaging_down,
        &top.rebalance_buys,
        &top.opportunity_buys,
    ]);
    if all.is_empty() {
        return None;
    }
    all.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(Ordering::Equal)
    });
    let mut sequence: Vec<&ActionCandidate> = Vec::new();
    let mut cash = available;
    for c in top.sells() {
        if sequence.len() >= steps {
            break;
        }
        if c.side == Side::Sell {
            sequence.push(c);
            cash += c.value_eur;
        }
    }
    for c in all {
        if sequence.len() >= steps {
            break;
        }
        if c.side == Side::Buy && c.value_eur <= cash && !sequence.contains(&c) {
            sequence.push(c);
            cash -= c.value_eur;
        }
    }
    non_empty(sequence)
}

#[cfg(test)]
#[path = "patterns_tests.rs"]
mod tests;
