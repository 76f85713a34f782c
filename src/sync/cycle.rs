//! One trading cycle (`POST /gateway/trading-cycle`): an optional deposit, one planning run,
//! then its plan's steps executed (paper fills in research mode, broker orders in live mode).
//! The answer is the reference's `TradingCycleResponse`; a cycle that fails after it started
//! is an answer with `success: false`, as the reference reports one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::execution::{ExecutionReport, NoBroker, PlanStep, StepOutcome, execute_steps, on_store};
use crate::coordinator::{Runner, RunnerError};
use crate::domain::Money;
use crate::store::{PlanRecord, PlanStatus, RunStatus, Store, StoreError, TradingMode};
use crate::upstream::Upstreams;

/// The reference's `TradingCycleUpdate`, fields in its order.
#[derive(Debug, Serialize, PartialEq)]
pub struct TradingCycleUpdate {
    pub cycle_id: String,
    pub phase: String,
    pub progress_pct: f64,
    pub message: String,
    pub complete: bool,
    pub success: bool,
    pub error: Option<String>,
    pub results: BTreeMap<String, String>,
}

/// The reference's `TradingCycleResponse`.
#[derive(Debug, Serialize, PartialEq)]
pub struct TradingCycleResponse {
    pub cycle_id: String,
    pub success: bool,
    pub message: String,
    pub final_update: Option<TradingCycleUpdate>,
}

/// Why a cycle could not start; a cycle that started and failed is an answer instead.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// A run is already going (`AlreadyRunning`), or the run could not be recorded.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Why a started cycle stopped before its plan was executed.
#[derive(Debug, PartialEq)]
struct CycleFailure {
    phase: &'static str,
    progress_pct: f64,
    error: String,
}

impl CycleFailure {
    fn planning(error: String) -> CycleFailure {
        CycleFailure {
            phase: "Planning",
            progress_pct: 70.0,
            error,
        }
    }

    fn executing(error: String) -> CycleFailure {
        CycleFailure {
            phase: "Executing Trades",
            progress_pct: 90.0,
            error,
        }
    }
}

/// What a cycle works with.
#[derive(Clone)]
pub struct TradingCycle {
    pub store: Arc<Store>,
    pub runner: Arc<Runner>,
    pub upstreams: Arc<Upstreams>,
}

impl TradingCycle {
    /// Runs one cycle, adding `deposit` to the EUR cash first (refused in live mode, where the
    /// broker's balance is the truth).
    pub async fn run(&self, deposit: Option<Money>) -> Result<TradingCycleResponse, CycleError> {
        let mode = self.on_store(|s| s.trading_mode()).await?;
        if deposit.is_some() && mode == TradingMode::Live {
            return Ok(TradingCycleResponse {
                cycle_id: String::new(),
                success: false,
                message: "deposit_amount is refused in live mode: the broker's cash balance \
                          is the truth, and the cash sync records deposits from it"
                    .to_string(),
                final_update: None,
            });
        }
        if let Some(running) = self.runner.current() {
            return Err(RunnerError::AlreadyRunning {
                run_id: running.run_id,
            }
            .into());
        }
        let deposit = match deposit {
            Some(amount) => self.deposit(amount).await?,
            None => None,
        };
        let runner = Arc::clone(&self.runner);
        // Starting writes the run's row, so it runs on the blocking pool.
        let run_id = match tokio::task::spawn_blocking(move || Runner::start(&runner)).await? {
            Ok(run_id) => run_id,
            Err(error) => {
                // The deposit belonged to this cycle, which does not happen.
                if let Some(id) = deposit {
                    self.on_store(move |s| s.withdraw_deposit(id)).await?;
                }
                // Also a run that started between the check and the start.
                return Err(error.into());
            }
        };
        if deposit.is_some() {
            // The day's value with the deposit in it: the ledger's deposit of the day is taken
            // out of it by the time-weighted return, so a value recorded before the deposit
            // would read as a loss.
            let today = chrono::Local::now().date_naive();
            // The run has started: a failure here is logged, not a reason to stop the cycle.
            let recorded = on_store(&self.store, move |s| {
                crate::portfolio_history::record_today(s, today)
            })
            .await;
            if let Err(error) = recorded
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
            {
                tracing::warn!(%error, "could not record the day's value with the deposit");
            }
        }
        // Its own task, so a client that hangs up does not stop a cycle between two orders.
        let cycle = {
            let this = self.clone();
            let work = async move { this.execute_run(run_id).await };
            match crate::upstream::current_request_id() {
                Some(id) => tokio::spawn(crate::upstream::with_request_id(id, work)),
                None => tokio::spawn(work),
            }
        };
        let outcome = cycle.await.unwrap_or_else(|e| {
            Err(CycleFailure::executing(format!(
                "the cycle's task failed: {e}"
            )))
        });
        Ok(answer(run_id.to_string(), outcome))
    }

