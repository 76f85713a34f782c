use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;
use tempfile::TempDir;

use super::legacy::test_fixtures::*;
use super::legacy::{LegacyError, LegacyKind, LegacyReport, import_legacy};
use super::test_support::{dec, temp_store};
use super::*;
use crate::domain::{Currency, Money, Quantity, Side};

/// Every file of a folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn names(snapshot: &BTreeMap<String, Vec<u8>>) -> BTreeSet<&str> {
    snapshot.keys().map(String::as_str).collect()
}

fn import(store: &Store, dir: &Path) -> LegacyReport {
    import_legacy(store, dir).unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn counts(report: &LegacyReport, kind: LegacyKind) -> (usize, usize) {
    let k = report.kind(kind);
    (k.taken, k.skipped)
}

fn has_example(report: &LegacyReport, kind: LegacyKind, fragment: &str) -> bool {
    report
        .kind(kind)
        .skip_examples
        .iter()
        .any(|e| e.contains(fragment))
}

fn has_note(report: &LegacyReport, kind: LegacyKind, fragment: &str) -> bool {
    report.kind(kind).notes.iter().any(|n| n.contains(fragment))
}

#[test]
fn every_kind_lands_with_exact_values() {
    let legacy = legacy_folder();
    let (_db, store) = temp_store();
    let report = import(&store, legacy.path());

    // Securities: symbol upper case, TEST is EUR, defaults of the reference.
    assert_eq!(counts(&report, LegacyKind::Securities), (4, 1));
    assert!(has_example(
        &report,
        LegacyKind::Securities,
        "BAD.US: unknown currency \"US$\""
    ));
    let aapl = store.security("AAPL.US").unwrap().unwrap();
    assert_eq!(aapl.currency, Currency::USD);
    assert_eq!(aapl.isin.as_deref(), Some("US0378331005"));
    assert_eq!(aapl.country.as_deref(), Some("United States"));
    assert!(aapl.allow_sell && aapl.active);
    assert_eq!(
        store
            .security("ASML.EU")
            .unwrap()
            .unwrap()
            .priority_multiplier,
        1.5
    );
    assert_eq!(store.security("0700.AS").unwrap().unwrap().min_lot, 100);
    let test = store.security("TEST.SEC").unwrap().unwrap();
    assert_eq!(test.symbol, "TEST.SEC");
    assert_eq!(test.currency, Currency::EUR);
    assert!(!test.active && !test.allow_sell && test.allow_buy);
    assert!(store.security("BAD.US").unwrap().is_none());

    // Targets: fractions, the older country row superseded by the group rows.
    assert_eq!(counts(&report, LegacyKind::AllocationTargets), (4, 1));
    assert!(has_example(
        &report,
        LegacyKind::AllocationTargets,
        "superseded by the country_group targets"
    ));
    let targets = store.allocation_targets().unwrap();
    let eu = targets
        .iter()
        .find(|t| t.kind == TargetKind::Country && t.group == "EU")
        .unwrap();
    assert_eq!(eu.target, dec("0.5"));
    let tech = targets
        .iter()
        .find(|t| t.kind == TargetKind::Industry)
        .unwrap();
    assert_eq!(
        (tech.group.as_str(), tech.target),
        ("Technology", dec("0.6"))
    );

    // Groups: a country in two groups keeps the first.
    assert_eq!(counts(&report, LegacyKind::AllocationGroups), (6, 1));
    assert!(has_example(
        &report,
        LegacyKind::AllocationGroups,
        "Netherlands in ASIA: already in group EU"
    ));
    let groups = store.allocation_groups().unwrap();
    assert!(groups.contains(&AllocationGroup {
        kind: TargetKind::Industry,
        member: "Semiconductors".into(),
        group: "Technology".into(),
    }));

    // Settings: every key, as text, readable by the typed accessors.
    assert_eq!(counts(&report, LegacyKind::Settings), (6, 0));
    assert_eq!(
        store.setting("transaction_cost_fixed").unwrap().as_deref(),
        Some("2.0")
    );
    assert_eq!(
        store.eur_setting(keys::MIN_CASH_RESERVE).unwrap(),
        Money::from_minor(50_000, Currency::EUR)
    );
    assert_eq!(
        store.ratio_setting(keys::TRANSACTION_COST_PERCENT).unwrap(),
        dec("0.002")
    );
    assert_eq!(store.count_setting(keys::BUY_COOLDOWN_DAYS).unwrap(), 30);
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Research);

    // FX: 1 EUR = 1.04 USD, so 100 USD = 96.15 EUR; EUR→HKD 0.12 means 1 EUR = 1/0.12 HKD.
    assert_eq!(counts(&report, LegacyKind::FxRates), (2, 2));
    let usd = store.fx_rate(Currency::USD).unwrap().unwrap();
    assert_eq!(usd.per_eur(), dec("1.04"));
    assert_eq!(
        usd.to_eur(Money::from_minor(10_000, Currency::USD))
            .unwrap(),
        Money::from_minor(9_615, Currency::EUR)
    );
    let hkd = store.fx_rate(Currency::HKD).unwrap().unwrap();
    assert_eq!(hkd.per_eur(), dec("8.333333333333"));
    assert_eq!(
        hkd.to_eur(Money::from_minor(83_300, Currency::HKD))
            .unwrap(),
        Money::from_minor(9_996, Currency::EUR)
    );
    assert!(has_example(
        &report,
        LegacyKind::FxRates,
        "GBP→USD: not a rate against EUR"
    ));
    assert!(has_example(
        &report,
        LegacyKind::FxRates,
        "CHF→EUR: rate 0 is not positive"
    ));
    assert!(store.fx_rate(Currency::GBP).unwrap().is_none());

    // Positions: exact decimals, the fractional HKD holding kept, a stub for the unknown one.
    assert_eq!(counts(&report, LegacyKind::Positions), (3, 1));
    assert!(has_example(
        &report,
        LegacyKind::Positions,
        "ZERO.US: zero quantity"
    ));
    let positions = store.positions().unwrap();
    let tencent = positions.iter().find(|p| p.symbol == "0700.AS").unwrap();
    assert_eq!(tencent.quantity, "0.5".parse::<Quantity>().unwrap());
    assert_eq!(tencent.avg_price, dec("300.1"));
    assert_eq!(tencent.currency, Currency::HKD);
    let apple = positions.iter().find(|p| p.symbol == "AAPL.US").unwrap();
    assert_eq!(apple.quantity, Quantity::from_shares(10).unwrap());
    assert_eq!(apple.avg_price, dec("150.25"));
    let nokia = store.security("NOKIA.EU").unwrap().unwrap();
    assert_eq!(nokia.currency, Currency::EUR);
    assert!(!nokia.allow_buy);
    assert!(has_note(&report, LegacyKind::Positions, "NOKIA.EU"));

    // Quotes from current_price; a zero price is skipped.
    assert_eq!(counts(&report, LegacyKind::Quotes), (2, 1));
    let quote = store.quote("AAPL.US").unwrap().unwrap();
    assert_eq!(quote.price, dec("190.5"));
    assert_eq!(quote.currency, Currency::USD);
    assert_eq!(quote.as_of, "2026-01-04T10:00:00");
    assert_eq!(quote.source, "import");
    assert!(store.quote("NOKIA.EU").unwrap().is_none());

    // Cash: the latest snapshot's EUR total, rounded half-even to the cent.
    assert_eq!(counts(&report, LegacyKind::Cash), (1, 0));
    assert_eq!(
        store.cash_balances().unwrap(),
        vec![Money::from_minor(123_457, Currency::EUR)]
    );
    assert!(has_note(&report, LegacyKind::Cash, "EUR total"));

    // Trades: order ids kept, a key for the row without one, lower-case sides read.
    let trades_report = report.kind(LegacyKind::Trades);
    assert_eq!(
        (
            trades_report.taken,
            trades_report.already_imported,
            trades_report.skipped
        ),
        (3, 0, 3)
    );
    assert!(has_example(
        &report,
        LegacyKind::Trades,
        "ledger id 3 (AAPL.US): zero quantity"
    ));
    assert!(has_example(
        &report,
        LegacyKind::Trades,
        "ledger id 4 (MSFT.US): unknown side \"HOLD\""
    ));
    assert!(has_example(&report, LegacyKind::Trades, "ledger id 6"));
    let sold = store.trades(Some("asml.eu")).unwrap();
    assert_eq!(sold.len(), 1);
    let sold = &sold[0].trade;
    assert_eq!(sold.side, Side::Sell);
    assert_eq!(sold.order_id.as_deref(), Some("418800001"));
    assert_eq!(sold.price, dec("690"));
    assert_eq!(sold.executed_at, "2025-12-20T14:03:11");
    assert_eq!(sold.source, TradeSource::Import);
    assert_eq!(sold.fx_per_eur, None);
    let bought = &store.trades(Some("AAPL.US")).unwrap()[0].trade;
    assert_eq!(bought.side, Side::Buy);
    assert_eq!(bought.order_id, None);
    assert_eq!(bought.idempotency_key.as_deref(), Some("legacy-ledger-2"));
    assert_eq!(bought.fx_per_eur, Some(dec("1.04")));
    assert_eq!(bought.quantity, Quantity::from_shares(2).unwrap());
    let research = &store.trades(Some("0700.AS")).unwrap()[0].trade;
    assert_eq!(research.order_id.as_deref(), Some("RESEARCH_5"));
    assert_eq!(research.quantity, "0.5".parse::<Quantity>().unwrap());
    // 0.12 is the inverse of what value_eur implies, so it is not kept as a rate.
    assert_eq!(research.fx_per_eur, None);
    assert!(has_note(&report, LegacyKind::Trades, "(its inverse)"));

    // Metrics with their own times and sources; expired rows are kept but not valid.
    assert_eq!(counts(&report, LegacyKind::Metrics), (7, 1));
    assert!(has_example(
        &report,
        LegacyKind::Metrics,
        "ASML.EU EMA_200: value is not a finite number"
    ));
    assert!(has_note(&report, LegacyKind::Metrics, "expired"));
    let valid = store
        .valid_metrics(
            &["AAPL.US", "ASML.EU"],
            &[
                "CAGR_5Y",
                "DIVIDEND_YIELD",
                "SHARPE",
                "MAX_DRAWDOWN",
                "PE_RATIO",
                "RSI_14",
            ],
            "2026-01-05T00:00:00",
        )
        .unwrap();
    assert_eq!(valid["AAPL.US"]["CAGR_5Y"], 0.182);
    assert_eq!(valid["AAPL.US"]["DIVIDEND_YIELD"], 0.0045);
    assert_eq!(valid["AAPL.US"]["SHARPE"], 1.21);
    assert!(!valid["AAPL.US"].contains_key("MAX_DRAWDOWN"));
    assert_eq!(valid["ASML.EU"]["PE_RATIO"], 31.2);
    assert!(!valid["ASML.EU"].contains_key("RSI_14"));
    let times = store
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT calculated_at, expires_at, source FROM calculated_metrics \
                 WHERE symbol = 'AAPL.US' AND metric = 'DIVIDEND_YIELD'",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )?)
        })
        .unwrap();
    assert_eq!(
        times,
        (
            "2026-01-01T03:00:00".into(),
            "2026-01-31T03:00:00".into(),
            "yahoo".into()
        )
    );

    // Scores: total and the non-null component columns.
    assert_eq!(counts(&report, LegacyKind::Scores), (1, 1));
    assert!(has_example(
        &report,
        LegacyKind::Scores,
        "ASML.EU: no total score"
    ));
    let score = store.score("AAPL.US").unwrap().unwrap();
    assert_eq!(score.total_score, 0.72);
    assert_eq!(score.calculated_at, "2026-01-01T03:00:00");
    let components: Vec<(&str, f64)> = score
        .components
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        components,
        vec![
            ("analyst", 0.7),
            ("cagr", 0.9),
            ("consistency", 0.75),
            ("opportunity", 0.6),
            ("quality", 0.8),
        ]
    );

    // Every written kind is marked fresh from the import.
    for kind in LegacyKind::ALL {
        let freshness = store.data_freshness(kind.freshness_key()).unwrap();
        let freshness = freshness.unwrap_or_else(|| panic!("{kind:?} not marked"));
        assert_eq!(freshness.source, "import");
        assert!(!freshness.stale);
    }
}

