//! One planning run, in process: a snapshot of the store, then opportunity, generator and
//! evaluator, a global beam with early termination, and a plan. At most one run at a time.

pub(crate) mod compat;
mod plan_record;
mod run;
mod runner;
mod search;
pub(crate) mod settings;
pub(crate) mod snapshot;

pub use runner::{RunView, Runner, RunnerError};
