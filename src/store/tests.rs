use std::collections::HashMap;

use proptest::prelude::*;
use tempfile::TempDir;

use super::*;
use crate::domain::MetricsBySymbol;

const SOURCE: &str = "calculated";

fn temp_store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("calculations.db")).unwrap();
    (dir, store)
}

fn metrics(entries: &[(&str, &[(&str, f64)])]) -> MetricsBySymbol {
    entries
        .iter()
        .map(|(symbol, values)| {
            let values = values
                .iter()
                .map(|(name, value)| (name.to_string(), *value))
                .collect();
            (symbol.to_string(), values)
        })
        .collect()
}

/// One stored row: (value, calculated_at, expires_at, source).
type Row = (f64, String, Option<String>, Option<String>);

fn stored_row(store: &Store, symbol: &str, metric: &str) -> Option<Row> {
    store
        .read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT value, calculated_at, expires_at, source FROM calculated_metrics \
                 WHERE symbol = ?1 AND metric = ?2",
            )?;
            let mut rows = stmt.query(rusqlite::params![symbol, metric])?;
            match rows.next()? {
                Some(r) => Ok(Some((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))),
                None => Ok(None),
            }
        })
        .unwrap()
}

fn row_count(store: &Store) -> i64 {
    store
        .read(|conn| {
            Ok(conn.query_row("SELECT COUNT(*) FROM calculated_metrics", [], |r| r.get(0))?)
        })
        .unwrap()
}

fn user_version(conn: &rusqlite::Connection) -> usize {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn pragma_string(conn: &rusqlite::Connection, name: &str) -> String {
    conn.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
}

// ---- opening and migrations ----

#[test]
fn open_creates_parent_dirs_and_applies_migrations() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nested/deeper/calculations.db");
    let store = Store::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path.as_path());
    assert_eq!(MIGRATIONS.len(), 12);
    store
        .write(|conn| {
            assert_eq!(user_version(conn), MIGRATIONS.len());
            let tables: i64 = conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'table' AND name = 'calculated_metrics'",
                [],
                |r| r.get(0),
            )?;
            assert_eq!(tables, 1);
            Ok(())
        })
        .unwrap();
}

#[test]
fn reopen_is_idempotent_and_keeps_data() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("calculations.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .put_metric(
                "AAPL.US",
                "CAGR_5Y",
                0.182,
                "2026-01-01T03:00:00",
                None,
                SOURCE,
            )
            .unwrap();
    }
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        store
            .read(|conn| {
                assert_eq!(user_version(conn), MIGRATIONS.len());
                Ok(())
            })
            .unwrap();
        assert_eq!(row_count(&store), 1);
        assert_eq!(stored_row(&store, "AAPL.US", "CAGR_5Y").unwrap().0, 0.182);
    }
}

#[test]
fn every_connection_uses_wal_and_the_pragmas() {
    let (_dir, store) = temp_store();
    let check = |conn: &rusqlite::Connection| {
        assert_eq!(pragma_string(conn, "journal_mode"), "wal");
        assert_eq!(pragma_string(conn, "busy_timeout"), "5000");
        assert_eq!(pragma_string(conn, "foreign_keys"), "1");
        assert_eq!(pragma_string(conn, "synchronous"), "1"); // NORMAL
    };
    store
        .write(|conn| {
            check(conn);
            Ok(())
        })
        .unwrap();
    store
        .read(|conn| {
            check(conn);
            assert_eq!(pragma_string(conn, "query_only"), "1");
            Ok(())
        })
        .unwrap();
}

#[test]
fn open_adopts_an_existing_reference_database() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("calculations.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE calculated_metrics (
                symbol TEXT NOT NULL, isin TEXT, metric TEXT NOT NULL, value REAL NOT NULL,
                calculated_at TEXT NOT NULL, expires_at TEXT, source TEXT DEFAULT 'calculated',
                PRIMARY KEY (symbol, metric));
             INSERT INTO calculated_metrics VALUES ('AAPL.US', NULL, 'CAGR_5Y', 0.182,
                '2026-01-01T03:00:00', '2026-01-08T03:00:00', 'calculated');
             -- The reference keeps its own `scores` table in the same file.
             CREATE TABLE scores (symbol TEXT PRIMARY KEY, total_score REAL, calculated_at TEXT);
             INSERT INTO scores VALUES ('AAPL.US', 0.71, '2026-01-01T03:00:00');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let found = store
        .valid_metrics(&["AAPL.US"], &["CAGR_5Y"], "2026-01-05T00:00:00.000000")
        .unwrap();
    assert_eq!(found, metrics(&[("AAPL.US", &[("CAGR_5Y", 0.182)])]));
    let legacy_scores: i64 = store
        .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM scores", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(legacy_scores, 1);
}

