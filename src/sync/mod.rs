//! Keeping the database in step with the outside world: scheduled jobs that copy upstream
//! data into the store, and the execution of plan steps (paper fills or broker orders).

pub mod execution;
pub mod jobs;
