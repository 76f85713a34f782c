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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::domain::Currency;
    use crate::store::SecurityRecord;

    /// The reference's table (external contracts §4.3).
    const SCHEMA: &str = "CREATE TABLE calculated_metrics (
        symbol TEXT NOT NULL, isin TEXT, metric TEXT NOT NULL, value REAL NOT NULL,
        calculated_at TEXT NOT NULL, expires_at TEXT, source TEXT DEFAULT 'calculated',
        PRIMARY KEY (symbol, metric))";

    const NOW: &str = "2026-01-02T12:00:00.000000";

    fn insert(conn: &Connection, symbol: &str, metric: &str, value: f64, expires: Option<&str>) {
        conn.execute(
            "INSERT OR REPLACE INTO calculated_metrics \
             (symbol, isin, metric, value, calculated_at, expires_at, source) \
             VALUES (?1, NULL, ?2, ?3, '2026-01-01T03:00:00', ?4, 'calculated')",
            rusqlite::params![symbol, metric, value, expires],
        )
        .unwrap();
    }

    /// Our store with AAPL.US and ASML.EU active, and the scoring service's calculations.db
    /// in `journal` mode, as the service's writer connection leaves it.
    fn setup(journal: &str) -> (tempfile::TempDir, Store, std::path::PathBuf, Connection) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(&dir.path().join("planner.db")).unwrap();
        store
            .insert_missing_securities(&[
                SecurityRecord::new("AAPL.US", "Apple", Currency::new("USD").unwrap()),
                SecurityRecord::new("ASML.EU", "ASML", Currency::EUR),
            ])
            .unwrap();
        let path = dir.path().join("calculations.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", journal).unwrap();
        writer.execute(SCHEMA, []).unwrap();
        // The §8.9 fixture rows, one expired, one of a security outside our universe, and one
        // spelled in lower case.
        insert(
            &writer,
            "AAPL.US",
            "CAGR_5Y",
            0.182,
            Some("2026-01-08T03:00:00"),
        );
        insert(&writer, "AAPL.US", "DIVIDEND_YIELD", 0.0045, None);
        insert(
            &writer,
            "AAPL.US",
            "RSI_14",
            58.2,
            Some("2026-01-02T03:00:00"),
        );
        insert(&writer, "MSFT.US", "CAGR_5Y", 0.2, None);
        insert(
            &writer,
            "asml.eu",
            "MAX_DRAWDOWN",
            -0.391,
            Some("2026-01-03T03:00:00"),
        );
        (dir, store, path, writer)
    }

    fn stored(store: &Store) -> Vec<(String, String, f64, Option<String>)> {
        store
            .metric_origins()
            .unwrap()
            .into_iter()
            .map(|o| {
                let value = store
                    .valid_metrics(&[&o.symbol], &[&o.metric], NOW)
                    .unwrap()[&o.symbol][&o.metric];
                (o.symbol, o.metric, value, o.expires_at)
            })
            .collect()
    }

    #[test]
    fn valid_metrics_are_copied_with_their_expiry_while_the_service_writes() {
        for journal in ["wal", "delete"] {
            let (_dir, store, path, mut writer) = setup(journal);
            // The service is in the middle of writing a security's rows.
            let tx = writer.transaction().unwrap();
            insert(&tx, "ASML.EU", "CAGR_5Y", 0.214, None);
            assert_eq!(copy_metrics(&store, &path, NOW).unwrap(), 3, "{journal}");
            assert_eq!(
                stored(&store),
                [
                    (
                        "AAPL.US".into(),
                        "CAGR_5Y".into(),
                        0.182,
                        Some("2026-01-08T03:00:00".into())
                    ),
                    ("AAPL.US".into(), "DIVIDEND_YIELD".into(), 0.0045, None),
                    (
                        "ASML.EU".into(),
                        "MAX_DRAWDOWN".into(),
                        -0.391,
                        Some("2026-01-03T03:00:00".into())
                    ),
                ],
                "{journal}: committed, valid rows of our securities only"
            );
            // The read left no lock behind: the service commits at once, and the next copy
            // sees its row.
            tx.commit().unwrap();
            assert_eq!(copy_metrics(&store, &path, NOW).unwrap(), 4, "{journal}");
        }
    }

    #[test]
    fn a_file_that_cannot_be_read_keeps_the_stored_metrics() {
        let (_dir, store, path, writer) = setup("delete");
        copy_metrics(&store, &path, NOW).unwrap();
        let before = stored(&store);
        // The service holds the file exclusively (a commit in progress in rollback mode).
        writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let error = copy_metrics(&store, &path, NOW).unwrap_err();
        assert!(error.to_string().contains("locked"), "{error}");
        writer.execute_batch("ROLLBACK").unwrap();
        let missing = path.with_file_name("missing.db");
        assert!(copy_metrics(&store, &missing, NOW).is_err());
        assert!(!missing.exists(), "a missing file is never created");
        assert_eq!(stored(&store), before);
    }
}
