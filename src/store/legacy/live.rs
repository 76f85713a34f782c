//! The scoring service's `calculations.db` read while the service runs: its valid pre-computed
//! metrics (external contracts §4.3, §5), as the sync copies them into our own table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::CALCULATIONS;
use super::read::read_live_table;
use super::values::{real, text};
use crate::domain::normalize_symbol;
use crate::store::MetricRecord;

/// How long a read waits for the scoring service's write lock. Short: the service writes a
/// security's rows in one quick transaction, and a read that cannot get in is retried at the
/// next run rather than holding anyone up.
const LIVE_BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The metrics of `calculations.db` at `path` that are still valid at `now_iso` (the
/// reference's rule: `expires_at IS NULL OR expires_at > now`), for `symbols` only (upper
/// case; every symbol when empty), with their own times, expiry and source. Rows without a
/// symbol, name or finite value are left out. `Err` says why the file could not be read.
pub fn read_calculated_metrics(
    path: &Path,
    symbols: &BTreeSet<String>,
    now_iso: &str,
) -> Result<Vec<MetricRecord>, String> {
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let rows = read_live_table(path, CALCULATIONS, "calculated_metrics", LIVE_BUSY_TIMEOUT)
        .map_err(|why| format!("{}: {why}", path.display()))?;
    // Keyed by (symbol, metric): two spellings of one symbol keep the later row.
    let mut records = BTreeMap::new();
    for row in &rows {
        let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
        let Some(metric) = text(row, "metric") else {
            continue;
        };
        if symbol.is_empty() || !(symbols.is_empty() || symbols.contains(&symbol)) {
            continue;
        }
        let Some(value) = real(row, "value").filter(|v| v.is_finite()) else {
            continue;
        };
        let expires_at = text(row, "expires_at");
        if expires_at.as_deref().is_some_and(|e| e <= now_iso) {
            continue;
        }
        let Some(calculated_at) = text(row, "calculated_at") else {
            // Without it the value's age is unknown, and so is whether it is current.
            continue;
        };
        records.insert(
            (symbol.clone(), metric.clone()),
            MetricRecord {
                symbol,
                metric,
                value,
                calculated_at,
                expires_at,
                source: text(row, "source").unwrap_or_else(|| "calculated".to_string()),
            },
        );
    }
    Ok(records.into_values().collect())
}
