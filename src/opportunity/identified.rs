//! The answer of both identification paths: the candidates, what was left out and why, and the
//! windfall metrics the caller may store.

use serde::Serialize;

use crate::domain::Opportunities;

use super::rejection::Rejection;

/// Which of the two algorithms produced a result (spec §1.1 path selection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentificationPath {
    /// Optimizer target weights (§3.2).
    Weights,
    /// Heuristic calculators (§3.3).
    Heuristic,
}

/// The windfall numbers computed for one position. The reference writes them to its metrics
/// cache as `EXCESS_GAIN` and `WINDFALL_SCORE` (both unrounded) while identifying; this module
/// does no I/O, so it hands them back for the caller to store.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindfallMetrics {
    pub symbol: String,
    pub excess_gain: f64,
    pub windfall_score: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identified {
    pub path: IdentificationPath,
    /// The five categories, each sorted by priority, highest first (stable).
    pub opportunities: Opportunities,
    /// Candidates considered and not produced, in the order they were considered.
    pub rejected: Vec<Rejection>,
    /// Heuristic path only: one entry per position assessed for profit taking.
    pub windfall: Vec<WindfallMetrics>,
}

impl Identified {
    pub fn new(path: IdentificationPath) -> Self {
        Identified {
            path,
            opportunities: Opportunities::default(),
            rejected: Vec::new(),
            windfall: Vec::new(),
        }
    }

    pub(crate) fn reject(&mut self, rejection: Rejection) {
        self.rejected.push(rejection);
    }
}
