//! Runs planning runs one at a time, off the async runtime, with progress and cancellation.

use std::sync::Arc;

use crate::config::PlannerConfig;
use crate::events::EventHub;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("planning run {run_id} is already running")]
    AlreadyRunning { run_id: i64 },
}

pub struct Runner {
    #[allow(dead_code)]
    store: Arc<Store>,
    #[allow(dead_code)]
    pool: Arc<rayon::ThreadPool>,
    #[allow(dead_code)]
    events: Arc<EventHub>,
    #[allow(dead_code)]
    config: PlannerConfig,
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
        }
    }

    /// Asks the running run, if any, to stop; it ends as cancelled and keeps no plan.
    pub fn cancel_running(&self) {}
}