    async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, CycleError> {
        Ok(on_store(&self.store, f).await??)
    }

    /// Adds `amount` to its currency's cash and records it in the ledger; the deposit's id,
    /// `None` for an amount that rounds to nothing. A cash sync landing later wins, as it does
    /// over every local change to the balances.
    async fn deposit(&self, amount: Money) -> Result<Option<i64>, CycleError> {
        let at = chrono::Local::now().naive_local();
        let deposit = self.on_store(move |s| s.record_deposit(amount, at)).await?;
        Ok(deposit.map(|d| d.id))
    }

    /// Waits for the run, then executes its plan; the results map of the reference's model.
    async fn execute_run(&self, run_id: i64) -> Result<BTreeMap<String, String>, CycleFailure> {
        let plan_id = self.planned(run_id).await?;
        let Some(plan_id) = plan_id else {
            // Nothing worth doing was found: a successful cycle with nothing to execute.
            let mut results = BTreeMap::new();
            results.insert("run_id".to_string(), run_id.to_string());
            for key in ["filled", "placed", "skipped"] {
                results.insert(key.to_string(), "0".to_string());
            }
            results.insert("plan_id".to_string(), String::new());
            return Ok(results);
        };
        let executing = |e: String| CycleFailure::executing(e);
        let plan = self
            .on_store(move |s| s.plan(plan_id))
            .await
            .map_err(|e| executing(e.to_string()))?
            .ok_or_else(|| executing(format!("plan {plan_id} is gone")))?;
        let steps = plan_steps(&plan);
        let now = chrono::Local::now().naive_local();
        let report = match &self.upstreams.tradernet {
            Some(broker) => execute_steps(&self.store, broker, &steps, now).await,
            None => execute_steps(&self.store, &NoBroker, &steps, now).await,
        };
        let status = if report.is_ok() {
            PlanStatus::Executed
        } else {
            PlanStatus::Failed
        };
        if let Err(e) = self
            .on_store(move |s| s.set_plan_status(plan_id, status))
            .await
        {
            tracing::warn!(plan_id, error = %e, "could not record the plan's status");
        }
        let report = report.map_err(|e| executing(e.to_string()))?;
        Ok(results(run_id, plan_id, steps.len(), &report))
    }

    /// The plan of a successful run (`None` when it found nothing worth doing).
    async fn planned(&self, run_id: i64) -> Result<Option<i64>, CycleFailure> {
        let (status, plan_id, error) = match self.runner.wait(run_id).await {
            Some(outcome) => (outcome.status, outcome.plan_id, outcome.error),
            // Finished so long ago that the runner forgot it: the database has its end.
            None => {
                let run = self
                    .on_store(move |s| s.planning_run(run_id))
                    .await
                    .map_err(|e| CycleFailure::planning(e.to_string()))?
                    .ok_or_else(|| {
                        CycleFailure::planning(format!("planning run {run_id} is unknown"))
                    })?;
                (run.status.as_str(), run.plan_id, run.error)
            }
        };
        if status != RunStatus::Succeeded.as_str() {
            return Err(CycleFailure::planning(format!(
                "planning run {run_id} {status}{}",
                error.as_deref().map_or(String::new(), |e| format!(": {e}"))
            )));
        }
        Ok(plan_id)
    }
}

