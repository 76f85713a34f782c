//! Events for live subscribers (the dashboard's `GET /api/events`): planning progress, new
//! plans, backtest progress, upstream state. A bounded broadcast: a slow subscriber misses events rather than
//! holding memory, and the number of subscribers is capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;

/// Events buffered per subscriber before the oldest are dropped for it.
const BUFFER: usize = 256;

/// Where a planning run is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub run_id: i64,
    /// `snapshot`, `opportunities`, `generating`, `evaluating`, `planning`, `done`.
    pub phase: &'static str,
    pub batches: u64,
    pub sequences_evaluated: u64,
    /// The best score so far, if any sequence was scored.
    pub best_score: Option<f64>,
    pub elapsed_secs: f64,
    /// Sequences the run expects to evaluate at most, when known (for an ETA).
    pub sequences_expected: Option<u64>,
}

/// Where a backtest is: simulated trading days (each run × each strategy) done of the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestProgress {
    pub backtest_id: u64,
    pub state: BacktestState,
    pub days_done: usize,
    pub days_total: usize,
    pub elapsed_secs: f64,
    /// Why a failed backtest stopped.
    pub error: Option<String>,
}

/// How far a backtest got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BacktestState {
    Running,
    /// Its report is the latest.
    Finished,
    Cancelled,
    Failed,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, strum::IntoStaticStr)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    PlanningProgress(Progress),
    /// A run ended; `plan_id` is set when it produced a plan.
    PlanningFinished {
        run_id: i64,
        status: &'static str,
        plan_id: Option<i64>,
        error: Option<String>,
    },
    BacktestProgress(BacktestProgress),
    /// A backtest ended: `state` says how; a finished one is at `GET /api/backtests/latest`.
    BacktestFinished(BacktestProgress),
    UpstreamState {
        service: String,
        breaker: String,
    },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// The broadcaster.
#[derive(Debug)]
pub struct EventHub {
    sender: broadcast::Sender<Event>,
    /// Set when the server stops, so open streams end instead of holding the shutdown up.
    closing: tokio::sync::watch::Sender<bool>,
    subscribers: Arc<AtomicUsize>,
    max_subscribers: usize,
    /// Of those, subscribers without the token: they may never take the last slots.
    anonymous: Arc<AtomicUsize>,
    max_anonymous: usize,
}

/// A live subscription; dropping it frees its slot.
#[derive(Debug)]
pub struct Subscription {
    pub receiver: broadcast::Receiver<Event>,
    /// Becomes true when the hub closes.
    pub closing: tokio::sync::watch::Receiver<bool>,
    slots: Arc<AtomicUsize>,
    anonymous_slots: Option<Arc<AtomicUsize>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.slots.fetch_sub(1, Ordering::SeqCst);
        if let Some(anonymous) = &self.anonymous_slots {
            anonymous.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl EventHub {
    pub fn new(max_subscribers: usize) -> EventHub {
        EventHub::with_anonymous_limit(max_subscribers, 0)
    }

    /// A hub where at most `max_anonymous` of the `max_subscribers` come without the token.
    pub fn with_anonymous_limit(max_subscribers: usize, max_anonymous: usize) -> EventHub {
        EventHub {
            sender: broadcast::channel(BUFFER).0,
            closing: tokio::sync::watch::channel(false).0,
            subscribers: Arc::new(AtomicUsize::new(0)),
            max_subscribers,
            anonymous: Arc::new(AtomicUsize::new(0)),
            max_anonymous,
        }
    }

    /// Sends to every subscriber; never blocks, and nothing happens without subscribers.
    pub fn publish(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    /// A new subscription, or `None` when `max_subscribers` are already listening.
    pub fn subscribe(&self) -> Option<Subscription> {
        let taken = self
            .subscribers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_subscribers).then_some(n + 1)
            });
        taken.ok().map(|_| Subscription {
            receiver: self.sender.subscribe(),
            closing: self.closing.subscribe(),
            slots: Arc::clone(&self.subscribers),
            anonymous_slots: None,
        })
    }

    /// A subscription of a client without the token, or `None` when `max_anonymous` of them
    /// (or `max_subscribers` in all) are already listening.
    pub fn subscribe_anonymous(&self) -> Option<Subscription> {
        self.anonymous
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_anonymous).then_some(n + 1)
            })
            .ok()?;
        match self.subscribe() {
            Some(mut subscription) => {
                subscription.anonymous_slots = Some(Arc::clone(&self.anonymous));
                Some(subscription)
            }
            None => {
                self.anonymous.fetch_sub(1, Ordering::SeqCst);
                None
            }
        }
    }

    /// Ends every subscription (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn subscriber_count(&self) -> usize {
        self.subscribers.load(Ordering::SeqCst)
    }

    pub fn anonymous_count(&self) -> usize {
        self.anonymous.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(run_id: i64) -> Event {
        Event::PlanningFinished {
            run_id,
            status: "succeeded",
            plan_id: Some(run_id),
            error: None,
        }
    }

    #[tokio::test]
    async fn subscribers_get_events_in_order_and_are_capped() {
        let hub = EventHub::new(2);
        let mut a = hub.subscribe().unwrap();
        let b = hub.subscribe().unwrap();
        assert!(hub.subscribe().is_none());
        drop(b);
        assert_eq!(hub.subscriber_count(), 1);
        let _c = hub.subscribe().unwrap();
        hub.publish(finished(1));
        hub.publish(finished(2));
        assert_eq!(a.receiver.recv().await.unwrap(), finished(1));
        assert_eq!(a.receiver.recv().await.unwrap(), finished(2));
        let json = serde_json::to_value(finished(3)).unwrap();
        assert_eq!(json["type"], "planning_finished");
    }

    #[tokio::test]
    async fn closing_the_hub_tells_every_subscriber() {
        let hub = EventHub::new(2);
        let mut a = hub.subscribe().unwrap();
        assert!(!*a.closing.borrow());
        hub.close();
        a.closing.wait_for(|c| *c).await.unwrap();
    }
}
