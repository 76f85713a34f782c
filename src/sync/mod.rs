//! Keeping the database in step with the outside world: scheduled jobs that copy upstream
//! data into the store, the execution of plan steps (paper fills or broker orders), and the
//! trading cycle that plans and executes in one go.

pub(crate) mod calculations;
pub(crate) mod cycle;
pub mod execution;
pub mod feeds;
pub mod fx;
pub mod history_metrics;
pub mod jobs;
pub mod open_orders;
pub mod prices;
mod settlement;
