//! Per-sequence scoring modes: the base evaluation, stochastic price scenarios (spec §5.7) and
//! Monte Carlo price paths (spec §5.6).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::engine::{BaseEval, Prepared, Scratch};
use crate::domain::sequence::Act;

/// How each sequence is scored.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Base,
    Stochastic { shifts: Vec<f64> },
    MonteCarlo { paths: usize, seed: u64 },
}

/// Aggregates of the stochastic scenarios.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StochasticStats {
    pub avg: f64,
    pub worst: f64,
    pub final_score: f64,
    pub scenarios: usize,
}

/// Aggregates of the Monte Carlo paths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonteCarloStats {
    pub paths: usize,
    pub avg: f64,
    pub worst: f64,
    pub best: f64,
    pub p10: f64,
    pub p90: f64,
    pub final_score: f64,
}

/// The score of one sequence and the evaluation whose breakdown the reference reports with it
/// (the middle scenario or path).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    pub score: f64,
    pub representative: BaseEval,
}

/// What a breakdown needs beyond the outcome; filled only for the sequences of the final beam.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    /// Price multipliers of the representative evaluation (symbol index, multiplier).
    pub adjustments: Vec<(u32, f64)>,
    pub stochastic: Option<StochasticStats>,
    pub monte_carlo: Option<MonteCarloStats>,
}

impl Prepared {
    /// Scores one sequence under `mode`. `stream` selects the Monte Carlo random stream (the
    /// sequence's index in its request), so a sequence's score does not depend on which thread
    /// scored it or in which order.
    pub fn evaluate(
        &self,
        mode: &Mode,
        acts: &[Act],
        stream: u64,
        scratch: &mut Scratch,
        details: Option<&mut Details>,
    ) -> Outcome {
        let cost = self.transaction_cost(acts);
        match mode {
            Mode::Base => {
                scratch.adjustments.clear();
                let e = self.evaluate_base(acts, cost, scratch);
                Outcome {
                    score: e.score,
                    representative: e,
                }
            }
            Mode::Stochastic { shifts } => self.stochastic(acts, cost, shifts, scratch, details),
            Mode::MonteCarlo { paths, seed } => {
                self.monte_carlo(acts, cost, *paths, *seed, stream, scratch, details)
            }
        }
    }

    /// Distinct symbols of the sequence that have a price, in first-occurrence order.
    fn shocked_symbols(&self, acts: &[Act], scratch: &mut Scratch) {
        scratch.shocked.clear();
        for a in acts {
            if self.terms[a.symbol as usize].has_price && !scratch.shocked.contains(&a.symbol) {
                scratch.shocked.push(a.symbol);
            }
        }
    }

    fn stochastic(
        &self,
        acts: &[Act],
        cost: f64,
        shifts: &[f64],
        scratch: &mut Scratch,
        details: Option<&mut Details>,
    ) -> Outcome {
        self.shocked_symbols(acts, scratch);
        let middle = shifts.len() / 2;
        let mut representative = None;
        let mut sum = 0.0;
        let mut worst = f64::INFINITY;
        let mut middle_adjustments = Vec::new();
        for (i, shift) in shifts.iter().enumerate() {
            let multiplier = 1.0 + shift;
            scratch.adjustments.clear();
            for k in 0..scratch.shocked.len() {
                let sym = scratch.shocked[k];
                scratch.adjustments.push((sym, multiplier));
            }
            let e = self.evaluate_base(acts, cost, scratch);
            sum += e.score;
            if e.score < worst {
                worst = e.score;
            }
            if i == middle {
                representative = Some(e);
                if details.is_some() {
                    middle_adjustments = scratch.adjustments.clone();
                }
            }
        }
        let n = shifts.len();
        let avg = sum / n as f64;
        let final_score = 0.6 * worst + 0.4 * avg;
        if let Some(d) = details {
            d.adjustments = middle_adjustments;
            d.stochastic = Some(StochasticStats {
                avg,
                worst,
                final_score,
                scenarios: n,
            });
        }
        Outcome {
            score: final_score,
            representative: representative.expect("validated: at least one shift"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn monte_carlo(
        &self,
        acts: &[Act],
        cost: f64,
        paths: usize,
        seed: u64,
        stream: u64,
        scratch: &mut Scratch,
        details: Option<&mut Details>,
    ) -> Outcome {
        self.shocked_symbols(acts, scratch);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        let daily = 1.0 / 252f64.sqrt();
        let middle = paths / 2;
        let mut representative = None;
        let mut middle_adjustments = Vec::new();
        scratch.scores.clear();
        for path in 0..paths {
            scratch.adjustments.clear();
            for k in 0..scratch.shocked.len() {
                let sym = scratch.shocked[k];
                let z: f64 = StandardNormal.sample(&mut rng);
                let volatility = self.terms[sym as usize].volatility;
                let multiplier = ((volatility * daily) * z).exp().clamp(0.5, 2.0);
                scratch.adjustments.push((sym, multiplier));
            }
            let e = self.evaluate_base(acts, cost, scratch);
            scratch.scores.push(e.score);
            if path == middle {
                representative = Some(e);
                if details.is_some() {
                    middle_adjustments = scratch.adjustments.clone();
                }
            }
        }
        let scores = &mut scratch.scores;
        let n = scores.len();
        let avg = scores.iter().sum::<f64>() / n as f64;
        let worst = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        scores.sort_unstable_by(f64::total_cmp);
        let p10 = scores[(n as f64 * 0.10) as usize];
        let p90 = scores[((n as f64 * 0.90) as usize).min(n - 1)];
        let final_score = 0.4 * worst + 0.3 * p10 + 0.3 * avg;
        if let Some(d) = details {
            d.adjustments = middle_adjustments;
            d.monte_carlo = Some(MonteCarloStats {
                paths: n,
                avg,
                worst,
                best,
                p10,
                p90,
                final_score,
            });
        }
        Outcome {
            score: final_score,
            representative: representative.expect("validated: at least ten paths"),
        }
    }
}
