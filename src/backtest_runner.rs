//! Runs backtests for the service: one at a time, on a thread of its own with the simulation on
//! the scoring pool (never on the async runtime), with progress (also as throttled events),
//! cancellation, and the last finished report kept in memory.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::backtest::{Backtest, BacktestError, BacktestOptions, Report, RunControl, StrategyKind};
use crate::events::{BacktestProgress, BacktestState, Event, EventHub};

/// Least time between two progress events of a backtest.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum BacktestRunnerError {
    #[error("backtest {backtest_id} is already running")]
    AlreadyRunning { backtest_id: u64 },
    #[error("no backtest is running")]
    NotRunning,
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    #[error("cannot start the backtest's thread: {0}")]
    Thread(std::io::Error),
}

/// A backtest that ran to its end.
#[derive(Debug)]
pub struct FinishedBacktest {
    pub backtest_id: u64,
    pub elapsed_secs: f64,
    pub report: Report,
}

/// What the thread doing a backtest shares with the runner.
#[derive(Default)]
struct Shared {
    days_done: AtomicUsize,
    cancel: AtomicBool,
    /// Milliseconds after the start when progress was last published.
    last_event_ms: AtomicU64,
}

/// The backtest started last.
struct Current {
    backtest_id: u64,
    days_total: usize,
    started: Instant,
    shared: Arc<Shared>,
    /// How it ended, how long it took and why it failed; `None` while it runs.
    ended: Option<(BacktestState, f64, Option<String>)>,
}

impl Current {
    fn running(&self) -> bool {
        self.ended.is_none()
    }

    fn progress(&self) -> BacktestProgress {
        let (state, elapsed_secs, error) = self.ended.clone().unwrap_or_else(|| {
            let elapsed = self.started.elapsed().as_secs_f64();
            (BacktestState::Running, elapsed, None)
        });
        BacktestProgress {
            backtest_id: self.backtest_id,
            state,
            days_done: self
                .shared
                .days_done
                .load(Ordering::Relaxed)
                .min(self.days_total),
            days_total: self.days_total,
            elapsed_secs,
            error,
        }
    }
}

#[derive(Default)]
struct Inner {
    last_id: u64,
    current: Option<Current>,
    latest: Option<Arc<FinishedBacktest>>,
}

impl Inner {
    fn running_id(&self) -> Option<u64> {
        self.current
            .as_ref()
            .filter(|c| c.running())
            .map(|c| c.backtest_id)
    }
}

/// The one place the service's backtests start.
pub struct BacktestRunner {
    pool: Arc<rayon::ThreadPool>,
    events: Arc<EventHub>,
    inner: Mutex<Inner>,
}

