//! One planning run, in process: a snapshot of the store, the investor's targets, the
//! allocation search and a plan. At most one run at a time. The reference's `create-plan`
//! (opportunity, generator, evaluator and a global beam) lives in [`compat`].

mod book;
pub(crate) mod compat;
mod plan_record;
mod run;
mod runner;
mod search;
#[cfg(test)]
mod setting_effects;
pub(crate) mod settings;
pub(crate) mod snapshot;

pub use book::targets_now;
pub use runner::{RunView, Runner, RunnerError};
