//! One native planning run on a snapshot: heuristic opportunities, the exhaustive (or the
//! reference's) generator streaming batches, parallel scoring with the `corrected` profile, a
//! global beam, early termination, a time budget and cancellation.
//!
//! Deterministic for the same snapshot and settings: batches arrive in one order whatever the
//! thread count and the beam breaks ties by arrival. Only a run cut short by its time budget
//! depends on the machine's speed, and it says so in its stop reason.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use super::search::StopReason;
use super::search::{PlateauRule, Search, StopRules};
use super::snapshot::Snapshot;
use crate::config::PlannerConfig;
use crate::domain::sequence::{Act, SequenceBatch, SymbolTable};
use crate::domain::{ActionCandidate, Opportunities};
use crate::evaluator::ScoringProfile;
use crate::evaluator::breakdown::Breakdown;
use crate::evaluator::engine::{BasePortfolio, EvalParams, Prepared, Scratch};
use crate::evaluator::modes::{Details, Mode};
use crate::evaluator::portfolio_score::PortfolioScoreContext;
use crate::evaluator::run::{BatchOffsets, Beam, score_batch};
use crate::evaluator::symbol_terms::{ScorerInputs, SymbolTerms};
use crate::generator::exhaustive::{
    Constraints, ExhaustiveGenerator, ExhaustiveSettings, PrunedCandidate,
};
use crate::opportunity::heuristic::identify_heuristic;
use crate::opportunity::rejection::Rejection;

/// Progress as a run reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunProgress {
    pub phase: &'static str,
    pub batches: u64,
    pub sequences_evaluated: u64,
    pub best_score: Option<f64>,
    pub elapsed: Duration,
    pub sequences_expected: Option<u64>,
}

/// The best sequence of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestSequence {
    pub actions: Vec<ActionCandidate>,
    pub score: f64,
    pub breakdown: Breakdown,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The score of the portfolio as it is (no trade).
    pub score_before: f64,
    pub best: Option<BestSequence>,
    pub opportunities: Opportunities,
    pub rejected: Vec<Rejection>,
    pub pruned: Vec<PrunedCandidate>,
    pub batches: u64,
    pub sequences_evaluated: u64,
    pub stop: StopReason,
    pub elapsed_secs: f64,
}

/// Runs the planner on `snapshot`; `cancel` is polled between batches; `progress` is called
/// after each phase and batch.
pub fn plan(
    snapshot: &Snapshot,
    config: &PlannerConfig,
    batch_size: usize,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(RunProgress),
) -> RunResult {
    let started = Instant::now();
    let budget = Duration::from_secs_f64(config.time_budget_secs);
    let mut report = |phase, batches, evaluated, best: Option<f64>, expected| {
        progress(RunProgress {
            phase,
            batches,
            sequences_evaluated: evaluated,
            best_score: best,
            elapsed: started.elapsed(),
            sequences_expected: expected,
        });
    };
    report("opportunities", 0, 0, None, None);
    let mut identified =
        identify_heuristic(&snapshot.heuristic_inputs(), &snapshot.heuristic_env());
    whole_lots(&mut identified.opportunities, snapshot);

    let constraints = Constraints {
        available_cash: snapshot.available_cash_eur,
        transaction_cost_fixed: snapshot.heuristic.transaction_cost_fixed,
        transaction_cost_percent: snapshot.heuristic.transaction_cost_percent,
        min_trade_value: snapshot.min_trade_value_eur,
        securities: snapshot.securities.clone(),
        held: Some(
            snapshot
                .positions
                .iter()
                .map(|p| (p.symbol.clone(), p.quantity))
                .collect(),
        ),
        buy_blocked: snapshot.buy_blocked().into_iter().collect(),
        sell_blocked: Default::default(),
    };
    let settings = ExhaustiveSettings {
        max_depth: config.max_depth,
        max_sequences: Some(config.max_sequences),
        max_candidates_per_side: Some(config.max_candidates.div_ceil(2)),
    };
    let generator = ExhaustiveGenerator::new(&identified.opportunities, &constraints, &settings);
    let prepared = prepare(snapshot, generator.symbols());
    let mode = Mode::Base;
    let mut scratch = Scratch::default();
    let score_before = prepared.evaluate(&mode, &[], 0, &mut scratch, None).score;

    // A counting pass (much cheaper than scoring) gives progress an end to measure against.
    let expected = generator.count(pool).min(config.max_sequences);
    let mut beam = Beam::new(config.beam_width, false);
    // The acts of the sequences in the beam, by arrival; batches are dropped once scored.
    let mut kept: HashMap<u64, Vec<Act>> = HashMap::new();
    let mut evaluated = 0u64;
    let mut search = Search::new(
        StopRules {
            cancel: Some(cancel),
            deadline: started.checked_add(budget),
            plateau: (config.plateau_batches > 0).then_some(PlateauRule {
                min_batches: u64::from(config.min_batches),
                batches: u64::from(config.plateau_batches),
            }),
        },
        None,
    );
    let mut stop = StopReason::Exhausted;
    report("evaluating", 0, 0, Some(score_before), Some(expected));
    let summary = generator.for_each_batch(pool, batch_size, |batch: SequenceBatch| {
        let offsets = BatchOffsets {
            arrival: evaluated,
            stream: evaluated,
        };
        pool.install(|| score_batch(&prepared, &mode, &batch, None, offsets, &mut beam));
        let members = beam.members();
        for member in &members {
            if member.arrival >= evaluated {
                kept.insert(
                    member.arrival,
                    batch.sequence(member.sequence as usize).to_vec(),
                );
            }
        }
        kept.retain(|arrival, _| members.iter().any(|m| m.arrival == *arrival));
        evaluated += batch.len() as u64;
        let next = search.after_batch(members.first().map(|m| m.score), false);
        report(
            "evaluating",
            search.batches(),
            evaluated,
            search.best(),
            Some(expected),
        );
        next.map_break(|reason| stop = reason)
    });
    let batches = search.batches();
    if stop == StopReason::Exhausted && summary.capped {
        stop = StopReason::SequenceCap;
    }

    let best = beam.members().first().and_then(|member| {
        let acts = kept.get(&member.arrival)?;
        let mut details = Details::default();
        let outcome = prepared.evaluate(
            &mode,
            acts,
            member.arrival,
            &mut scratch,
            Some(&mut details),
        );
        Some(BestSequence {
            actions: acts
                .iter()
                .map(|a| generator.candidate_of(a).clone())
                .collect(),
            score: outcome.score,
            breakdown: Breakdown::build(&prepared, &outcome.representative, &details),
        })
    });
    // A plan must beat doing nothing.
    let best = best.filter(|b| b.score > score_before);
    report(
        "done",
        batches,
        evaluated,
        best.as_ref().map(|b| b.score),
        None,
    );
    RunResult {
        score_before,
        best,
        opportunities: identified.opportunities,
        rejected: identified.rejected,
        pruned: generator.pruned().to_vec(),
        batches,
        sequences_evaluated: evaluated,
        stop,
        elapsed_secs: started.elapsed().as_secs_f64(),
    }
}

