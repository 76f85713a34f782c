//! The metrics job's copy of the scoring service's pre-computed metrics. The service keeps
//! them in its `calculations.db` and has no route for them, so the file is read directly:
//! read-only, in one short read (see [`crate::store::legacy::read_calculated_metrics`]), and
//! only rows still valid are copied, with their own times and expiry, so they lapse here when
//! they would have lapsed there.

use std::collections::BTreeSet;
use std::path::Path;

use super::jobs::SyncError;
use crate::store::Store;
use crate::store::legacy::read_calculated_metrics;

/// Copies the valid metrics of our securities (active or held) from `calculations.db` at
/// `path` into the store; returns how many rows were written. A file that cannot be read
/// leaves the stored metrics as they were.
pub(crate) fn copy_metrics(store: &Store, path: &Path, now_iso: &str) -> Result<usize, SyncError> {
    let held: BTreeSet<String> = store.positions()?.into_iter().map(|p| p.symbol).collect();
    let symbols: BTreeSet<String> = store
        .securities()?
        .into_iter()
        .filter(|s| s.active || held.contains(&s.symbol))
        .map(|s| s.symbol)
        .collect();
    if symbols.is_empty() {
        return Ok(0);
    }
    let rows = read_calculated_metrics(path, &symbols, now_iso).map_err(SyncError::Feed)?;
    if !rows.is_empty() {
        store.put_metrics(&rows)?;
    }
    Ok(rows.len())
}
