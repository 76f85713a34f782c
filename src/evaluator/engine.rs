//! Simulation and scoring of one sequence against a prepared portfolio (spec §3, §4.2, §5.1).
//!
//! The base portfolio is prepared once per batch: its positions become slots in the reference's
//! dict order, each with its weighted per-symbol terms and running prefix sums. A sequence only
//! touches a few slots, so its end-state sums start from the prefix before the first touched slot
//! and add the rest in the same order the reference adds them — bit-equal results without
//! walking the whole portfolio for every sequence, and without allocating per sequence.

use super::batch::{Act, SymbolTable};
use super::settings::{ProfileWeights, RiskProfile, ScoringProfile};
use super::symbol_terms::SymbolTerms;
use crate::domain::{Side, round_py};

const NO_SLOT: u32 = u32::MAX;

/// Numeric settings of one evaluation, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalParams {
    pub transaction_cost_fixed: f64,
    pub transaction_cost_percent: f64,
    pub cost_penalty_factor: f64,
    pub multi_timeframe: bool,
    pub risk_profile: RiskProfile,
    pub weights: ProfileWeights,
}

/// The portfolio sequences start from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BasePortfolio {
    /// (symbol index, EUR value) in request order.
    pub positions: Vec<(u32, f64)>,
    /// Total value including cash; trades never change it.
    pub total_value: f64,
    /// Cash the simulation starts from.
    pub start_cash: f64,
    /// Diversification input of the end-state score (portfolio score total / 100).
    pub diversification: f64,
}

/// The base portfolio and per-symbol terms of one batch.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub symbols: SymbolTable,
    pub terms: Vec<SymbolTerms>,
    pub params: EvalParams,
    pub profile: ScoringProfile,
    pub total_value: f64,
    /// Cash the simulation starts from.
    pub start_cash: f64,
    /// Diversification input of the end-state score (portfolio score total / 100).
    pub diversification: f64,
    slot_symbol: Vec<u32>,
    slot_value: Vec<f64>,
    slot_of_symbol: Vec<u32>,
    slot_terms: Vec<[f64; 3]>,
    slot_positive: Vec<bool>,
    prefix: Vec<[f64; 3]>,
}

/// Per-thread working memory; reused across sequences so the hot loop does not allocate.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// Base slots changed by the sequence: (slot, value, still held).
    over: Vec<(u32, f64, bool)>,
    /// Symbols inserted after the base positions, in insertion order.
    appended: Vec<(u32, f64)>,
    pub(crate) adjustments: Vec<(u32, f64)>,
    pub(crate) shocked: Vec<u32>,
    pub(crate) scores: Vec<f64>,
}

/// The scalar outcome of one base evaluation (spec §5.1); the breakdown is built from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BaseEval {
    /// Final score after multi-timeframe and cost penalty, unrounded.
    pub score: f64,
    /// The end-state score before adjustments (rounded to 3; 0.5 for an invalid end state).
    pub end_state: f64,
    pub weighted_total_return: f64,
    pub weighted_long_term_promise: f64,
    pub weighted_stability: f64,
    /// No positions left or total value ≤ 0: the reference's "Invalid portfolio data".
    pub invalid: bool,
    pub diversification: f64,
    pub transaction_cost: f64,
    /// Score after multi-timeframe, when enabled.
    pub multi_timeframe: Option<f64>,
    /// Cost penalty, when applied.
    pub cost_penalty: Option<f64>,
}

impl BaseEval {
    /// Risk objective: the rounded weighted stability, 0.5 when the end state is invalid.
    pub fn risk(&self) -> f64 {
        if self.invalid {
            0.5
        } else {
            round_py(self.weighted_stability, 3)
        }
    }
}

