//! The resilience rules of one upstream service: a circuit breaker, a rate limiter and the
//! retry backoff. Time is `tokio::time::Instant`, so tests drive them with a paused clock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::domain::BreakerState;

/// Longest pause between two attempts, whatever the backoff doubles to (spec §1.5 `max_delay`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Circuit breaker

/// Stops calling a service that keeps failing: after `failures_to_open` consecutive failed
/// calls it refuses every call for `open_for`, then lets exactly one probe through; the probe's
/// success closes it, its failure opens it again for another `open_for`.
///
/// The state sits behind a std mutex that is only held for a few assignments, never across an
/// await. It is shared with the permits, so a permit can outlive the borrow it was taken
/// with: a forwarded answer holds its permit until the last byte has streamed.
#[derive(Debug)]
pub struct Breaker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    failures_to_open: u32,
    open_for: Duration,
    inner: Mutex<BreakerInner>,
}

#[derive(Debug)]
struct BreakerInner {
    phase: Phase,
    consecutive_failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// `probing`: the one probe is in flight, so every other call is refused.
    HalfOpen {
        probing: bool,
    },
}

/// Leave to make one call, from [`Breaker::try_acquire`]. Report the outcome with
/// [`BreakerPermit::succeeded`] or [`BreakerPermit::failed`]; a permit dropped without either
/// (the call was cancelled) frees the probe slot so the next call can probe instead.
#[must_use = "report the call's outcome on the permit"]
#[derive(Debug)]
pub struct BreakerPermit {
    breaker: Arc<Shared>,
    probe: bool,
    reported: bool,
}

/// A breaker as status pages show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerHealth {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    /// While the breaker is open: seconds until it lets a probe through.
    pub retry_in_secs: Option<u64>,
}

impl Breaker {
    /// A closed breaker; `failures_to_open` below 1 counts as 1.
    pub fn new(failures_to_open: u32, open_for: Duration) -> Breaker {
        Breaker {
            shared: Arc::new(Shared {
                failures_to_open: failures_to_open.max(1),
                open_for,
                inner: Mutex::new(BreakerInner {
                    phase: Phase::Closed,
                    consecutive_failures: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerInner> {
        self.shared.lock()
    }

    /// A permit to call, or `None` while the breaker is open or its probe is in flight.
    pub fn try_acquire(&self) -> Option<BreakerPermit> {
        let mut inner = self.lock();
        let probe = match inner.phase {
            Phase::Closed => false,
            Phase::Open { until } if Instant::now() < until => return None,
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                inner.phase = Phase::HalfOpen { probing: true };
                true
            }
            Phase::HalfOpen { probing: true } => return None,
        };
        Some(BreakerPermit {
            breaker: Arc::clone(&self.shared),
            probe,
            reported: false,
        })
    }

    /// The state as a dashboard should see it: an open breaker whose time is up is half-open,
    /// since the next call will probe.
    pub fn state(&self) -> BreakerState {
        match self.lock().phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { until } if Instant::now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Failed calls since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    /// While the breaker is open: how long until it lets a probe through (`None` once the
    /// time is up, as [`Breaker::state`] then says half-open).
    pub fn retry_in(&self) -> Option<Duration> {
        match self.lock().phase {
            Phase::Open { until } => {
                let now = Instant::now();
                (now < until).then(|| until - now)
            }
            Phase::Closed | Phase::HalfOpen { .. } => None,
        }
    }

    /// State, failures and time to the next probe together, for status pages.
    pub fn health(&self) -> BreakerHealth {
        let state = self.state();
        BreakerHealth {
            state,
            consecutive_failures: self.consecutive_failures(),
            retry_in_secs: (state == BreakerState::Open).then(|| self.retry_in_secs()),
        }
    }

    /// [`Breaker::retry_in`] in whole seconds, rounded up; 0 when not open.
    pub fn retry_in_secs(&self) -> u64 {
        self.retry_in().unwrap_or_default().as_secs_f64().ceil() as u64
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, BreakerInner> {
        // The state is a few plain fields, consistent after every assignment; a panic elsewhere
        // while holding the lock cannot leave it half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, probe: bool, success: bool) {
        let mut inner = self.lock();
        if success {
            if probe || inner.phase == Phase::Closed {
                inner.phase = Phase::Closed;
                inner.consecutive_failures = 0;
            }
            // A call admitted before the breaker opened that succeeds late does not close it:
            // only the probe decides, so one lucky straggler cannot undo the open period.
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let open_now = if probe {
            true
        } else {
            inner.phase == Phase::Closed && inner.consecutive_failures >= self.failures_to_open
        };
        if open_now {
            inner.phase = Phase::Open {
                until: Instant::now() + self.open_for,
            };
        }
    }
}

impl BreakerPermit {
    /// Whether this call is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded, or failed in a way that says nothing against the service.
    pub fn succeeded(mut self) {
        self.reported = true;
        self.breaker.record(self.probe, true);
    }

    /// The call failed in a way that counts against the service.
    pub fn failed(mut self) {
        self.reported = true;
        self.breaker.record(self.probe, false);
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            let mut inner = self.breaker.lock();
            if inner.phase == (Phase::HalfOpen { probing: true }) {
                inner.phase = Phase::HalfOpen { probing: false };
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limiter

/// At most one request start per `interval`; callers wait their turn, in arrival order.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    /// When the last request started. A tokio mutex, held while waiting, is what queues the
    /// callers fairly behind each other.
    last_start: tokio::sync::Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter; a zero interval never waits.
    pub fn new(interval: Duration) -> RateLimiter {
        RateLimiter {
            interval,
            last_start: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until a request may start, and books that start.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut last_start = self.last_start.lock().await;
        if let Some(previous) = *last_start {
            tokio::time::sleep_until(previous + self.interval).await;
        }
        *last_start = Some(Instant::now());
    }
}

// ---------------------------------------------------------------------------------------------
// Retry policy

/// How often and how patiently an idempotent call is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub retries: u32,
    /// Pause before the first retry; doubled for each further one.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// The pause before retry number `retry` (0 for the first), `backoff · 2^retry · jitter`,
    /// with `jitter_unit` in [0, 1) mapped onto the multiplier range [0.5, 1.5) so that clients
    /// failing together do not retry together. Capped at [`MAX_BACKOFF`].
    pub fn delay(&self, retry: u32, jitter_unit: f64) -> Duration {
        let jitter = 0.5 + jitter_unit.clamp(0.0, 1.0);
        let secs = self.backoff.as_secs_f64() * 2f64.powi(retry.min(30) as i32) * jitter;
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF)
    }
}

/// Seconds from configuration as a duration; values the config check would refuse (negative,
/// not finite, huge) become zero or a day rather than a panic.
pub(crate) fn secs_to_duration(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs.min(86_400.0)).unwrap_or(Duration::ZERO)
    }
}
