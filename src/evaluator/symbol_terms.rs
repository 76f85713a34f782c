//! Per-symbol score terms, computed once per batch from the metrics store (spec §4.2.1–4.2.4).
//!
//! The end-state score of every sequence is a value-weighted sum of three per-symbol scores (total
//! return, long-term promise, stability). They depend only on a symbol's metrics, so they are
//! computed here once and the hot loop only multiplies by weights.

use std::collections::HashMap;

use super::curves::{
    drawdown_score, payout_consistency_score, sharpe_score, sortino_score, total_return_score,
    volatility_score,
};
use super::settings::ScoringProfile;
use crate::domain::round_py;

/// The metric names the reference evaluator service requests (`_fetch_metrics_batch`). Only the
/// first three match a key the scorer reads; a requested name without a row becomes 0.0.
pub const EVALUATOR_METRIC_NAMES: [&str; 12] = [
    "CAGR_5Y",
    "DIVIDEND_YIELD",
    "CONSISTENCY_SCORE",
    "P_E_RATIO",
    "P_B_RATIO",
    "DEBT_TO_EQUITY",
    "DIVIDEND_PAYOUT_RATIO",
    "DIVIDEND_GROWTH_3Y",
    "MAX_DRAWDOWN_5Y",
    "VOLATILITY_5Y",
    "SHARPE_RATIO",
    "SORTINO_RATIO",
];

/// The keys the end-state scorer reads, each with the alternative spelling the corrected profile
/// falls back to when the scorer's own name has no row.
const SCORER_KEYS: [(&str, Option<&str>); 10] = [
    ("CAGR_5Y", None),
    ("DIVIDEND_YIELD", None),
    ("CONSISTENCY_SCORE", None),
    ("FINANCIAL_STRENGTH", None),
    ("DIVIDEND_CONSISTENCY", None),
    ("PAYOUT_RATIO", Some("DIVIDEND_PAYOUT_RATIO")),
    ("SORTINO", Some("SORTINO_RATIO")),
    ("VOLATILITY_ANNUAL", Some("VOLATILITY_5Y")),
    ("MAX_DRAWDOWN", Some("MAX_DRAWDOWN_5Y")),
    ("SHARPE", Some("SHARPE_RATIO")),
];

/// Metric names a profile needs from the store.
pub fn metric_names(profile: ScoringProfile) -> Vec<&'static str> {
    match profile {
        ScoringProfile::PythonCompat => EVALUATOR_METRIC_NAMES.to_vec(),
        ScoringProfile::Corrected => {
            let mut names = Vec::new();
            for (key, alias) in SCORER_KEYS {
                names.push(key);
                names.extend(alias);
            }
            names
        }
    }
}

/// What the scorer sees for one symbol: `None` is a key absent from its metrics dict (the
/// scorer's documented default applies), `Some(v)` a present key.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScorerInputs {
    pub cagr_5y: Option<f64>,
    pub dividend_yield: Option<f64>,
    pub consistency: Option<f64>,
    pub financial_strength: Option<f64>,
    pub dividend_consistency: Option<f64>,
    pub payout_ratio: Option<f64>,
    pub sortino: Option<f64>,
    pub volatility_annual: Option<f64>,
    pub max_drawdown: Option<f64>,
    pub sharpe: Option<f64>,
    /// Annual volatility for Monte Carlo shocks, before clamping; `None` → default 0.2.
    pub monte_carlo_volatility: Option<f64>,
}