impl Prepared {
    /// Prepares the base portfolio. Its positions are (symbol, EUR value) in request order; a
    /// repeated symbol keeps its first place and takes the later value, as a dict does.
    pub fn new(
        symbols: SymbolTable,
        terms: Vec<SymbolTerms>,
        base: &BasePortfolio,
        params: EvalParams,
        profile: ScoringProfile,
    ) -> Self {
        let BasePortfolio {
            positions,
            total_value,
            start_cash,
            diversification,
        } = base;
        let (total_value, start_cash, diversification) =
            (*total_value, *start_cash, *diversification);
        assert_eq!(symbols.len(), terms.len(), "one term per symbol");
        let mut slot_of_symbol = vec![NO_SLOT; symbols.len()];
        let mut slot_symbol = Vec::new();
        let mut slot_value = Vec::new();
        for &(sym, value) in positions.iter() {
            match slot_of_symbol[sym as usize] {
                NO_SLOT => {
                    slot_of_symbol[sym as usize] = slot_symbol.len() as u32;
                    slot_symbol.push(sym);
                    slot_value.push(value);
                }
                slot => slot_value[slot as usize] = value,
            }
        }
        let mut prepared = Prepared {
            symbols,
            terms,
            params,
            profile,
            total_value,
            start_cash,
            diversification,
            slot_symbol,
            slot_value,
            slot_of_symbol,
            slot_terms: Vec::new(),
            slot_positive: Vec::new(),
            prefix: Vec::new(),
        };
        prepared.slot_terms = (0..prepared.slot_symbol.len())
            .map(|slot| {
                prepared.weighted_terms(prepared.slot_symbol[slot], prepared.slot_value[slot])
            })
            .collect();
        prepared.slot_positive = prepared.slot_value.iter().map(|&v| v > 0.0).collect();
        let mut running = [0.0; 3];
        prepared.prefix.push(running);
        for slot in 0..prepared.slot_symbol.len() {
            if prepared.slot_positive[slot] {
                add_terms(&mut running, &prepared.slot_terms[slot]);
            }
            prepared.prefix.push(running);
        }
        prepared
    }

    fn weighted_terms(&self, sym: u32, value: f64) -> [f64; 3] {
        let weight = value / self.total_value;
        let t = &self.terms[sym as usize];
        [
            t.total_return * weight,
            t.long_term_promise * weight,
            t.stability * weight,
        ]
    }

    /// Base positions in dict order (for tests and reports).
    pub fn base_positions(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.slot_symbol
            .iter()
            .zip(&self.slot_value)
            .map(|(&s, &v)| (self.symbols.name(s), v))
    }

    /// Value moved by an action: `|qty| * (price * multiplier)` when the symbol is shocked,
    /// otherwise `value_eur`.
    #[inline]
    fn moved_value(act: &Act, adjustments: &[(u32, f64)]) -> f64 {
        match adjustments.iter().find(|(s, _)| *s == act.symbol) {
            Some(&(_, multiplier)) => {
                (act.quantity.unsigned_abs() as f64) * (act.price * multiplier)
            }
            None => act.value_eur,
        }
    }

    /// Runs the reference's simulation; leaves the end state in `scratch`, returns the cash.
    pub fn simulate(&self, acts: &[Act], scratch: &mut Scratch) -> f64 {
        scratch.over.clear();
        scratch.appended.clear();
        let mut cash = self.start_cash;
        for act in acts {
            let v = Self::moved_value(act, &scratch.adjustments);
            match act.side {
                Side::Sell => {
                    let remaining = (self.get(scratch, act.symbol).unwrap_or(0.0) - v).max(0.0);
                    if remaining > 0.0 {
                        self.set(scratch, act.symbol, remaining);
                    } else {
                        self.remove(scratch, act.symbol);
                    }
                    cash += v;
                }
                Side::Buy => {
                    if v > cash {
                        continue;
                    }
                    let held = self.get(scratch, act.symbol).unwrap_or(0.0);
                    self.set(scratch, act.symbol, held + v);
                    cash -= v;
                }
            }
        }
        cash
    }

    fn get(&self, scratch: &Scratch, sym: u32) -> Option<f64> {
        if let Some(&(_, v)) = scratch.appended.iter().find(|(s, _)| *s == sym) {
            return Some(v);
        }
        let slot = self
            .slot_of_symbol
            .get(sym as usize)
            .copied()
            .unwrap_or(NO_SLOT);
        if slot == NO_SLOT {
            return None;
        }
        match scratch.over.iter().find(|(s, _, _)| *s == slot) {
            Some(&(_, v, true)) => Some(v),
            Some(&(_, _, false)) => None,
            None => Some(self.slot_value[slot as usize]),
        }
    }

    fn set(&self, scratch: &mut Scratch, sym: u32, value: f64) {
        if let Some(entry) = scratch.appended.iter_mut().find(|(s, _)| *s == sym) {
            entry.1 = value;
            return;
        }
        let slot = self
            .slot_of_symbol
            .get(sym as usize)
            .copied()
            .unwrap_or(NO_SLOT);
        if slot != NO_SLOT {
            match scratch.over.iter_mut().find(|(s, _, _)| *s == slot) {
                Some(entry) if entry.2 => {
                    entry.1 = value;
                    return;
                }
                // A key deleted from a dict and set again goes to the end.
                Some(_) => {}
                None => {
                    scratch.over.push((slot, value, true));
                    return;
                }
            }
        }
        scratch.appended.push((sym, value));
    }