impl BacktestRunner {
    pub fn new(pool: Arc<rayon::ThreadPool>, events: Arc<EventHub>) -> BacktestRunner {
        BacktestRunner {
            pool,
            events,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Reads and checks the data and options, then starts the backtest on its own thread and
    /// returns its id. Refused while one runs, or with the message of [`Backtest::prepare`].
    /// Blocking (it reads the data files): call it off the async runtime.
    pub fn start(self: &Arc<Self>, options: &BacktestOptions) -> Result<u64, BacktestRunnerError> {
        // Refused before reading the files, so a conflicting request costs nothing.
        if let Some(backtest_id) = lock(&self.inner).running_id() {
            return Err(BacktestRunnerError::AlreadyRunning { backtest_id });
        }
        let backtest = Backtest::prepare(options)?;
        let shared = Arc::new(Shared::default());
        let backtest_id = {
            let mut inner = lock(&self.inner);
            if let Some(backtest_id) = inner.running_id() {
                return Err(BacktestRunnerError::AlreadyRunning { backtest_id });
            }
            inner.last_id += 1;
            inner.current = Some(Current {
                backtest_id: inner.last_id,
                days_total: backtest.total_days(StrategyKind::ALL.len()),
                started: Instant::now(),
                shared: Arc::clone(&shared),
                ended: None,
            });
            inner.last_id
        };
        let runner = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("backtest-{backtest_id}"))
            .spawn(move || runner.execute(backtest_id, &backtest, &shared))
            .map_err(|error| {
                let message = format!("cannot start the backtest's thread: {error}");
                self.end(backtest_id, BacktestState::Failed, Some(message), None);
                BacktestRunnerError::Thread(error)
            })?;
        Ok(backtest_id)
    }

    /// The backtest started last: running, or how it ended; `None` before the first.
    pub fn current(&self) -> Option<BacktestProgress> {
        lock(&self.inner).current.as_ref().map(Current::progress)
    }

    /// The last backtest that ran to its end.
    pub fn latest(&self) -> Option<Arc<FinishedBacktest>> {
        lock(&self.inner).latest.clone()
    }

    /// Asks the running backtest to stop; it ends as cancelled and keeps no report.
    pub fn cancel(&self) -> Result<u64, BacktestRunnerError> {
        let inner = lock(&self.inner);
        match inner.current.as_ref().filter(|c| c.running()) {
            Some(current) => {
                current.shared.cancel.store(true, Ordering::Relaxed);
                Ok(current.backtest_id)
            }
            None => Err(BacktestRunnerError::NotRunning),
        }
    }

    fn execute(&self, backtest_id: u64, backtest: &Backtest, shared: &Shared) {
        let started = Instant::now();
        if let Some(progress) = self.current() {
            self.events.publish(Event::BacktestProgress(progress));
        }
        let on_day = || {
            shared.days_done.fetch_add(1, Ordering::Relaxed);
            self.publish_if_due(shared, started);
        };
        let control = RunControl::cancellable(&on_day, &shared.cancel);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.pool
                .install(|| backtest.run(&StrategyKind::ALL, &control))
        }));
        let elapsed_secs = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(Some(report))) => {
                let finished = FinishedBacktest {
                    backtest_id,
                    elapsed_secs,
                    report,
                };
                self.end(backtest_id, BacktestState::Finished, None, Some(finished));
            }
            Ok(Ok(None)) => self.end(backtest_id, BacktestState::Cancelled, None, None),
            Ok(Err(error)) => {
                tracing::error!(backtest_id, %error, "the backtest failed");
                self.end(
                    backtest_id,
                    BacktestState::Failed,
                    Some(error.to_string()),
                    None,
                );
            }
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown".into());
                tracing::error!(backtest_id, %reason, "the backtest panicked");
                let message = format!("the backtest stopped unexpectedly: {reason}");
                self.end(backtest_id, BacktestState::Failed, Some(message), None);
            }
        }
    }

    /// Publishes the progress unless another day did less than [`PROGRESS_INTERVAL`] ago; the
    /// simulated days of every run call this, from any thread.
    fn publish_if_due(&self, shared: &Shared, started: Instant) {
        let now = started.elapsed().as_millis() as u64;
        let last = shared.last_event_ms.load(Ordering::Relaxed);
        let interval = PROGRESS_INTERVAL.as_millis() as u64;
        if now >= last + interval
            && shared
                .last_event_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Some(progress) = self.current()
        {
            self.events.publish(Event::BacktestProgress(progress));
        }
    }

    /// Records how backtest `backtest_id` ended, keeps its report, and announces the end.
    fn end(
        &self,
        backtest_id: u64,
        state: BacktestState,
        error: Option<String>,
        finished: Option<FinishedBacktest>,
    ) {
        let progress = {
            let mut inner = lock(&self.inner);
            if let Some(finished) = finished {
                inner.latest = Some(Arc::new(finished));
            }
            let Some(current) = inner
                .current
                .as_mut()
                .filter(|c| c.backtest_id == backtest_id)
            else {
                return;
            };
            current.ended = Some((state, current.started.elapsed().as_secs_f64(), error));
            current.progress()
        };
        if state == BacktestState::Finished {
            metrics::histogram!("backtest_duration_seconds").record(progress.elapsed_secs);
        }
        self.events.publish(Event::BacktestFinished(progress));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