#[test]
fn the_legacy_files_are_left_byte_identical_and_nothing_is_added() {
    let legacy = legacy_folder();
    let before = snapshot(legacy.path());
    assert_eq!(
        names(&before),
        BTreeSet::from([
            "calculations.db",
            "config.db",
            "ledger.db",
            "rates.db",
            "state.db"
        ]),
        "the fixture leaves no -wal/-shm behind"
    );
    let (_db, store) = temp_store();
    import(&store, legacy.path());
    import(&store, legacy.path());
    let after = snapshot(legacy.path());
    assert_eq!(names(&after), names(&before));
    assert!(before == after, "a legacy file changed");
}

#[test]
fn a_second_import_records_no_trade_twice_and_changes_nothing() {
    let legacy = legacy_folder();
    let (_db, store) = temp_store();
    let first = import(&store, legacy.path());
    let securities = store.securities().unwrap();
    let positions = store.positions().unwrap();
    let cash = store.cash_balances().unwrap();
    let trades = store.trades(None).unwrap();

    let second = import(&store, legacy.path());
    let trades_report = second.kind(LegacyKind::Trades);
    assert_eq!(
        (trades_report.taken, trades_report.already_imported),
        (0, 3)
    );
    assert!(second.to_string().contains("0 new, 3 already imported"));
    assert_eq!(store.trades(None).unwrap(), trades);
    assert_eq!(store.securities().unwrap(), securities);
    assert_eq!(store.positions().unwrap(), positions);
    // The balance came from an import, so a second import may replace it (with itself).
    assert_eq!(store.cash_balances().unwrap(), cash);
    for kind in LegacyKind::ALL {
        if kind != LegacyKind::Trades {
            assert_eq!(
                counts(&second, kind),
                counts(&first, kind),
                "{kind:?} differs on the second run"
            );
        }
    }
}

