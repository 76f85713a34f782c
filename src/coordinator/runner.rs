//! Runs planning runs one at a time, off the async runtime, with progress events,
//! cancellation, and the plan persisted at the end.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde::Serialize;
use tokio::sync::watch;

use super::plan_record::plan_draft;
use super::run::{RunProgress, RunResult, StopReason, plan};
use super::snapshot::Snapshot;
use crate::config::PlannerConfig;
use crate::events::{Event, EventHub, Progress};
use crate::planning::plan_score;
use crate::store::{RunStatus, Store, StoreError};

/// Finished runs remembered for status queries (older ones are in the database).
const REMEMBERED_RUNS: usize = 16;

/// Least time between two progress events of a run (phase changes always go out).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("planning run {run_id} is already running")]
    AlreadyRunning { run_id: i64 },
    #[error("planning run {run_id} is not running")]
    NotRunning { run_id: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub run_id: i64,
    pub status: &'static str,
    pub plan_id: Option<i64>,
    pub error: Option<String>,
    pub sequences_evaluated: u64,
    pub batches: u64,
    pub stop: Option<StopReason>,
    pub elapsed_secs: f64,
    /// Data kinds the plan was made from that could not be refreshed.
    pub stale_data: Vec<String>,
}

/// A run as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunView {
    Running(Progress),
    Finished(RunOutcome),
}

struct Active {
    run_id: i64,
    cancel: Arc<AtomicBool>,
    progress: Progress,
}

/// The one place planning runs start.
pub struct Runner {
    store: Arc<Store>,
    pool: Arc<rayon::ThreadPool>,
    events: Arc<EventHub>,
    config: PlannerConfig,
    active: Mutex<Option<Active>>,
    finished: Mutex<VecDeque<RunOutcome>>,
    /// Tells waiters about each finished run.
    done: watch::Sender<Option<RunOutcome>>,
}

impl Runner {
    pub fn new(
        store: Arc<Store>,
        pool: Arc<rayon::ThreadPool>,
        events: Arc<EventHub>,
        config: PlannerConfig,
    ) -> Runner {
        Runner {
            store,
            pool,
            events,
            config,
            active: Mutex::new(None),
            finished: Mutex::new(VecDeque::new()),
            done: watch::channel(None).0,
        }
    }