#[test]
fn reader_connections_return_to_the_pool() {
    let (_dir, store) = temp_store();
    store
        .put_metric(
            "AAPL.US",
            "CAGR_5Y",
            0.1,
            "2026-01-01T03:00:00",
            None,
            SOURCE,
        )
        .unwrap();
    for _ in 0..5 {
        store.valid_metrics_now(&["AAPL.US"], &["CAGR_5Y"]).unwrap();
    }
    assert_eq!(lock(&store.readers).idle.len(), 1);

    // Failing reads return their connection too.
    let failed: Result<(), StoreError> =
        store.read(|conn| Ok(conn.execute_batch("SELECT * FROM no_such_table")?));
    assert!(matches!(failed, Err(StoreError::Sqlite(_))));
    assert_eq!(lock(&store.readers).idle.len(), 1);

    // Concurrent readers open more connections; at most MAX_IDLE_READERS are kept.
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                store
                    .read(|conn| {
                        barrier.wait();
                        conn.query_row("SELECT 1", [], |_| Ok(()))?;
                        Ok(())
                    })
                    .unwrap();
            });
        }
    });
    assert_eq!(lock(&store.readers).idle.len(), MAX_IDLE_READERS);
}

#[test]
fn reads_beyond_the_reader_limit_wait_for_a_returned_connection() {
    let (_dir, store) = temp_store();
    let store = &store;
    let (taken_tx, taken_rx) = std::sync::mpsc::channel::<()>();
    let mut releases = Vec::new();
    std::thread::scope(|s| {
        for _ in 0..MAX_READERS {
            let (release, released) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let taken = taken_tx.clone();
            s.spawn(move || {
                store
                    .read(|_| {
                        taken.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(())
                    })
                    .unwrap();
            });
        }
        for _ in 0..MAX_READERS {
            taken_rx.recv().unwrap();
        }
        // Every connection is in use: one more read waits instead of opening another.
        let taken = taken_tx.clone();
        let extra = s.spawn(move || {
            store
                .read(|conn| {
                    conn.query_row("SELECT 1", [], |_| Ok(()))?;
                    taken.send(()).unwrap();
                    Ok(())
                })
                .unwrap();
        });
        while lock(&store.readers).waiting == 0 {
            std::thread::yield_now();
        }
        assert_eq!(lock(&store.readers).open, MAX_READERS);
        releases[0].send(()).unwrap();
        taken_rx.recv().unwrap();
        extra.join().unwrap();
        assert_eq!(lock(&store.readers).open, MAX_READERS);
        for release in &releases[1..] {
            release.send(()).unwrap();
        }
    });
    let pool = lock(&store.readers);
    assert_eq!(pool.open, MAX_IDLE_READERS);
    assert_eq!(pool.idle.len(), MAX_IDLE_READERS);
    assert_eq!(pool.waiting, 0);
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StoreError>();
}

// ---- TTL ----

#[test]
fn ttl_null_future_past_and_equal_expiry() {
    let (_dir, store) = temp_store();
    let now = "2026-01-05T00:00:00.000000";
    let at = "2026-01-01T03:00:00";
    store
        .put_metric("NULL.US", "M", 1.0, at, None, SOURCE)
        .unwrap();
    store
        .put_metric(
            "FUTURE.US",
            "M",
            2.0,
            at,
            Some("2026-01-05T00:00:00.000001"),
            SOURCE,
        )
        .unwrap();
    store
        .put_metric(
            "PAST.US",
            "M",
            3.0,
            at,
            Some("2026-01-04T23:59:59.999999"),
            SOURCE,
        )
        .unwrap();
    store
        .put_metric("EQUAL.US", "M", 4.0, at, Some(now), SOURCE)
        .unwrap();

    let found = store
        .valid_metrics(
            &["NULL.US", "FUTURE.US", "PAST.US", "EQUAL.US"],
            &["M"],
            now,
        )
        .unwrap();
    assert_eq!(
        found,
        metrics(&[("NULL.US", &[("M", 1.0)]), ("FUTURE.US", &[("M", 2.0)])])
    );
}