    fn remove(&self, scratch: &mut Scratch, sym: u32) {
        if let Some(i) = scratch.appended.iter().position(|(s, _)| *s == sym) {
            scratch.appended.remove(i);
            return;
        }
        let slot = self
            .slot_of_symbol
            .get(sym as usize)
            .copied()
            .unwrap_or(NO_SLOT);
        if slot == NO_SLOT {
            return;
        }
        match scratch.over.iter_mut().find(|(s, _, _)| *s == slot) {
            Some(entry) => {
                entry.1 = 0.0;
                entry.2 = false;
            }
            None => scratch.over.push((slot, 0.0, false)),
        }
    }

    /// End-state positions in dict order, after `simulate` (for breakdowns and tests).
    pub fn end_positions(&self, scratch: &Scratch) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for slot in 0..self.slot_symbol.len() {
            let value = match scratch.over.iter().find(|(s, _, _)| *s as usize == slot) {
                Some(&(_, v, true)) => v,
                Some(_) => continue,
                None => self.slot_value[slot],
            };
            out.push((self.symbols.name(self.slot_symbol[slot]).to_string(), value));
        }
        out.extend(
            scratch
                .appended
                .iter()
                .map(|&(s, v)| (self.symbols.name(s).to_string(), v)),
        );
        out
    }

    /// Weighted total return, promise and stability of the end state in `scratch`, summed in
    /// dict order; `None` when the end state holds no position.
    fn weighted_sums(&self, scratch: &mut Scratch) -> Option<[f64; 3]> {
        let removed = scratch.over.iter().filter(|o| !o.2).count();
        if self.slot_symbol.len() - removed + scratch.appended.len() == 0 {
            return None;
        }
        scratch.over.sort_unstable_by_key(|o| o.0);
        let first = scratch
            .over
            .first()
            .map_or(self.slot_symbol.len(), |o| o.0 as usize);
        let mut sums = self.prefix[first];
        let mut next = 0;
        for slot in first..self.slot_symbol.len() {
            if next < scratch.over.len() && scratch.over[next].0 as usize == slot {
                let (_, value, held) = scratch.over[next];
                next += 1;
                if held && value > 0.0 {
                    add_terms(
                        &mut sums,
                        &self.weighted_terms(self.slot_symbol[slot], value),
                    );
                }
            } else if self.slot_positive[slot] {
                add_terms(&mut sums, &self.slot_terms[slot]);
            }
        }
        for &(sym, value) in &scratch.appended {
            if value > 0.0 {
                add_terms(&mut sums, &self.weighted_terms(sym, value));
            }
        }
        Some(sums)
    }

    /// Transaction cost of a sequence: Σ `fixed + |value_eur| * percent`, unshocked values.
    pub fn transaction_cost(&self, acts: &[Act]) -> f64 {
        let p = &self.params;
        acts.iter().fold(0.0, |sum, a| {
            sum + crate::domain::action_cost(
                a.value_eur,
                p.transaction_cost_fixed,
                p.transaction_cost_percent,
            )
        })
    }

    /// The reference's `_evaluate_sequence`: simulate under the adjustments in `scratch`, score
    /// the end state, apply multi-timeframe and the cost penalty. `cost` is the sequence's
    /// transaction cost.
    pub fn evaluate_base(&self, acts: &[Act], cost: f64, scratch: &mut Scratch) -> BaseEval {
        self.simulate(acts, scratch);
        let w = &self.params.weights;
        let t = self.total_value;
        let sums = if t > 0.0 {
            self.weighted_sums(scratch)
        } else {
            None
        };
        let (mut score, end_state, sums, invalid) = match sums {
            Some([wtr, wlp, wst]) => {
                let e = wtr * w.total_return
                    + self.diversification * w.diversification
                    + wlp * w.long_term_promise
                    + wst * w.stability
                    + 0.5 * w.opinion;
                let s = round_py(e.min(1.0), 3);
                (s, s, [wtr, wlp, wst], false)
            }
            None => (0.5, 0.5, [0.0; 3], true),
        };
        let mut multi_timeframe = None;
        if self.params.multi_timeframe {
            score = 0.2 * (0.95 * score) + 0.3 * score + 0.5 * (1.05 * score);
            multi_timeframe = Some(score);
        }
        let mut cost_penalty = None;
        if self.params.cost_penalty_factor > 0.0 && t > 0.0 {
            let penalty = (cost / t) * self.params.cost_penalty_factor;
            score = (score - penalty).max(0.0);
            cost_penalty = Some(penalty);
        }
        BaseEval {
            score,
            end_state,
            weighted_total_return: sums[0],
            weighted_long_term_promise: sums[1],
            weighted_stability: sums[2],
            invalid,
            diversification: self.diversification,
            transaction_cost: cost,
            multi_timeframe,
            cost_penalty,
        }
    }
}

#[inline]
fn add_terms(sums: &mut [f64; 3], terms: &[f64; 3]) {
    sums[0] += terms[0];
    sums[1] += terms[1];
    sums[2] += terms[2];
}