#[test]
fn missing_files_and_tables_are_reported_not_fatal() {
    let dir = TempDir::new().unwrap();
    legacy_db(
        dir.path(),
        "config.db",
        &format!("{CONFIG_SCHEMA}{}", config_rows()),
    );
    // A calculations.db from before the scores table existed.
    legacy_db(
        dir.path(),
        "calculations.db",
        "CREATE TABLE calculated_metrics (symbol TEXT NOT NULL, metric TEXT NOT NULL, \
         value REAL NOT NULL, calculated_at TEXT NOT NULL, PRIMARY KEY (symbol, metric));
         INSERT INTO calculated_metrics VALUES ('AAPL.US', 'SHARPE', 1.5, '2026-01-01T03:00:00');",
    );
    let (_db, store) = temp_store();
    let report = import(&store, dir.path());

    let status = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("config.db"), "read");
    assert_eq!(status("rates.db"), "not found, FX rates not imported");
    assert_eq!(status("ledger.db"), "not found, trades not imported");
    let fx = report.kind(LegacyKind::FxRates);
    assert_eq!(fx.unavailable.as_deref(), Some("rates.db: not found"));
    assert_eq!(
        report.kind(LegacyKind::Positions).unavailable.as_deref(),
        Some("state.db: not found")
    );
    assert_eq!(
        report.kind(LegacyKind::Scores).unavailable.as_deref(),
        Some("calculations.db has no table scores")
    );
    // A column the old schema lacks reads as NULL.
    assert_eq!(counts(&report, LegacyKind::Metrics), (1, 0));
    let valid = store
        .valid_metrics(&["AAPL.US"], &["SHARPE"], "2030-01-01T00:00:00")
        .unwrap();
    assert_eq!(valid["AAPL.US"]["SHARPE"], 1.5);
    assert_eq!(counts(&report, LegacyKind::Securities), (4, 1));
    assert!(store.data_freshness("fx").unwrap().is_none());
    // Currencies with no rate are pointed out.
    assert!(has_note(&report, LegacyKind::FxRates, "no FX rate for USD"));

    let text = report.to_string();
    assert!(text.contains("rates.db         not found, FX rates not imported"));
    assert!(text.contains("rates.db: not found"));
}