/// The steps of a stored plan, in order, as the executor takes them.
pub fn plan_steps(plan: &PlanRecord) -> Vec<PlanStep> {
    plan.plan
        .steps
        .iter()
        .enumerate()
        .map(|(n, step)| PlanStep {
            plan_id: plan.id,
            step: n as u32,
            symbol: step.symbol.clone(),
            side: step.side,
            quantity: step.quantity,
        })
        .collect()
}

/// The results map of an executed plan: ids, mode, counts per outcome and why steps were
/// skipped.
fn results(
    run_id: i64,
    plan_id: i64,
    steps: usize,
    report: &ExecutionReport,
) -> BTreeMap<String, String> {
    let count = |f: fn(&StepOutcome) -> bool| report.outcomes.iter().filter(|o| f(o)).count();
    let counts = [
        ("filled", count(|o| matches!(o, StepOutcome::Filled { .. }))),
        ("placed", count(|o| matches!(o, StepOutcome::Placed { .. }))),
        (
            "unconfirmed",
            count(|o| matches!(o, StepOutcome::Unconfirmed { .. })),
        ),
        (
            "already_executed",
            count(|o| matches!(o, StepOutcome::AlreadyExecuted { .. })),
        ),
        (
            "skipped",
            count(|o| matches!(o, StepOutcome::Skipped { .. })),
        ),
    ];
    let mut results = BTreeMap::new();
    results.insert("run_id".to_string(), run_id.to_string());
    results.insert("plan_id".to_string(), plan_id.to_string());
    results.insert("mode".to_string(), report.mode.to_string());
    results.insert("steps".to_string(), steps.to_string());
    for (key, n) in counts {
        results.insert(key.to_string(), n.to_string());
    }
    let reasons: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|o| match o {
            // Steps are numbered from 1 wherever a person reads them.
            StepOutcome::Skipped { step, reason, .. } => {
                Some(format!("step {}: {reason}", step + 1))
            }
            _ => None,
        })
        .collect();
    if !reasons.is_empty() {
        results.insert("skip_reasons".to_string(), reasons.join("; "));
    }
    results
}

/// The answer of a started cycle.
fn answer(
    cycle_id: String,
    outcome: Result<BTreeMap<String, String>, CycleFailure>,
) -> TradingCycleResponse {
    match outcome {
        Ok(results) => {
            let summary = format!(
                "Trading cycle complete ({}): {} filled, {} placed, {} skipped",
                results.get("mode").map_or("", String::as_str),
                results.get("filled").map_or("0", String::as_str),
                results.get("placed").map_or("0", String::as_str),
                results.get("skipped").map_or("0", String::as_str),
            );
            TradingCycleResponse {
                cycle_id: cycle_id.clone(),
                success: true,
                message: summary.clone(),
                final_update: Some(TradingCycleUpdate {
                    cycle_id,
                    phase: "Complete".to_string(),
                    progress_pct: 100.0,
                    message: summary,
                    complete: true,
                    success: true,
                    error: None,
                    results,
                }),
            }
        }
        Err(failure) => TradingCycleResponse {
            cycle_id: cycle_id.clone(),
            success: false,
            message: format!("Trading cycle failed: {}", failure.error),
            final_update: Some(TradingCycleUpdate {
                cycle_id,
                phase: failure.phase.to_string(),
                progress_pct: failure.progress_pct,
                message: format!("Trading cycle failed: {}", failure.error),
                complete: true,
                success: false,
                error: Some(failure.error),
                results: BTreeMap::new(),
            }),
        },
    }
}

#[cfg(test)]
#[path = "cycle_tests.rs"]
mod tests;