impl ScorerInputs {
    /// Builds the scorer's view of one symbol's stored metrics under a profile. `stored` is
    /// `None` when the symbol was not fetched at all (the reference's `{}`).
    pub fn from_metrics(profile: ScoringProfile, stored: Option<&HashMap<String, f64>>) -> Self {
        let Some(stored) = stored else {
            return ScorerInputs::default();
        };
        match profile {
            ScoringProfile::PythonCompat => {
                // Every requested name is present; a missing row reads as 0.0.
                let requested = |name: &str| Some(stored.get(name).copied().unwrap_or(0.0));
                ScorerInputs {
                    cagr_5y: requested("CAGR_5Y"),
                    dividend_yield: requested("DIVIDEND_YIELD"),
                    consistency: requested("CONSISTENCY_SCORE"),
                    monte_carlo_volatility: requested("VOLATILITY_5Y"),
                    ..ScorerInputs::default()
                }
            }
            ScoringProfile::Corrected => {
                let read = |index: usize| {
                    let (key, alias) = SCORER_KEYS[index];
                    stored
                        .get(key)
                        .or_else(|| alias.and_then(|a| stored.get(a)))
                        .copied()
                };
                ScorerInputs {
                    cagr_5y: read(0),
                    dividend_yield: read(1),
                    consistency: read(2),
                    financial_strength: read(3),
                    dividend_consistency: read(4),
                    payout_ratio: read(5),
                    sortino: read(6),
                    volatility_annual: read(7),
                    max_drawdown: read(8),
                    sharpe: read(9),
                    monte_carlo_volatility: read(7),
                }
            }
        }
    }

    /// Total-return score, rounded to 3 decimals as the reference does before weighting.
    pub fn total_return(&self) -> f64 {
        let r = self.cagr_5y.unwrap_or(0.0) + self.dividend_yield.unwrap_or(0.0);
        round_py(total_return_score(r), 3)
    }

    /// Long-term promise, rounded to 3 decimals.
    pub fn long_term_promise(&self) -> f64 {
        let consistency = self.consistency.unwrap_or(0.5);
        let financial = self.financial_strength.unwrap_or(0.5);
        let dividend_consistency = match (self.dividend_consistency, self.payout_ratio) {
            (Some(d), _) => d,
            (None, Some(p)) => payout_consistency_score(p),
            (None, None) => 0.5,
        };
        let sortino = self.sortino.map(sortino_score).unwrap_or(0.5);
        let raw =
            0.35 * consistency + 0.25 * financial + 0.25 * dividend_consistency + 0.15 * sortino;
        round_py(raw.min(1.0), 3)
    }

    /// Stability, rounded to 3 decimals.
    pub fn stability(&self) -> f64 {
        let volatility = match self.volatility_annual {
            Some(v) if v > 0.0 => volatility_score(v),
            _ => 0.5,
        };
        let drawdown = self.max_drawdown.map(drawdown_score).unwrap_or(0.5);
        let sharpe = self.sharpe.map(sharpe_score).unwrap_or(0.5);
        let raw = 0.50 * volatility + 0.30 * drawdown + 0.20 * sharpe;
        round_py(raw.min(1.0), 3)
    }

    /// Annual volatility used by Monte Carlo: a present value is clamped to [0.1, 1.0] (so a
    /// missing-but-requested 0.0 becomes 0.1); an absent key is 0.2.
    pub fn monte_carlo_volatility(&self) -> f64 {
        match self.monte_carlo_volatility {
            Some(v) => v.clamp(0.1, 1.0),
            None => 0.2,
        }
    }
}

/// The precomputed terms of one symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SymbolTerms {
    pub total_return: f64,
    pub long_term_promise: f64,
    pub stability: f64,
    pub volatility: f64,
    /// Whether the symbol is in the request's price map: only such symbols get price shocks.
    pub has_price: bool,
}