#[test]
fn a_folder_without_legacy_files_is_an_error() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a database").unwrap();
    let (_db, store) = temp_store();
    let error = import_legacy(&store, dir.path()).unwrap_err();
    assert!(matches!(error, LegacyError::NoLegacyFiles(_)), "{error}");
    assert!(error.to_string().contains("config.db, state.db"));

    let file = dir.path().join("notes.txt");
    let error = import_legacy(&store, &file).unwrap_err();
    assert!(matches!(error, LegacyError::NotADirectory(_)), "{error}");
    assert!(store.securities().unwrap().is_empty());
}

#[test]
fn files_that_are_not_databases_are_reported() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("config.db"), "this is not SQLite").unwrap();
    let (_db, store) = temp_store();
    let error = import_legacy(&store, dir.path()).unwrap_err();
    assert!(matches!(error, LegacyError::Unreadable { .. }), "{error}");

    legacy_db(
        dir.path(),
        "rates.db",
        &format!("{RATES_SCHEMA}{}", rates_rows()),
    );
    let report = import(&store, dir.path());
    let config = report.files.iter().find(|f| f.name == "config.db").unwrap();
    assert!(
        config.status.starts_with("cannot read"),
        "{}",
        config.status
    );
    assert_eq!(counts(&report, LegacyKind::FxRates), (2, 2));
}