#[test]
fn ttl_reference_fixture() {
    let (_dir, store) = temp_store();
    store
        .put_metric(
            "AAPL.US",
            "CAGR_5Y",
            0.182,
            "2026-01-01T03:00:00",
            Some("2026-01-08T03:00:00"),
            "calculated",
        )
        .unwrap();
    let valid = store
        .valid_metrics(&["AAPL.US"], &["CAGR_5Y"], "2026-01-05T00:00:00.000000")
        .unwrap();
    assert_eq!(valid, metrics(&[("AAPL.US", &[("CAGR_5Y", 0.182)])]));
    let expired = store
        .valid_metrics(&["AAPL.US"], &["CAGR_5Y"], "2026-01-09T00:00:00.000000")
        .unwrap();
    assert!(expired.is_empty());
}

#[test]
fn now_iso_has_the_reference_format() {
    let now = now_iso();
    assert!(
        chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%dT%H:%M:%S%.6f").is_ok(),
        "{now}"
    );
    assert_eq!(now.len(), "2026-01-05T00:00:00.000000".len(), "{now}");
}

#[test]
fn valid_metrics_now_uses_the_local_clock() {
    let (_dir, store) = temp_store();
    let at = "2026-01-01T03:00:00";
    store
        .put_metric("OLD.US", "M", 1.0, at, Some("2000-01-01T00:00:00"), SOURCE)
        .unwrap();
    store
        .put_metric("NEW.US", "M", 2.0, at, Some("9999-01-01T00:00:00"), SOURCE)
        .unwrap();
    let found = store
        .valid_metrics_now(&["OLD.US", "NEW.US"], &["M"])
        .unwrap();
    assert_eq!(found, metrics(&[("NEW.US", &[("M", 2.0)])]));
}

// ---- replace_metrics ----

#[test]
fn replace_metrics_replaces_same_keys_and_keeps_others() {
    let (_dir, store) = temp_store();
    let at = "2026-01-01T03:00:00";
    store
        .put_metric(
            "AAPL.US",
            "CAGR_5Y",
            0.1,
            at,
            Some("2026-01-08T03:00:00"),
            "sync",
        )
        .unwrap();
    store
        .put_metric("AAPL.US", "VOL", 0.2, at, None, "sync")
        .unwrap();
    store
        .put_metric("MSFT.US", "CAGR_5Y", 0.3, at, None, "sync")
        .unwrap();

    let import = store
        .replace_metrics(
            &metrics(&[("aapl.us", &[("CAGR_5Y", 0.15), ("SHARPE", 1.1)])]),
            "import",
        )
        .unwrap();
    assert_eq!(
        import,
        MetricsImport {
            symbols: 1,
            rows: 2
        }
    );
    assert_eq!(row_count(&store), 4);

    let (value, calculated_at, expires_at, source) =
        stored_row(&store, "AAPL.US", "CAGR_5Y").unwrap();
    assert_eq!(value, 0.15);
    assert_ne!(calculated_at, at);
    assert_eq!(expires_at, None, "replace clears the previous expiry");
    assert_eq!(source.as_deref(), Some("import"));

    assert_eq!(stored_row(&store, "AAPL.US", "SHARPE").unwrap().0, 1.1);
    assert_eq!(
        stored_row(&store, "aapl.us", "SHARPE"),
        None,
        "stored upper case"
    );
    assert_eq!(
        stored_row(&store, "AAPL.US", "VOL"),
        Some((0.2, at.to_string(), None, Some("sync".to_string())))
    );
    assert_eq!(stored_row(&store, "MSFT.US", "CAGR_5Y").unwrap().0, 0.3);

    // Valid far after the old expiry.
    let found = store
        .valid_metrics(&["AAPL.US"], &["CAGR_5Y"], "2099-01-01T00:00:00.000000")
        .unwrap();
    assert_eq!(found, metrics(&[("AAPL.US", &[("CAGR_5Y", 0.15)])]));
}