impl SymbolTerms {
    pub fn new(inputs: &ScorerInputs, has_price: bool) -> Self {
        SymbolTerms {
            total_return: inputs.total_return(),
            long_term_promise: inputs.long_term_promise(),
            stability: inputs.stability(),
            volatility: inputs.monte_carlo_volatility(),
            has_price,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn compat_reads_only_three_keys_and_missing_requested_names_are_zero() {
        let m = stored(&[
            ("CAGR_5Y", 0.10),
            ("SHARPE", 1.5),
            ("VOLATILITY_ANNUAL", 0.2),
            ("PAYOUT_RATIO", 0.4),
        ]);
        let inputs = ScorerInputs::from_metrics(ScoringProfile::PythonCompat, Some(&m));
        assert_eq!(
            inputs.consistency,
            Some(0.0),
            "requested but missing reads 0.0"
        );
        assert_eq!(
            (inputs.sharpe, inputs.volatility_annual, inputs.payout_ratio),
            (None, None, None)
        );
        assert_eq!(
            inputs.long_term_promise(),
            round_py(0.325, 3),
            "0.35*0 + 0.325"
        );
        assert_eq!(
            inputs.stability(),
            0.5,
            "stability is always 0.5 under the evaluator's names"
        );
        assert_eq!(
            inputs.monte_carlo_volatility(),
            0.1,
            "missing VOLATILITY_5Y is 0.0, clamped up"
        );
        assert_eq!(inputs.total_return(), round_py(total_return_score(0.10), 3));
    }

    #[test]
    fn a_symbol_that_was_not_fetched_takes_every_default() {
        let inputs = ScorerInputs::from_metrics(ScoringProfile::PythonCompat, None);
        assert_eq!(
            (
                inputs.total_return(),
                inputs.long_term_promise(),
                inputs.stability()
            ),
            (0.15, 0.5, 0.5)
        );
        assert_eq!(inputs.monte_carlo_volatility(), 0.2);
    }

    #[test]
    fn corrected_reads_scorer_keys_then_alternative_spellings_then_defaults() {
        let m = stored(&[
            ("SHARPE_RATIO", 1.2),
            ("VOLATILITY_5Y", 0.18),
            ("DIVIDEND_PAYOUT_RATIO", 0.7),
            ("SHARPE", 2.5),
        ]);
        let inputs = ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(&m));
        assert_eq!(inputs.sharpe, Some(2.5), "the scorer's own name wins");
        assert_eq!(inputs.volatility_annual, Some(0.18));
        assert_eq!(inputs.payout_ratio, Some(0.7));
        assert_eq!(inputs.consistency, None);
        // LP: consistency 0.5, financial 0.5, dividend consistency from payout 0.7, sortino 0.5.
        let lp = 0.35 * 0.5 + 0.25 * 0.5 + 0.25 * payout_consistency_score(0.7) + 0.15 * 0.5;
        assert_eq!(inputs.long_term_promise(), round_py(lp, 3));
        // ST: volatility 0.18, drawdown absent (0.5), Sharpe 2.5.
        let st = 0.50 * volatility_score(0.18) + 0.30 * 0.5 + 0.20 * 1.0;
        assert_eq!(inputs.stability(), round_py(st, 3));
        assert_eq!(inputs.monte_carlo_volatility(), 0.18);
        let absent = ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(&HashMap::new()));
        assert_eq!(absent.monte_carlo_volatility(), 0.2);
        assert_eq!((absent.long_term_promise(), absent.stability()), (0.5, 0.5));
    }

    #[test]
    fn stored_zeroes_follow_the_scorer_rules() {
        // Volatility 0 is "not > 0" -> 0.5; a drawdown of 0 is a real value -> 1.0; Sharpe 0 -> 0.
        let m = stored(&[
            ("VOLATILITY_ANNUAL", 0.0),
            ("MAX_DRAWDOWN", 0.0),
            ("SHARPE", 0.0),
        ]);
        let inputs = ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(&m));
        assert_eq!(
            inputs.stability(),
            round_py(0.50 * 0.5 + 0.30 * 1.0 + 0.20 * 0.0, 3)
        );
        // Dividend consistency stored directly wins over the payout ratio.
        let m = stored(&[("DIVIDEND_CONSISTENCY", 0.9), ("PAYOUT_RATIO", 0.95)]);
        let inputs = ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(&m));
        assert_eq!(
            inputs.long_term_promise(),
            round_py(0.35 * 0.5 + 0.25 * 0.5 + 0.25 * 0.9 + 0.15 * 0.5, 3)
        );
    }

    #[test]
    fn long_term_promise_and_stability_are_capped_at_one() {
        let m = stored(&[
            ("CONSISTENCY_SCORE", 3.0),
            ("FINANCIAL_STRENGTH", 3.0),
            ("DIVIDEND_CONSISTENCY", 3.0),
            ("SORTINO", 3.0),
        ]);
        assert_eq!(
            ScorerInputs::from_metrics(ScoringProfile::Corrected, Some(&m)).long_term_promise(),
            1.0
        );
    }
}