#[test]
fn rows_still_in_the_wal_of_a_running_autotrader_are_read() {
    let dir = TempDir::new().unwrap();
    legacy_db(dir.path(), "state.db", STATE_SCHEMA);
    // A writer that keeps its connection open and never checkpoints, like a running
    // autoTrader between checkpoints: the row exists only in state.db-wal.
    let writer = Connection::open(dir.path().join("state.db")).unwrap();
    writer
        .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .unwrap();
    writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    writer
        .execute(
            "INSERT INTO positions (symbol, quantity, avg_price, currency) \
             VALUES ('AAPL.US', 0.25, 100.0, 'USD')",
            [],
        )
        .unwrap();
    let before = snapshot(dir.path());
    assert!(names(&before).contains("state.db-wal"));

    let (_db, store) = temp_store();
    let report = import(&store, dir.path());
    assert_eq!(counts(&report, LegacyKind::Positions), (1, 0));
    assert_eq!(
        store.positions().unwrap()[0].quantity,
        "0.25".parse::<Quantity>().unwrap()
    );
    let after = snapshot(dir.path());
    assert_eq!(names(&after), names(&before));
    assert_eq!(after["state.db"], before["state.db"]);
    assert_eq!(after["state.db-wal"], before["state.db-wal"]);
    drop(writer);
}