#[test]
fn replace_metrics_reports_counts() {
    let (_dir, store) = temp_store();
    let import = store
        .replace_metrics(
            &metrics(&[
                ("AAPL.US", &[("A", 1.0), ("B", 2.0)]),
                ("aapl.us", &[("B", 3.0), ("C", 4.0)]),
                ("MSFT.US", &[("A", 5.0)]),
                ("EMPTY.US", &[]),
            ]),
            SOURCE,
        )
        .unwrap();
    assert_eq!(
        import,
        MetricsImport {
            symbols: 2,
            rows: 4
        }
    );
    assert_eq!(row_count(&store), 4);
    // Colliding spellings: the spelling that sorts last ("aapl.us") wins.
    assert_eq!(stored_row(&store, "AAPL.US", "B").unwrap().0, 3.0);

    let empty = store
        .replace_metrics(&MetricsBySymbol::new(), SOURCE)
        .unwrap();
    assert_eq!(empty, MetricsImport::default());
}

#[test]
fn replace_metrics_rejects_nan_and_writes_nothing() {
    let (_dir, store) = temp_store();
    store
        .put_metric("KEEP.US", "A", 1.0, "2026-01-01T03:00:00", None, SOURCE)
        .unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let input = metrics(&[
            ("GOOD.US", &[("A", 1.0), ("B", 2.0)]),
            ("KEEP.US", &[("A", 3.0)]),
            ("bad.us", &[("A", 1.0), ("BROKEN", bad)]),
        ]);
        let err = store.replace_metrics(&input, SOURCE).unwrap_err();
        match &err {
            StoreError::NonFiniteValue {
                symbol,
                metric,
                value,
            } => {
                assert_eq!(symbol, "bad.us");
                assert_eq!(metric, "BROKEN");
                assert!(!value.is_finite());
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("bad.us") && message.contains("BROKEN"),
            "{message}"
        );
        assert_eq!(row_count(&store), 1);
        assert_eq!(stored_row(&store, "KEEP.US", "A").unwrap().0, 1.0);
    }
}

#[test]
fn put_metric_rejects_non_finite_values() {
    let (_dir, store) = temp_store();
    let err = store
        .put_metric(
            "AAPL.US",
            "CAGR_5Y",
            f64::NAN,
            "2026-01-01T03:00:00",
            None,
            SOURCE,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NonFiniteValue { .. }));
    assert_eq!(row_count(&store), 0);
}

// ---- valid_metrics ----

#[test]
fn valid_metrics_keys_by_the_callers_spelling() {
    let (_dir, store) = temp_store();
    store
        .replace_metrics(&metrics(&[("AAPL.US", &[("CAGR_5Y", 0.182)])]), SOURCE)
        .unwrap();
    let found = store
        .valid_metrics(&["aapl.us"], &["CAGR_5Y"], "2026-01-05T00:00:00.000000")
        .unwrap();
    assert_eq!(found, metrics(&[("aapl.us", &[("CAGR_5Y", 0.182)])]));

    let both = store
        .valid_metrics(
            &["aapl.us", "AAPL.US", "Aapl.Us", "aapl.us", "MISSING.US"],
            &["CAGR_5Y"],
            "2026-01-05T00:00:00.000000",
        )
        .unwrap();
    assert_eq!(
        both,
        metrics(&[
            ("aapl.us", &[("CAGR_5Y", 0.182)]),
            ("AAPL.US", &[("CAGR_5Y", 0.182)]),
            ("Aapl.Us", &[("CAGR_5Y", 0.182)]),
        ])
    );
}

