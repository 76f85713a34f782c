//! The service's state on the Uno Q's 8×13 LED matrix and RGB LEDs, drawn by the sketch in
//! `systemd/matrix/trading_planner_matrix/` from one small call, `tp_show(mode, value, flags)`:
//! - mode 0 idle, value 0;
//! - mode 1 planning, value = columns of the progress bar lit (0–13);
//! - mode 2 plan ready, value = its number of steps;
//! - flags: bit 0 an upstream is down, bit 1 live trading.
//!
//! The sketch draws the picture itself, so each call is a few bytes and never overflows the
//! router's buffers. A call goes out only when the screen changes (progress is counted in the
//! bar's 13 columns, so a planning run is at most 14 calls), and changes closer together than
//! `min_gap` are coalesced into the last one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::router::{RouterClient, RpcError};
use crate::events::{Event, EventHub, Progress};

/// The width of the matrix, and of the progress bar.
pub const COLUMNS: u8 = 13;

/// The RPC function of the sketch.
pub const METHOD: &str = "tp_show";

/// What the board shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Screen {
    pub activity: Activity,
    pub upstream_down: bool,
    pub live: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activity {
    #[default]
    Idle,
    /// Columns of the progress bar lit.
    Planning { columns: u8 },
    /// A plan is ready with this many steps.
    Ready { steps: u32 },
}

impl Screen {
    /// The arguments of `tp_show`.
    pub fn params(&self) -> [i64; 3] {
        let (mode, value) = match self.activity {
            Activity::Idle => (0, 0),
            Activity::Planning { columns } => (1, u32::from(columns)),
            Activity::Ready { steps } => (2, steps),
        };
        let flags = u8::from(self.upstream_down) | (u8::from(self.live) << 1);
        [mode, i64::from(value), i64::from(flags)]
    }
}

/// How far along a run is, as columns of the bar: by its phase, and while sequences are
/// scored, by how many of those expected are done.
pub fn progress_columns(progress: &Progress) -> u8 {
    let fraction = match progress.phase {
        "snapshot" => 0.0,
        "opportunities" => 0.1,
        "generating" => 0.2,
        "evaluating" => {
            let done = match progress.sequences_expected {
                Some(expected) if expected > 0 => {
                    (progress.sequences_evaluated as f64 / expected as f64).min(1.0)
                }
                _ => 0.0,
            };
            0.2 + 0.7 * done
        }
        "planning" => 0.9,
        "done" => 1.0,
        _ => 0.0,
    };
    (fraction * f64::from(COLUMNS)).floor() as u8
}

/// What the matrix reads besides the events.
pub trait StateSource: Send + Sync + 'static {
    /// Whether a Python service's last call failed or its breaker is not closed.
    fn upstream_down(&self) -> bool;
    /// Whether trading is live (may read the database).
    fn live(&self) -> bool;
    /// The number of steps of plan `id` (may read the database).
    fn plan_steps(&self, id: i64) -> Option<usize>;
}

/// The timing of the matrix task.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often the upstreams and the trading mode are read.
    pub poll: Duration,
    /// The shortest time between two calls; changes in between are coalesced.
    pub min_gap: Duration,
    /// The limit of one call.
    pub call_timeout: Duration,
    /// The wait after a failed call before the next try.
    pub retry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            min_gap: Duration::from_millis(250),
            call_timeout: Duration::from_secs(1),
            retry: Duration::from_secs(30),
        }
    }
}

/// Shows the state on the matrix behind `socket` until `events` closes.
pub async fn run(
    socket: PathBuf,
    events: Arc<EventHub>,
    source: Arc<dyn StateSource>,
    timing: Timing,
) {
    let mut client = RouterClient::new(&socket, timing.call_timeout);
    let mut subscription = events.subscribe();
    let mut poll = tokio::time::interval(timing.poll);
    let mut want = Screen::default();
    // What the sketch shows as far as we know; `None` after a failure, so it is sent again.
    let mut shown: Option<Screen> = None;
    let mut next_call = Instant::now();
    let mut said_missing = false;
    let mut said_refused = false;
    loop {
        let due = (shown != Some(want)).then_some(next_call);
        tokio::select! {
            event = next_event(&mut subscription) => match event {
                Some(event) => apply(&mut want, &event, source.as_ref()),
                None => return,
            },
            _ = poll.tick() => {
                let source = Arc::clone(&source);
                if let Ok((down, live)) =
                    tokio::task::spawn_blocking(move || (source.upstream_down(), source.live()))
                        .await
                {
                    want.upstream_down = down;
                    want.live = live;
                }
                tracing::trace!(upstream_down = want.upstream_down, live = want.live, "LED matrix: state read");
            }
            _ = sleep_until(due), if due.is_some() => {
                next_call = Instant::now() + timing.min_gap;
                match client.call(METHOD, &want.params()).await {
                    Ok(_) => {
                        if said_missing || said_refused {
                            tracing::info!(socket = %socket.display(), "LED matrix connected");
                        }
                        said_missing = false;
                        said_refused = false;
                        shown = Some(want);
                    }
                    Err(error) => {
                        shown = None;
                        next_call = Instant::now() + timing.retry;
                        match error {
                            RpcError::Missing(_) if !said_missing => {
                                said_missing = true;
                                tracing::debug!(
                                    socket = %socket.display(),
                                    "no arduino-router socket (not an Uno Q?): no LED matrix"
                                );
                            }
                            RpcError::Missing(_) => {}
                            error if !said_refused => {
                                said_refused = true;
                                tracing::info!(
                                    %error,
                                    "the LED matrix did not take the state (is the sketch of \
                                     systemd/matrix/trading_planner_matrix flashed?)"
                                );
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}

/// The next event, or `None` once the hub closes; waits forever without a subscription.
async fn next_event(subscription: &mut Option<crate::events::Subscription>) -> Option<Event> {
    let Some(subscription) = subscription else {
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            received = subscription.receiver.recv() => match received {
                Ok(event) => return Some(event),
                // Missed events: the next progress event says where the run is.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            },
            _ = subscription.closing.wait_for(|closing| *closing) => return None,
        }
    }
}

/// The screen after `event`.
pub fn apply(screen: &mut Screen, event: &Event, source: &dyn StateSource) {
    match event {
        Event::PlanningProgress(progress) => {
            screen.activity = Activity::Planning {
                columns: progress_columns(progress),
            };
        }
        Event::PlanningFinished {
            plan_id: Some(id), ..
        } => {
            screen.activity = match source.plan_steps(*id) {
                Some(steps) => Activity::Ready {
                    steps: u32::try_from(steps).unwrap_or(u32::MAX),
                },
                None => Activity::Idle,
            };
        }
        Event::PlanningFinished { plan_id: None, .. } => screen.activity = Activity::Idle,
        _ => {}
    }
}
