use chrono::NaiveDate;
use rusqlite::Connection;
use rusqlite_migration::Migrations;

use super::test_support::temp_store;
use super::{DailyValue, MIGRATIONS, Store};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A database from before a day's deposits were read from the ledger: two days, the second
/// with a deposit kept both in `portfolio_values` and in `deposits`, as the service wrote them.
fn database_with_deposits_kept_per_day(path: &std::path::Path) {
    let mut conn = Connection::open(path).unwrap();
    Migrations::from_slice(&MIGRATIONS[..9])
        .to_latest(&mut conn)
        .unwrap();
    conn.execute_batch(
        "INSERT INTO portfolio_values (day, value_eur, deposit_eur, backfilled, recorded_at) \
         VALUES ('2026-01-05', '1000.00', '0.00', 1, 't1'), \
                ('2026-01-06', '1350.00', '250.00', 0, 't2'); \
         INSERT INTO deposits (amount_minor, currency, deposited_at) \
         VALUES (25000, 'EUR', '2026-01-06T09:00:00.000000');",
    )
    .unwrap();
}

#[test]
fn the_migration_drops_the_days_deposit_column_and_keeps_the_values_and_days() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("planner.db");
    database_with_deposits_kept_per_day(&path);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.daily_values().unwrap(),
        [
            DailyValue {
                day: day("2026-01-05"),
                value_eur: 1000.0,
                backfilled: true
            },
            DailyValue {
                day: day("2026-01-06"),
                value_eur: 1350.0,
                backfilled: false
            },
        ]
    );
    let columns: Vec<String> = store
        .read(|conn| {
            let mut stmt = conn
                .prepare("SELECT name FROM pragma_table_info('portfolio_values') ORDER BY cid")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(columns, ["day", "value_eur", "backfilled", "recorded_at"]);
    // The day's deposit now comes from the ledger, as it was.
    let history = crate::portfolio_history::history(&store, day("2026-01-06"), 30).unwrap();
    let deposits: Vec<f64> = history.points.iter().map(|p| p.deposit_eur).collect();
    assert_eq!(deposits, [0.0, 250.0]);
}

#[test]
fn a_days_value_is_replaced_by_a_later_record_and_kept_from_a_backfill() {
    let (_dir, store) = temp_store();
    store
        .put_backfilled_values(&[(day("2026-01-05"), 900.0)], "t1")
        .unwrap();
    store
        .put_daily_value(day("2026-01-05"), 1000.0, "t2")
        .unwrap();
    store
        .put_daily_value(day("2026-01-05"), 1000.004, "t3")
        .unwrap();
    assert_eq!(
        store
            .put_backfilled_values(&[(day("2026-01-05"), 1.0)], "t4")
            .unwrap(),
        0
    );
    assert_eq!(
        store.daily_values().unwrap(),
        [DailyValue {
            day: day("2026-01-05"),
            value_eur: 1000.0,
            backfilled: false
        }]
    );
    assert!(store.put_daily_value(day("2026-01-06"), -1.0, "t").is_err());
}

#[test]
fn values_computed_from_invented_closes_are_not_written_once_the_demo_is_left() {
    let (_dir, store) = temp_store();
    let close = super::DailyClose {
        symbol: "SAP.EU".into(),
        day: day("2026-01-05"),
        close: 100.0,
    };
    store
        .put_invented_closes(std::slice::from_ref(&close))
        .unwrap();
    // A back-fill read one invented close; the demo is left before it writes.
    let invented = store.invented_close_count().unwrap();
    assert_eq!(invented, 1);
    store.forget_demo_derived("history").unwrap();
    let values = [(day("2026-01-05"), 900.0)];
    assert_eq!(
        store
            .put_backfilled_values_computed_with(&values, "t1", invented)
            .unwrap(),
        0
    );
    assert!(store.daily_values().unwrap().is_empty());
    // Values computed without invented closes, or while they are still there, are written.
    assert_eq!(
        store
            .put_backfilled_values_computed_with(&values, "t2", 0)
            .unwrap(),
        1
    );
    store
        .put_invented_closes(std::slice::from_ref(&close))
        .unwrap();
    let later = [(day("2026-01-06"), 910.0)];
    assert_eq!(
        store
            .put_backfilled_values_computed_with(&later, "t3", 1)
            .unwrap(),
        1
    );
}
