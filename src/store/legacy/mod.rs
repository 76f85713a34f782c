//! Import of an autoTrader data folder (external contracts §4): the universe, targets and
//! settings of `config.db`, the holdings and cash of `state.db`, the trades of `ledger.db`, the
//! metrics and scores of `calculations.db` and the FX rates of `rates.db`.
//!
//! The legacy files are only ever read. A running autoTrader holds them in WAL mode, and
//! SQLite's `mode=ro` creates (and leaves behind) the `-wal` and `-shm` files when they do not
//! exist, so a file without them is opened `immutable=1` instead: without those files no
//! connection is open on it, and the main file alone holds every committed row. When they
//! exist, the normal read-only open reads through the WAL, so rows a running autoTrader has
//! not checkpointed yet are seen.
//!
//! Every kind is converted completely before anything of it is written, and each kind is
//! written by one store call (one transaction), so a bad row is skipped with a reason instead
//! of leaving a kind half imported. Trades are the exception: they are recorded one by one, but
//! idempotently, so running the import again records no trade twice and completes a run that
//! failed halfway.

mod calculations;
mod fx;
mod holdings;
mod live;
mod read;
mod report;
mod trades;
mod universe;
mod values;
mod writes;

#[cfg(test)]
pub(super) mod test_fixtures;

use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError, now_iso};
pub use live::read_calculated_metrics;
use read::{Legacy, Row};
pub use report::{KindReport, LegacyKind, LegacyReport};

/// The `source` recorded for imported rows and in `data_freshness`.
const IMPORT_SOURCE: &str = "import";

/// The `data_freshness` source of the demo dataset a first `serve` loads (`crate::demo`).
const DEMO_SOURCE: &str = "demo";

/// Sources whose data an import replaces: an earlier import and the demo dataset. Data from
/// any other source came from a live sync, and for holdings and cash that is the truth.
const REPLACEABLE_SOURCES: [&str; 2] = [IMPORT_SOURCE, DEMO_SOURCE];

const CONFIG: &str = "config.db";
const STATE: &str = "state.db";
const LEDGER: &str = "ledger.db";
const CALCULATIONS: &str = "calculations.db";
const RATES: &str = "rates.db";

/// Errors that stop the import. Missing files, tables and bad rows are not errors: they are
/// listed in the [`LegacyReport`].
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0} holds none of the autoTrader files (config.db, state.db, ledger.db, \
         calculations.db, rates.db)"
    )]
    NoLegacyFiles(PathBuf),
    #[error("none of the autoTrader files in {dir} could be read: {reasons}")]
    Unreadable { dir: PathBuf, reasons: String },
    /// Writing one kind failed; it was rolled back, and the kinds before it stay imported.
    #[error("importing the {kind} failed (kinds before it were imported): {source}")]
    Store {
        kind: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Reads the autoTrader files in `dir` (never writing to them) and loads what the planner needs
/// into `store`. Missing files and tables, and rows that cannot be used, are reported, not
/// fatal; a folder with none of the files is an error.
pub fn import_legacy(store: &Store, dir: &Path) -> Result<LegacyReport, LegacyError> {
    if !dir.is_dir() {
        return Err(LegacyError::NotADirectory(dir.to_path_buf()));
    }
    let legacy = Legacy::read(dir)?;
    let mut import = Import {
        store,
        now: now_iso(),
        report: LegacyReport {
            dir: dir.to_path_buf(),
            files: legacy.files.clone(),
            kinds: LegacyKind::ALL.into_iter().map(KindReport::new).collect(),
        },
        legacy,
    };
    import.securities()?;
    import.allocation_targets()?;
    import.allocation_groups()?;
    import.settings()?;
    import.fx_rates()?;
    import.positions_and_quotes()?;
    import.cash()?;
    import.trades()?;
    import.metrics()?;
    import.scores()?;
    import.check_fx_coverage()?;
    Ok(import.report)
}

struct Import<'a> {
    store: &'a Store,
    legacy: Legacy,
    now: String,
    report: LegacyReport,
}

/// A store result, with the kind it was writing or reading for when it failed.
fn store_result<T>(kind: LegacyKind, result: Result<T, StoreError>) -> Result<T, LegacyError> {
    result.map_err(|source| LegacyError::Store {
        kind: kind.label(),
        source,
    })
}

impl Import<'_> {
    fn finish(&mut self, report: KindReport, written: bool) -> Result<(), LegacyError> {
        let kind = report.kind;
        if written {
            store_result(
                kind,
                self.store
                    .mark_refreshed(kind.freshness_key(), IMPORT_SOURCE, &self.now),
            )?;
        }
        *self.report.kind_mut(kind) = report;
        Ok(())
    }

    /// The rows of a table, or `None` after recording why the kind is unavailable.
    fn rows_or_unavailable(
        &mut self,
        report: &mut KindReport,
        file: &'static str,
        table: &'static str,
    ) -> Option<Vec<Row>> {
        match self.legacy.take(file, table) {
            Ok(rows) => Some(rows),
            Err(why) => {
                report.unavailable = Some(why);
                None
            }
        }
    }
}