#[cfg(unix)]
#[test]
fn a_read_only_folder_can_be_imported() {
    use std::os::unix::fs::PermissionsExt;

    let legacy = legacy_folder();
    let before = snapshot(legacy.path());
    let set_mode = |mode| {
        std::fs::set_permissions(legacy.path(), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set_mode(0o555);
    let (_db, store) = temp_store();
    let result = import_legacy(&store, legacy.path());
    set_mode(0o755);
    let report = result.unwrap();
    assert_eq!(counts(&report, LegacyKind::Trades), (3, 3));
    assert!(snapshot(legacy.path()) == before);
}

#[test]
fn folder_names_with_uri_characters_are_read() {
    let parent = TempDir::new().unwrap();
    let dir = parent.path().join("auto trader?mode=rw#1 100%");
    std::fs::create_dir(&dir).unwrap();
    legacy_db(&dir, "rates.db", &format!("{RATES_SCHEMA}{}", rates_rows()));
    let (_db, store) = temp_store();
    let report = import(&store, &dir);
    assert_eq!(counts(&report, LegacyKind::FxRates), (2, 2));
    assert_eq!(snapshot(&dir).keys().collect::<Vec<_>>(), vec!["rates.db"]);
}

#[test]
fn both_directions_of_a_rate_give_the_same_conversion() {
    for (code, per_eur, inverse, amount_minor, eur_minor) in [
        ("USD", "1.04", "0.9615384615384616", 10_000, 9_615),
        ("GBP", "0.85", "1.1764705882352942", 10_000, 11_765),
        ("HKD", "8.33", "0.12004801920768307", 100_000, 12_005),
    ] {
        let currency = Currency::new(code).unwrap();
        for (from, to, rate) in [(code, "EUR", per_eur), ("EUR", code, inverse)] {
            let dir = TempDir::new().unwrap();
            legacy_db(
                dir.path(),
                "rates.db",
                &format!(
                    "{RATES_SCHEMA} INSERT INTO exchange_rates VALUES \
                     ('{from}', '{to}', {rate}, {T}, {T});"
                ),
            );
            let (_db, store) = temp_store();
            import(&store, dir.path());
            let stored = store.fx_rate(currency).unwrap().unwrap();
            let eur = stored
                .to_eur(Money::from_minor(amount_minor, currency))
                .unwrap();
            assert_eq!(
                eur,
                Money::from_minor(eur_minor, Currency::EUR),
                "{from}→{to} {rate}: 1 EUR = {} {code}",
                stored.per_eur()
            );
        }
    }
}

#[test]
fn the_older_stocks_table_and_missing_columns_still_import() {
    let dir = TempDir::new().unwrap();
    legacy_db(
        dir.path(),
        "config.db",
        &format!(
            "CREATE TABLE stocks (symbol TEXT PRIMARY KEY, yahoo_symbol TEXT, name TEXT NOT NULL, \
             industry TEXT, geography TEXT NOT NULL, priority_multiplier REAL DEFAULT 1.0, \
             min_lot INTEGER DEFAULT 1, active INTEGER DEFAULT 1, allow_buy INTEGER DEFAULT 1, \
             allow_sell INTEGER DEFAULT 0, currency TEXT, created_at TEXT NOT NULL, \
             updated_at TEXT NOT NULL);
             INSERT INTO stocks (symbol, name, geography, min_lot, currency, created_at, updated_at)
             VALUES ('SAP.DE', 'SAP', 'EU', 0, 'EUR', {T}, {T});"
        ),
    );
    let (_db, store) = temp_store();
    let report = import(&store, dir.path());
    assert_eq!(counts(&report, LegacyKind::Securities), (1, 0));
    assert!(has_note(
        &report,
        LegacyKind::Securities,
        "older stocks table"
    ));
    let sap = store.security("SAP.DE").unwrap().unwrap();
    assert_eq!((sap.min_lot, sap.isin, sap.allow_sell), (1, None, false));
}

#[test]
fn broker_synced_positions_and_cash_are_not_overwritten() {
    let legacy = legacy_folder();
    let (_db, store) = temp_store();
    store
        .upsert_security(&SecurityRecord::new("MSFT.US", "Microsoft", Currency::USD))
        .unwrap();
    let held = PositionRecord {
        symbol: "MSFT.US".into(),
        quantity: Quantity::from_shares(4).unwrap(),
        avg_price: dec("400"),
        currency: Currency::USD,
    };
    store
        .replace_positions(std::slice::from_ref(&held), AllowEmpty::No)
        .unwrap();
    store
        .mark_refreshed("positions", "tradernet", "2026-01-05T10:00:00")
        .unwrap();
    let usd_cash = Money::from_minor(50_000, Currency::USD);
    store.set_cash_balance(usd_cash).unwrap();
    store
        .mark_refreshed("cash", "tradernet", "2026-01-05T10:00:00")
        .unwrap();

    let report = import(&store, legacy.path());
    assert_eq!(store.positions().unwrap(), vec![held]);
    assert_eq!(store.cash_balances().unwrap(), vec![usd_cash]);
    assert_eq!(counts(&report, LegacyKind::Positions), (0, 4));
    assert!(has_example(&report, LegacyKind::Positions, "tradernet"));
    assert_eq!(counts(&report, LegacyKind::Cash), (0, 1));
    assert!(has_example(&report, LegacyKind::Cash, "counted twice"));
    // Securities only the database knows stay active.
    assert!(store.security("MSFT.US").unwrap().unwrap().active);
    assert_eq!(
        store.data_freshness("positions").unwrap().unwrap().source,
        "tradernet"
    );
}

#[test]
fn the_demo_dataset_is_replaced_and_its_securities_retired() {
    let legacy = legacy_folder();
    let (_db, store) = temp_store();
    store
        .replace_securities(
            &[SecurityRecord::new("DEMO.US", "Demo Corp", Currency::USD)],
            AllowEmpty::No,
        )
        .unwrap();
    let demo_position = PositionRecord {
        symbol: "DEMO.US".into(),
        quantity: Quantity::from_shares(5).unwrap(),
        avg_price: dec("10"),
        currency: Currency::USD,
    };
    store
        .replace_positions(&[demo_position], AllowEmpty::No)
        .unwrap();
    store
        .set_cash_balance(Money::from_minor(1_000_000, Currency::EUR))
        .unwrap();
    for kind in ["securities", "positions", "cash"] {
        store
            .mark_refreshed(kind, "demo", "2026-01-05T10:00:00")
            .unwrap();
    }

    let report = import(&store, legacy.path());
    assert_eq!(counts(&report, LegacyKind::Positions), (3, 1));
    assert!(
        store
            .positions()
            .unwrap()
            .iter()
            .all(|p| p.symbol != "DEMO.US")
    );
    assert_eq!(
        store.cash_balances().unwrap(),
        vec![Money::from_minor(123_457, Currency::EUR)]
    );
    assert!(!store.security("DEMO.US").unwrap().unwrap().active);
    assert!(has_note(
        &report,
        LegacyKind::Securities,
        "1 security of the demo dataset marked inactive"
    ));
}

#[test]
fn live_trading_mode_is_not_switched_on_by_an_import() {
    let dir = TempDir::new().unwrap();
    legacy_db(
        dir.path(),
        "config.db",
        &format!(
            "{CONFIG_SCHEMA} INSERT INTO settings (key, value, updated_at) VALUES \
             ('trading_mode', 'live', {T}), ('beam_width', '12', {T});"
        ),
    );
    let (_db, store) = temp_store();
    let report = import(&store, dir.path());
    assert_eq!(counts(&report, LegacyKind::Settings), (1, 1));
    assert!(has_example(&report, LegacyKind::Settings, "trading_mode"));
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Research);
    assert_eq!(store.count_setting(keys::BEAM_WIDTH).unwrap(), 12);
}

#[test]
fn the_report_reads_as_a_table() {
    let legacy = legacy_folder();
    let (_db, store) = temp_store();
    let text = import(&store, legacy.path()).to_string();
    for line in [
        "  config.db        read",
        "  kind                  taken  skipped",
        "  securities                4        1",
        "  trades                    3        3  3 new, 0 already imported",
        "skipped:",
        "  trades: ledger id 4 (MSFT.US): unknown side \"HOLD\"",
        "notes:",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
}
