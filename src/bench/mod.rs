//! `trading-planner bench`: measured throughput of the evaluator and the exhaustive generator
//! on synthetic inputs.
//!
//! Sequences are produced and consumed in bounded batches, as a planning run does, so memory
//! stays flat however many sequences there are. `evaluate` times scoring only; `generate` times
//! generation through the bounded channel a planning run reads from.

pub(crate) mod load;
pub(crate) mod plan;

use std::sync::Arc;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::coordinator::RunnerError;
use crate::domain::sequence::{Act, SequenceBatch, SymbolTable};
use crate::domain::{ActionCandidate, Opportunities, Side};
use crate::evaluator::engine::{BasePortfolio, EvalParams, Prepared};
use crate::evaluator::modes::Mode;
use crate::evaluator::portfolio_score::PortfolioScoreContext;
use crate::evaluator::run::{BatchOffsets, Beam, score_batch};
use crate::evaluator::symbol_terms::{ScorerInputs, SymbolTerms};
use crate::generator::exhaustive::{Constraints, ExhaustiveGenerator, ExhaustiveSettings};
use crate::store::StoreError;

/// Why a bench could not run; failures the bench measures (a client's error) are counted,
/// not raised.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Pool(#[from] rayon::ThreadPoolBuildError),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Start(#[from] RunnerError),
    #[error("the planning run failed: {0}")]
    Run(String),
}

/// The running binary's size, architecture and build, printed with every bench: on the board
/// the size is part of the budget, and figures from a debug build are not comparable.
pub fn binary_summary() -> String {
    let size = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map_or_else(
            |_| "unknown size".to_owned(),
            |m| format!("{} bytes", m.len()),
        );
    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimized build"
    };
    format!("binary: {size}, {}, {build}", std::env::consts::ARCH)
}

#[derive(Clone, Debug)]
pub struct EvaluateBench {
    pub positions: usize,
    pub sequences: usize,
    pub max_depth: usize,
    pub threads: usize,
    pub runs: usize,
    pub batch_size: usize,
    pub beam_width: usize,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct EvaluateBenchReport {
    /// Sequences per second of each run.
    pub rates: Vec<f64>,
    pub median_rate: f64,
    pub best_score: f64,
    pub peak_rss_bytes: Option<u64>,
}

/// A synthetic universe: `positions` held symbols and half as many more that can be bought, each
/// with plausible metrics.
pub fn synthetic_portfolio(positions: usize, seed: u64) -> Prepared {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let universe = positions + positions / 2 + 1;
    let mut symbols = SymbolTable::default();
    let mut terms = Vec::with_capacity(universe);
    for i in 0..universe {
        symbols.intern(&format!("SYN{i:04}.EU"));
        let inputs = ScorerInputs {
            cagr_5y: Some(rng.random_range(-0.05..0.25)),
            dividend_yield: Some(rng.random_range(0.0..0.06)),
            consistency: Some(rng.random_range(0.2..1.0)),
            monte_carlo_volatility: Some(rng.random_range(0.1..0.6)),
            ..ScorerInputs::default()
        };
        terms.push(SymbolTerms::new(&inputs, true));
    }
    let held: Vec<(u32, f64)> = (0..positions)
        .map(|i| (i as u32, rng.random_range(500.0..20_000.0)))
        .collect();
    let invested: f64 = held.iter().map(|p| p.1).sum();
    let total_value = invested / 0.9;
    let diversification = PortfolioScoreContext::default()
        .score(&[], total_value)
        .total
        / 100.0;
    let base = BasePortfolio {
        positions: held,
        total_value,
        start_cash: total_value * 0.05,
        diversification,
    };
    Prepared::new(symbols, terms, &base, EvalParams::default())
}

/// Fills `batch` with `count` random sequences of depth 1..=`max_depth`: sells of held symbols
/// first, then buys, no symbol twice.
pub fn fill_random_sequences(
    batch: &mut SequenceBatch,
    count: usize,
    max_depth: usize,
    held: usize,
    universe: usize,
    rng: &mut ChaCha8Rng,
) {
    batch.clear();
    let mut used = [u32::MAX; 16];
    for _ in 0..count {
        let depth = rng.random_range(1..=max_depth.clamp(1, used.len()));
        let sells = rng.random_range(0..=depth);
        for k in 0..depth {
            let sell = k < sells && held > 0;
            let symbol = loop {
                let s = if sell {
                    rng.random_range(0..held)
                } else {
                    rng.random_range(0..universe)
                } as u32;
                if !used[..k].contains(&s) {
                    break s;
                }
            };
            used[k] = symbol;
            let price: f64 = rng.random_range(5.0..500.0);
            let quantity: i64 = rng.random_range(1..40);
            batch.push_act(Act {
                symbol,
                side: if sell { Side::Sell } else { Side::Buy },
                quantity,
                price,
                value_eur: quantity as f64 * price,
                priority: rng.random_range(0.0..1.0),
            });
        }
        batch.end_sequence();
    }
}

pub fn run_evaluate_bench(
    bench: &EvaluateBench,
) -> Result<EvaluateBenchReport, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(bench.threads)
        .build()?;
    let prepared = synthetic_portfolio(bench.positions, bench.seed);
    let universe = prepared.symbols.len();
    let mut rates = Vec::with_capacity(bench.runs);
    let mut best_score = f64::NAN;
    let batch_size = bench.batch_size.max(1);
    let mut batch = SequenceBatch::with_capacity(batch_size, batch_size * bench.max_depth);
    for _ in 0..bench.runs.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(bench.seed ^ 0x5eed);
        let mut beam = Beam::new(bench.beam_width, false);
        let mut scoring = std::time::Duration::ZERO;
        let mut done = 0;
        while done < bench.sequences {
            let count = batch_size.min(bench.sequences - done);
            fill_random_sequences(
                &mut batch,
                count,
                bench.max_depth,
                bench.positions,
                universe,
                &mut rng,
            );
            let offsets = BatchOffsets {
                arrival: done as u64,
                stream: done as u64,
            };
            let started = Instant::now();
            pool.install(|| score_batch(&prepared, &Mode::Base, &batch, None, offsets, &mut beam));
            scoring += started.elapsed();
            done += count;
        }
        rates.push(bench.sequences as f64 / scoring.as_secs_f64());
        best_score = beam.members().first().map_or(f64::NAN, |m| m.score);
    }
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    let median_rate = sorted[sorted.len() / 2];
    Ok(EvaluateBenchReport {
        rates,
        median_rate,
        best_score,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Clone, Debug)]
