//! One planning run, in process: a snapshot of the store, then opportunity, generator and
//! evaluator, a global beam with early termination, and a plan. At most one run at a time.

pub mod compat;
mod plan_record;
pub mod run;
mod runner;
mod search;
pub mod settings;
pub mod snapshot;

pub use runner::{RunOutcome, RunView, Runner, RunnerError};