/// Rounds every candidate down to whole lots of its security (a broker refuses anything else),
/// scaling its value with it; a candidate smaller than one lot is dropped.
fn whole_lots(opportunities: &mut Opportunities, snapshot: &Snapshot) {
    let lots: HashMap<&str, i64> = snapshot
        .securities
        .iter()
        .map(|s| (s.symbol.as_str(), s.min_lot.max(1)))
        .collect();
    for category in crate::domain::Category::ALL {
        opportunities.list_mut(category).retain_mut(|action| {
            let lot = lots.get(action.symbol.as_str()).copied().unwrap_or(1);
            let whole = action.quantity - action.quantity.rem_euclid(lot);
            if whole <= 0 {
                return false;
            }
            if whole != action.quantity {
                action.value_eur *= whole as f64 / action.quantity as f64;
                action.quantity = whole;
            }
            true
        });
    }
}

/// The scoring of the snapshot's portfolio, with the generator's symbols first so its acts
/// index the right terms.
fn prepare(snapshot: &Snapshot, generator_symbols: &SymbolTable) -> Prepared {
    let mut symbols = generator_symbols.clone();
    let positions: Vec<(u32, f64)> = snapshot
        .positions
        .iter()
        .map(|p| (symbols.intern(&p.symbol), p.value_eur))
        .collect();
    let no_rows = HashMap::new();
    let terms = symbols
        .names()
        .iter()
        .map(|s| {
            let inputs = ScorerInputs::from_metrics(
                ScoringProfile::Corrected,
                Some(snapshot.metrics.get(s).unwrap_or(&no_rows)),
            );
            SymbolTerms::new(&inputs, true)
        })
        .collect();
    let diversification = PortfolioScoreContext::default()
        .score(&[], snapshot.total_value_eur)
        .total
        / 100.0;
    let params = EvalParams {
        transaction_cost_fixed: snapshot.heuristic.transaction_cost_fixed,
        transaction_cost_percent: snapshot.heuristic.transaction_cost_percent,
        ..EvalParams::default()
    };
    let base = BasePortfolio {
        positions,
        total_value: snapshot.total_value_eur,
        start_cash: snapshot.available_cash_eur,
        diversification,
    };
    Prepared::new(symbols, terms, &base, params)
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