pub struct GenerateBench {
    pub candidates: usize,
    pub max_depth: usize,
    pub threads: usize,
    pub runs: usize,
    pub batch_size: usize,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct GenerateBenchReport {
    pub sequences: u64,
    /// Wall-clock seconds of each run.
    pub seconds: Vec<f64>,
    pub median_seconds: f64,
    pub peak_rss_bytes: Option<u64>,
}

/// `candidates` candidates on distinct symbols, half sells and half buys spread over the buy
/// categories, with cash enough for any combination: nothing is pruned, so the count is the
/// number of combinations.
pub fn synthetic_opportunities(candidates: usize, seed: u64) -> (Opportunities, Constraints) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut opportunities = Opportunities::default();
    let mut buys_value = 0.0;
    for i in 0..candidates {
        let side = if i % 2 == 0 { Side::Sell } else { Side::Buy };
        let price: f64 = rng.random_range(5.0..500.0);
        let quantity: i64 = rng.random_range(1..40);
        let value_eur = quantity as f64 * price;
        let candidate = ActionCandidate {
            side,
            symbol: format!("SYN{i:04}.EU"),
            name: format!("Synthetic {i}"),
            quantity,
            price,
            value_eur,
            currency: "EUR".into(),
            priority: rng.random_range(0.0..1.0),
            reason: "synthetic".into(),
            tags: Vec::new(),
        };
        let list = match (side, i % 3) {
            (Side::Sell, 0) => &mut opportunities.profit_taking,
            (Side::Sell, _) => &mut opportunities.rebalance_sells,
            (Side::Buy, 0) => &mut opportunities.averaging_down,
            (Side::Buy, 1) => &mut opportunities.rebalance_buys,
            (Side::Buy, _) => &mut opportunities.opportunity_buys,
        };
        if side == Side::Buy {
            buys_value += value_eur * 1.01 + 2.0;
        }
        list.push(candidate);
    }
    opportunities.sort_by_priority();
    let constraints = Constraints {
        available_cash: buys_value,
        transaction_cost_fixed: 2.0,
        transaction_cost_percent: 0.002,
        min_trade_value: 0.0,
        ..Constraints::default()
    };
    (opportunities, constraints)
}

pub fn run_generate_bench(
    bench: &GenerateBench,
) -> Result<GenerateBenchReport, rayon::ThreadPoolBuildError> {
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(bench.threads)
            .build()?,
    );
    let (opportunities, constraints) = synthetic_opportunities(bench.candidates, bench.seed);
    let settings = ExhaustiveSettings {
        max_depth: bench.max_depth,
        ..ExhaustiveSettings::default()
    };
    let mut seconds = Vec::with_capacity(bench.runs);
    let mut sequences = 0;
    for _ in 0..bench.runs.max(1) {
        let started = Instant::now();
        let generator = Arc::new(ExhaustiveGenerator::new(
            &opportunities,
            &constraints,
            &settings,
        ));
        let (batches, handle) = generator.spawn_stream(pool.clone(), bench.batch_size, 2);
        let mut received = 0u64;
        for batch in batches {
            received += batch.len() as u64;
        }
        let summary = handle.join().expect("the generator thread does not panic");
        seconds.push(started.elapsed().as_secs_f64());
        debug_assert_eq!(summary.sequences, received);
        sequences = received;
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(GenerateBenchReport {
        sequences,
        median_seconds: sorted[sorted.len() / 2],
        seconds,
        peak_rss_bytes: peak_rss_bytes(),
    })
}