#[test]
fn valid_metrics_filters_names() {
    let (_dir, store) = temp_store();
    store
        .replace_metrics(
            &metrics(&[
                (
                    "AAPL.US",
                    &[("CAGR_5Y", 0.1), ("VOL", 0.2), ("SHARPE", 0.3)],
                ),
                ("MSFT.US", &[("VOL", 0.4)]),
            ]),
            SOURCE,
        )
        .unwrap();
    let now = "2026-01-05T00:00:00.000000";
    let found = store
        .valid_metrics(&["AAPL.US", "MSFT.US"], &["CAGR_5Y", "SHARPE", "NOPE"], now)
        .unwrap();
    assert_eq!(
        found,
        metrics(&[("AAPL.US", &[("CAGR_5Y", 0.1), ("SHARPE", 0.3)])])
    );
    // Names are case-sensitive, as in the reference.
    assert!(
        store
            .valid_metrics(&["AAPL.US"], &["vol"], now)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn valid_metrics_with_empty_inputs_is_empty() {
    let (_dir, store) = temp_store();
    store
        .replace_metrics(&metrics(&[("AAPL.US", &[("CAGR_5Y", 0.1)])]), SOURCE)
        .unwrap();
    assert!(
        store
            .valid_metrics_now(&[], &["CAGR_5Y"])
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .valid_metrics_now(&["AAPL.US"], &[])
            .unwrap()
            .is_empty()
    );
    assert!(store.valid_metrics_now(&[], &[]).unwrap().is_empty());
    // No query: no reader connection was opened.
    assert!(lock(&store.readers).idle.is_empty());
}

#[test]
fn valid_metrics_chunks_many_symbols_and_names() {
    let (_dir, store) = temp_store();
    let symbols: Vec<String> = (0..1500).map(|i| format!("SYM{i:04}.US")).collect();
    let names: Vec<String> = (0..450).map(|i| format!("M{i:03}")).collect();

    let mut input = MetricsBySymbol::new();
    for (i, symbol) in symbols.iter().enumerate() {
        input
            .entry(symbol.clone())
            .or_default()
            .insert("M000".to_string(), i as f64);
    }
    // Two symbols carry every name, to exercise the name chunks.
    for symbol in &symbols[..2] {
        let entry = input.get_mut(symbol).unwrap();
        for (j, name) in names.iter().enumerate() {
            entry.insert(name.clone(), j as f64 + 0.5);
        }
    }
    let import = store.replace_metrics(&input, SOURCE).unwrap();
    assert_eq!(
        import,
        MetricsImport {
            symbols: 1500,
            rows: 1500 + 2 * 449
        }
    );

    // Ask with lower-case spellings plus symbols that have no rows.
    let asked: Vec<String> = symbols
        .iter()
        .map(|s| s.to_lowercase())
        .chain((0..300).map(|i| format!("none{i}.us")))
        .collect();
    let asked_refs: Vec<&str> = asked.iter().map(String::as_str).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let found = store.valid_metrics_now(&asked_refs, &name_refs).unwrap();

    let expected: MetricsBySymbol = input
        .iter()
        .map(|(symbol, values)| (symbol.to_lowercase(), values.clone()))
        .collect();
    assert_eq!(found.len(), 1500);
    assert_eq!(found, expected);
}

#[test]
fn path_is_the_opened_file() {
    let (dir, store) = temp_store();
    assert_eq!(store.path(), dir.path().join("calculations.db"));
}

// ---- round trip ----

fn finite_f64() -> impl Strategy<Value = f64> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    // Both signs, every finite class (including -0.0, which reads back as 0.0 == -0.0).
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn metrics_map() -> impl Strategy<Value = MetricsBySymbol> {
    prop::collection::hash_map(
        "[A-Z0-9]{1,6}(\\.[A-Z]{2})?",
        prop::collection::hash_map("[A-Za-z0-9_]{1,12}", finite_f64(), 1..6),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn replace_then_valid_metrics_round_trips(input in metrics_map()) {
        let (_dir, store) = temp_store();
        let import = store.replace_metrics(&input, SOURCE).unwrap();
        prop_assert_eq!(import.symbols, input.len());
        prop_assert_eq!(import.rows, input.values().map(HashMap::len).sum::<usize>());

        let symbols: Vec<&str> = input.keys().map(String::as_str).collect();
        let names: Vec<&str> = input.values().flat_map(|m| m.keys()).map(String::as_str).collect();
        let found = store.valid_metrics_now(&symbols, &names).unwrap();
        prop_assert_eq!(found, input);
    }
}

#[test]
fn replace_metrics_keeps_the_isin_of_an_existing_row() {
    let (_dir, store) = temp_store();
    store
        .write(|conn| {
            conn.execute(
                "INSERT INTO calculated_metrics VALUES ('ASML.EU', 'NL0010273215', 'CAGR_5Y', 0.1, \
                 '2026-01-01T03:00:00', '2026-01-08T03:00:00', 'calculated')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    store
        .replace_metrics(&metrics(&[("ASML.EU", &[("CAGR_5Y", 0.2)])]), "import")
        .unwrap();
    let isin: Option<String> = store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT isin FROM calculated_metrics WHERE symbol = 'ASML.EU'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(isin.as_deref(), Some("NL0010273215"));
    let (value, _, expires_at, source) = stored_row(&store, "ASML.EU", "CAGR_5Y").unwrap();
    assert_eq!(
        (value, expires_at, source.as_deref()),
        (0.2, None, Some("import"))
    );
}
