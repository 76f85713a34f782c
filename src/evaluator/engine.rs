//! Simulation and scoring of one sequence against a prepared portfolio (spec §3, §4.2, §5.1).
//!
//! The base portfolio is prepared once per batch: its positions become slots in the reference's
//! dict order, each with its weighted per-symbol terms and running prefix sums. A sequence only
//! touches a few slots, so its end-state sums start from the prefix before the first touched slot
//! and add the rest in the same order the reference adds them — bit-equal results without
//! walking the whole portfolio for every sequence, and without allocating per sequence.

use super::settings::{ProfileWeights, RiskProfile};
use super::symbol_terms::SymbolTerms;
use crate::domain::sequence::{Act, SymbolTable};
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

impl Default for EvalParams {
    /// The reference's defaults: 2 EUR + 0.2 % per trade, penalty factor 0.1, balanced weights.
    fn default() -> Self {
        EvalParams {
            transaction_cost_fixed: 2.0,
            transaction_cost_percent: 0.002,
            cost_penalty_factor: 0.1,
            multi_timeframe: false,
            risk_profile: RiskProfile::Balanced,
            weights: RiskProfile::Balanced.weights(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::symbol_terms::ScorerInputs;

    /// A portfolio of A=600 and B=300 (total 1000, so 100 of cash), with C and D buyable.
    fn prepared(start_cash: f64) -> Prepared {
        let mut symbols = SymbolTable::default();
        for s in ["A", "B", "C", "D"] {
            symbols.intern(s);
        }
        let terms = (0..4)
            .map(|_| SymbolTerms::new(&ScorerInputs::default(), true))
            .collect();
        let base = BasePortfolio {
            positions: vec![(0, 600.0), (1, 300.0)],
            total_value: 1000.0,
            start_cash,
            diversification: 0.433,
        };
        Prepared::new(symbols, terms, &base, EvalParams::default())
    }

    fn act(symbol: u32, side: Side, value_eur: f64) -> Act {
        Act {
            symbol,
            side,
            quantity: 1,
            price: value_eur,
            value_eur,
            priority: 0.5,
        }
    }

    fn end(p: &Prepared, acts: &[Act]) -> (Vec<(String, f64)>, f64) {
        let mut scratch = Scratch::default();
        let cash = p.simulate(acts, &mut scratch);
        (p.end_positions(&scratch), cash)
    }

    fn owned(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(s, v)| (s.to_string(), *v)).collect()
    }

    #[test]
    fn a_buy_above_cash_is_skipped_and_later_actions_still_run() {
        let p = prepared(100.0);
        let (positions, cash) = end(&p, &[act(2, Side::Buy, 150.0), act(3, Side::Buy, 80.0)]);
        assert_eq!(positions, owned(&[("A", 600.0), ("B", 300.0), ("D", 80.0)]));
        assert_eq!(cash, 20.0);
        // Strict: a buy of exactly the cash goes through.
        let (_, cash) = end(&p, &[act(2, Side::Buy, 100.0)]);
        assert_eq!(cash, 0.0);
    }

    #[test]
    fn a_sell_adds_its_full_value_even_beyond_the_position() {
        let p = prepared(0.0);
        let (positions, cash) = end(&p, &[act(1, Side::Sell, 500.0), act(2, Side::Sell, 40.0)]);
        assert_eq!(
            positions,
            owned(&[("A", 600.0)]),
            "B sold out, C never held"
        );
        assert_eq!(cash, 540.0);
    }

    #[test]
    fn a_sold_out_symbol_bought_again_moves_to_the_end_as_in_a_dict() {
        let p = prepared(0.0);
        let (positions, _) = end(&p, &[act(0, Side::Sell, 600.0), act(0, Side::Buy, 100.0)]);
        assert_eq!(positions, owned(&[("B", 300.0), ("A", 100.0)]));
        let (positions, _) = end(&p, &[act(1, Side::Sell, 100.0), act(1, Side::Buy, 50.0)]);
        assert_eq!(
            positions,
            owned(&[("A", 600.0), ("B", 250.0)]),
            "a partial sell keeps the place"
        );
    }

    #[test]
    fn price_shocks_recompute_values_from_quantity_and_price() {
        let p = prepared(1000.0);
        let mut scratch = Scratch::default();
        scratch.adjustments.push((2, 1.1));
        let shocked = Act {
            symbol: 2,
            side: Side::Buy,
            quantity: -3,
            price: 100.0,
            value_eur: 999.0,
            priority: 0.0,
        };
        let cash = p.simulate(&[shocked], &mut scratch);
        assert_eq!(cash, 1000.0 - 3.0 * (100.0 * 1.1));
    }

    #[test]
    fn incremental_sums_equal_a_full_walk_in_dict_order() {
        let p = prepared(500.0);
        let cases: Vec<Vec<Act>> = vec![
            vec![],
            vec![act(0, Side::Sell, 100.0)],
            vec![act(1, Side::Sell, 300.0), act(2, Side::Buy, 200.0)],
            vec![
                act(0, Side::Sell, 600.0),
                act(0, Side::Buy, 50.0),
                act(3, Side::Buy, 10.0),
            ],
        ];
        let mut scratch = Scratch::default();
        for acts in cases {
            p.simulate(&acts, &mut scratch);
            let positions = p.end_positions(&scratch);
            let mut full = [0.0; 3];
            for (name, value) in &positions {
                if *value > 0.0 {
                    let sym = p.symbols.get(name).unwrap();
                    add_terms(&mut full, &p.weighted_terms(sym, *value));
                }
            }
            assert_eq!(p.weighted_sums(&mut scratch), Some(full));
        }
    }

    #[test]
    fn an_empty_end_state_scores_one_half_before_adjustments() {
        let p = prepared(0.0);
        let mut scratch = Scratch::default();
        let acts = [act(0, Side::Sell, 600.0), act(1, Side::Sell, 300.0)];
        let e = p.evaluate_base(&acts, p.transaction_cost(&acts), &mut scratch);
        assert!(e.invalid);
        assert_eq!(e.end_state, 0.5);
        assert_eq!(e.risk(), 0.5);
        assert_eq!(e.score, 0.5 - (p.transaction_cost(&acts) / 1000.0) * 0.1);
    }

    #[test]
    fn each_risk_profile_weighs_the_components_differently() {
        let mut p = prepared(0.0);
        let mut scores = Vec::new();
        for profile in [
            RiskProfile::Conservative,
            RiskProfile::Balanced,
            RiskProfile::Aggressive,
        ] {
            p.params.risk_profile = profile;
            p.params.weights = profile.weights();
            let w = profile.weights();
            assert!(
                (w.total_return
                    + w.diversification
                    + w.long_term_promise
                    + w.stability
                    + w.opinion
                    - 1.0)
                    .abs()
                    < 1e-12
            );
            let e = p.evaluate_base(&[], 0.0, &mut Scratch::default());
            let expected = e.weighted_total_return * w.total_return
                + 0.433 * w.diversification
                + e.weighted_long_term_promise * w.long_term_promise
                + e.weighted_stability * w.stability
                + 0.5 * w.opinion;
            assert_eq!(e.end_state, round_py(expected, 3));
            scores.push(e.end_state);
        }
        assert_eq!(RiskProfile::Aggressive.weights().total_return, 0.45);
        assert_eq!(RiskProfile::Conservative.weights().stability, 0.20);
        assert_ne!(scores[0], scores[2]);
    }
}
