//! One native planning run on a snapshot: the investor's targets per security, then the
//! allocation search for the whole-lot trades that bring the portfolio closest to them for
//! their fees (DESIGN §2a), within a time budget and cancellable.
//!
//! Deterministic for the same snapshot and settings, whatever the thread count: candidates are
//! weighed in parallel and gathered in one order. Only a run cut short by its time budget
//! depends on the machine's speed, and it says so in its stop reason.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::book::{book, policy};
pub use super::search::StopReason;
use super::snapshot::Snapshot;
use crate::allocation::{self, Plan};
use crate::config::PlannerConfig;

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

/// What a run found.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub plan: Plan,
    /// Search steps taken (one per trade the plan could hold).
    pub batches: u64,
    /// Candidate trades weighed.
    pub sequences_evaluated: u64,
    pub stop: StopReason,
    pub elapsed_secs: f64,
}

/// Runs the planner on `snapshot`; `cancel` is polled between search steps; `progress` is
/// called at each phase.
pub fn plan(
    snapshot: &Snapshot,
    config: &PlannerConfig,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(RunProgress),
) -> RunResult {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(config.time_budget_secs.max(0.0));
    let mut report = |phase, evaluated, best: Option<f64>| {
        progress(RunProgress {
            phase,
            batches: 0,
            sequences_evaluated: evaluated,
            best_score: best,
            elapsed: started.elapsed(),
            sequences_expected: None,
        });
    };
    report("targets", 0, None);
    let book = book(snapshot);
    let mut policy = policy(snapshot);
    policy.beam_width = policy.beam_width.max(1);
    report("searching", 0, None);
    let out_of_time = AtomicBool::new(false);
    let stopped = || {
        if Instant::now() >= deadline {
            out_of_time.store(true, Ordering::Relaxed);
        }
        cancel.load(Ordering::Relaxed) || out_of_time.load(Ordering::Relaxed)
    };
    let plan = pool.install(|| allocation::plan(&book, &policy, &stopped));
    let stop = if cancel.load(Ordering::Relaxed) {
        StopReason::Cancelled
    } else if out_of_time.load(Ordering::Relaxed) {
        StopReason::Budget
    } else {
        StopReason::Exhausted
    };
    let (_, after) = plan.scores();
    report("done", plan.evaluated, Some(after / 100.0));
    RunResult {
        batches: plan.steps_searched,
        sequences_evaluated: plan.evaluated,
        plan,
        stop,
        elapsed_secs: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