    /// Starts a run on its own thread and returns its id; a run already going is an error
    /// naming it. The run plans as of the clock's time now (the service's "now").
    /// Blocking (it writes the run's row): call it off the async runtime.
    pub fn start(self: &Arc<Self>) -> Result<i64, RunnerError> {
        let (run_id, cancel) = self.claim()?;
        let runner = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("planning-run-{run_id}"))
            .spawn(move || {
                let now = chrono::Local::now().naive_local();
                runner.execute(run_id, now, &cancel, &mut |_| {});
            })
            .map_err(|e| {
                self.release();
                RunnerError::Store(StoreError::Invalid {
                    what: "planning run",
                    reason: format!("cannot start a thread: {e}"),
                })
            })?;
        Ok(run_id)
    }

    /// Runs on the calling thread (the command line, a backtest), planning as of `now`
    /// (cooldowns, holding periods and metric expiry count to it), reporting progress to
    /// `on_progress`.
    pub fn run_here(
        &self,
        now: NaiveDateTime,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<RunOutcome, RunnerError> {
        let (run_id, cancel) = self.claim()?;
        Ok(self.execute(run_id, now, &cancel, on_progress))
    }

    /// Asks run `run_id` to stop; it ends as cancelled and keeps no plan.
    pub fn cancel(&self, run_id: i64) -> Result<(), RunnerError> {
        match lock(&self.active).as_ref() {
            Some(active) if active.run_id == run_id => {
                active.cancel.store(true, Ordering::SeqCst);
                Ok(())
            }
            _ => Err(RunnerError::NotRunning { run_id }),
        }
    }

    /// Asks the running run, if any, to stop; it ends as cancelled and keeps no plan.
    pub fn cancel_running(&self) {
        if let Some(active) = lock(&self.active).as_ref() {
            active.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// The running run's progress.
    pub fn current(&self) -> Option<Progress> {
        lock(&self.active).as_ref().map(|a| a.progress.clone())
    }

    /// A run's progress or outcome, if this process knows it.
    pub fn view(&self, run_id: i64) -> Option<RunView> {
        if let Some(active) = lock(&self.active).as_ref()
            && active.run_id == run_id
        {
            return Some(RunView::Running(active.progress.clone()));
        }
        lock(&self.finished)
            .iter()
            .find(|o| o.run_id == run_id)
            .cloned()
            .map(RunView::Finished)
    }

    /// Waits for run `run_id` to finish; `None` if this process does not know it.
    pub async fn wait(&self, run_id: i64) -> Option<RunOutcome> {
        let mut receiver = self.done.subscribe();
        loop {
            match self.view(run_id)? {
                RunView::Finished(outcome) => return Some(outcome),
                RunView::Running(_) => {
                    if receiver.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    fn claim(&self) -> Result<(i64, Arc<AtomicBool>), RunnerError> {
        let mut active = lock(&self.active);
        if let Some(running) = active.as_ref() {
            return Err(RunnerError::AlreadyRunning {
                run_id: running.run_id,
            });
        }
        let run_id = self.store.start_planning_run()?;
        let cancel = Arc::new(AtomicBool::new(false));
        *active = Some(Active {
            run_id,
            cancel: Arc::clone(&cancel),
            progress: Progress {
                run_id,
                phase: "snapshot",
                batches: 0,
                sequences_evaluated: 0,
                best_score: None,
                elapsed_secs: 0.0,
                sequences_expected: None,
            },
        });
        Ok((run_id, cancel))
    }

    fn release(&self) {
        *lock(&self.active) = None;
    }

    fn execute(
        &self,
        run_id: i64,
        now: NaiveDateTime,
        cancel: &AtomicBool,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> RunOutcome {
        let started = Instant::now();
        let mut last_sent: Option<(Instant, &'static str)> = None;
        let mut report = |p: RunProgress| {
            let progress = Progress {
                run_id,
                phase: p.phase,
                batches: p.batches,
                sequences_evaluated: p.sequences_evaluated,
                best_score: p.best_score.map(plan_score),
                elapsed_secs: p.elapsed.as_secs_f64(),
                sequences_expected: p.sequences_expected,
            };
            if let Some(active) = lock(&self.active).as_mut() {
                active.progress = progress.clone();
            }
            let due = last_sent
                .is_none_or(|(at, phase)| phase != p.phase || at.elapsed() >= PROGRESS_INTERVAL);
            if due {
                last_sent = Some((Instant::now(), p.phase));
                on_progress(&progress);
                self.events.publish(Event::PlanningProgress(progress));
            }
        };
        report(RunProgress {
            phase: "snapshot",
            batches: 0,
            sequences_evaluated: 0,
            best_score: None,
            elapsed: Duration::ZERO,
            sequences_expected: None,
        });
        let result = Snapshot::take(&self.store, now).map(|snapshot| {
            let result = plan(&snapshot, &self.config, &self.pool, cancel, &mut report);
            (snapshot, result)
        });
        let outcome = self.finish(run_id, started, result);
        metrics::histogram!("planning_run_duration_seconds").record(outcome.elapsed_secs);
        if outcome.elapsed_secs > 0.0 {
            metrics::gauge!("planning_sequences_per_second")
                .set(outcome.sequences_evaluated as f64 / outcome.elapsed_secs);
        }
        {
            let mut finished = lock(&self.finished);
            finished.push_front(outcome.clone());
            finished.truncate(REMEMBERED_RUNS);
        }
        self.release();
        self.events.publish(Event::PlanningFinished {
            run_id,
            status: outcome.status,
            plan_id: outcome.plan_id,
            error: outcome.error.clone(),
        });
        self.done.send_replace(Some(outcome.clone()));
        outcome
    }

    /// Persists the plan and the run's end.
    fn finish(
        &self,
        run_id: i64,
        started: Instant,
        result: Result<(Snapshot, RunResult), StoreError>,
    ) -> RunOutcome {
        let mut outcome = RunOutcome {
            run_id,
            status: RunStatus::Failed.as_str(),
            plan_id: None,
            error: None,
            sequences_evaluated: 0,
            batches: 0,
            stop: None,
            elapsed_secs: 0.0,
            stale_data: Vec::new(),
        };
        let status = match result {
            Err(error) => {
                outcome.error = Some(format!("cannot read the portfolio: {error}"));
                RunStatus::Failed
            }
            Ok((snapshot, result)) => {
                outcome.sequences_evaluated = result.sequences_evaluated;
                outcome.batches = result.batches;
                outcome.stop = Some(result.stop);
                outcome.stale_data = snapshot.stale.clone();
                if result.stop == StopReason::Cancelled {
                    RunStatus::Cancelled
                } else {
                    match plan_draft(&snapshot, &result).keep(&self.store) {
                        Ok(plan_id) => {
                            outcome.plan_id = Some(plan_id);
                            RunStatus::Succeeded
                        }
                        Err(error) => {
                            outcome.error = Some(format!("cannot store the plan: {error}"));
                            RunStatus::Failed
                        }
                    }
                }
            }
        };
        outcome.status = status.as_str();
        outcome.elapsed_secs = started.elapsed().as_secs_f64();
        if let Err(error) = self.store.finish_planning_run(
            run_id,
            status,
            outcome.sequences_evaluated,
            outcome.plan_id,
            outcome.error.as_deref(),
        ) {
            tracing::error!(run_id, %error, "cannot record the end of a planning run");
        }
        outcome
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
