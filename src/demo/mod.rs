//! The demo dataset of `data/demo/`: a small realistic universe with positions, cash, FX
//! rates, quotes, allocation targets, scores and metrics. A fresh database is filled with it so
//! that the binary plans and serves its dashboard with no upstream service running.
//!
//! The files are compiled into the binary, so an installed binary needs no repository. The
//! whole dataset is parsed and cross-checked before anything is written: a mistake in a file
//! fails before the database is touched, and the tests (`tests.rs`) fail on it first.

mod dataset;
mod files;
mod history;
mod records;

use std::fmt;

use crate::store::{DemoDerived, Store, StoreError, now_iso};
use dataset::Dataset;
use files::DemoFiles;
pub use history::{HISTORY_DAYS, seed_price_history};

/// The `source` of every row and freshness mark the demo writes, so the dashboard can say the
/// data is demo data.
pub const DEMO_SOURCE: &str = "demo";

/// The data kinds a load marks refreshed with [`DEMO_SOURCE`]; `targets` only when the load
/// wrote them.
pub const DEMO_KINDS: [&str; 8] = [
    "securities",
    "positions",
    "cash",
    "fx",
    "quotes",
    "scores",
    "metrics",
    "targets",
];

/// What a load wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoReport {
    pub securities: usize,
    pub positions: usize,
    pub cash_balances: usize,
    pub fx_rates: usize,
    pub quotes: usize,
    pub scores: usize,
    /// Metric rows, one per (security, metric).
    pub metrics: usize,
    /// Zero when the database already held targets, which are left as they were.
    pub allocation_targets: usize,
    /// Zero when the database already held group memberships.
    pub allocation_groups: usize,
    /// Settings written; keys the database already held are not counted.
    pub settings: usize,
    /// Whether the trading mode was set (to research; false when one was already stored).
    pub trading_mode_set: bool,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} securities, {} positions, {} cash balances, {} FX rates, {} quotes, {} scores, \
             {} metric rows, {} allocation targets, {} group members, {} settings",
            self.securities,
            self.positions,
            self.cash_balances,
            self.fx_rates,
            self.quotes,
            self.scores,
            self.metrics,
            self.allocation_targets,
            self.allocation_groups,
            self.settings
        )
    }
}

/// Errors of the demo loader; each names the file or the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file is not valid YAML or does not have the expected shape.
    #[error("{file}: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: Box<serde_path_to_error::Error<serde_yaml::Error>>,
    },
    /// A file parses but its content is wrong or does not agree with another file.
    #[error("{file}: {reason}")]
    Invalid { file: &'static str, reason: String },
    /// The database refused a read or a write.
    #[error("demo data: cannot {action}: {source}")]
    Store {
        action: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Fills the database with the demo dataset when it holds no securities and no positions, and
/// returns what was written; otherwise returns `Ok(None)` and touches nothing.
///
/// Configuration someone may have entered before the first start is kept: the trading mode is
/// set to research only when none is stored, a setting only when its key is absent, and the
/// allocation targets and groups only when none are stored.
pub fn load_if_empty(store: &Store) -> Result<Option<DemoReport>, DemoError> {
    let securities = store.securities().map_err(failed("read the securities"))?;
    let positions = store.positions().map_err(failed("read the positions"))?;
    if !securities.is_empty() || !positions.is_empty() {
        return Ok(None);
    }
    let now = now_iso();
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now)?;
    dataset.write(store, &now).map(Some)
}

/// Called before an account's own positions are written: when the stored positions are the
/// demo's, forgets what was derived from the demo (its invented closes, the metrics computed
/// from them, the demo portfolio's daily values), so that none of it is taken for the
/// account's history. `None` when the positions were not the demo's.
pub fn forget_if_replacing(store: &Store) -> Result<Option<DemoDerived>, StoreError> {
    let demo = store
        .data_freshness("positions")?
        .is_some_and(|f| f.source == DEMO_SOURCE);
    if !demo {
        return Ok(None);
    }
    store
        .forget_demo_derived(crate::sync::history_metrics::HISTORY_SOURCE)
        .map(Some)
}

fn failed(action: &'static str) -> impl Fn(StoreError) -> DemoError {
    move |source| DemoError::Store { action, source }
}

fn invalid(file: &'static str, reason: impl Into<String>) -> DemoError {
    DemoError::Invalid {
        file,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests;
