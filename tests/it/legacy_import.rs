//! `trading-planner import legacy DIR`: an autoTrader data folder loaded through the binary.

use std::path::Path;

use rusqlite::Connection;
use trading_planner::domain::{Currency, Money, Quantity, Side};
use trading_planner::store::Store;

use crate::cli::run_cli;

/// Writes one autoTrader file in WAL mode, as autoTrader does; closing removes -wal and -shm.
fn legacy_db(dir: &Path, name: &str, sql: &str) {
    let conn = Connection::open(dir.join(name)).unwrap();
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .unwrap();
    conn.execute_batch(sql).unwrap();
}

/// A small autoTrader folder: the reference's tables (external contracts §4) with the fixture
/// rows of §8.9 and a few more.
fn autotrader_folder(dir: &Path) {
    legacy_db(
        dir,
        "config.db",
        "CREATE TABLE securities (symbol TEXT PRIMARY KEY, yahoo_symbol TEXT, isin TEXT,
             name TEXT NOT NULL, product_type TEXT, industry TEXT, country TEXT,
             fullExchangeName TEXT, priority_multiplier REAL DEFAULT 1.0,
             min_lot INTEGER DEFAULT 1, active INTEGER DEFAULT 1, allow_buy INTEGER DEFAULT 1,
             allow_sell INTEGER DEFAULT 0, currency TEXT, last_synced TEXT,
             min_portfolio_target REAL, max_portfolio_target REAL, bucket_id TEXT DEFAULT 'core',
             created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
         CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, description TEXT,
             updated_at TEXT NOT NULL);
         INSERT INTO securities (symbol, isin, name, country, currency, allow_sell, created_at,
             updated_at) VALUES
          ('AAPL.US', 'US0378331005', 'Apple Inc.', 'United States', 'USD', 1, 't', 't'),
          ('ASML.EU', 'NL0010273215', 'ASML Holding', 'Netherlands', 'EUR', 1, 't', 't');
         INSERT INTO settings (key, value, updated_at) VALUES
          ('transaction_cost_fixed', '2.0', 't'), ('transaction_cost_percent', '0.002', 't'),
          ('min_cash_reserve', '500.0', 't'), ('trading_mode', 'research', 't');",
    );
    legacy_db(
        dir,
        "state.db",
        "CREATE TABLE positions (symbol TEXT PRIMARY KEY, isin TEXT, quantity REAL NOT NULL,
             avg_price REAL NOT NULL, current_price REAL, currency TEXT DEFAULT 'EUR',
             currency_rate REAL DEFAULT 1.0, market_value_eur REAL, cost_basis_eur REAL,
             unrealized_pnl REAL, unrealized_pnl_pct REAL, last_updated TEXT,
             first_bought_at TEXT, last_sold_at TEXT, bucket_id TEXT DEFAULT 'core');
         CREATE TABLE portfolio_snapshots (date TEXT PRIMARY KEY, total_value REAL NOT NULL,
             cash_balance REAL NOT NULL, invested_value REAL, unrealized_pnl REAL,
             geo_eu_pct REAL, geo_asia_pct REAL, geo_us_pct REAL, position_count INTEGER,
             annual_turnover REAL, created_at TEXT NOT NULL);
         INSERT INTO positions (symbol, quantity, avg_price, current_price, currency,
             last_updated) VALUES ('AAPL.US', 2.5, 150.0, 190.0, 'USD', '2026-01-04T10:00:00');
         INSERT INTO portfolio_snapshots (date, total_value, cash_balance, created_at)
             VALUES ('2026-01-04', 1500.0, 1025.5, 't');",
    );
    legacy_db(
        dir,
        "ledger.db",
        "CREATE TABLE trades (id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, isin TEXT,
             side TEXT NOT NULL, quantity REAL NOT NULL, price REAL NOT NULL,
             executed_at TEXT NOT NULL, order_id TEXT UNIQUE, currency TEXT, currency_rate REAL,
             value_eur REAL, source TEXT DEFAULT 'tradernet', bucket_id TEXT DEFAULT 'core',
             mode TEXT DEFAULT 'live', created_at TEXT NOT NULL);
         INSERT INTO trades VALUES
          (1, 'ASML.EU', 'NL0010273215', 'SELL', 1, 690.0, '2025-12-20T14:03:11', '418800001',
           'EUR', 1.0, 690.0, 'tradernet', 'core', 'live', 't'),
          (2, 'AAPL.US', NULL, 'buy', 2.5, 150.0, '2025-11-03T10:00:00', NULL,
           'USD', 1.04, 360.58, 'tradernet', 'core', 'live', 't'),
          (3, 'AAPL.US', NULL, 'GIFT', 1, 150.0, '2025-11-04T10:00:00', '418800003',
           'USD', 1.04, 144.23, 'tradernet', 'core', 'live', 't');",
    );
    legacy_db(
        dir,
        "calculations.db",
        "CREATE TABLE calculated_metrics (symbol TEXT NOT NULL, isin TEXT, metric TEXT NOT NULL,
             value REAL NOT NULL, calculated_at TEXT NOT NULL, expires_at TEXT,
             source TEXT DEFAULT 'calculated', PRIMARY KEY (symbol, metric));
         INSERT INTO calculated_metrics VALUES
          ('AAPL.US', NULL, 'CAGR_5Y', 0.182, '2026-01-01T03:00:00', '2026-01-08T03:00:00',
           'calculated'),
          ('AAPL.US', NULL, 'DIVIDEND_YIELD', 0.0045, '2026-01-01T03:00:00',
           '2026-01-31T03:00:00', 'yahoo');",
    );
    legacy_db(
        dir,
        "rates.db",
        "CREATE TABLE exchange_rates (from_currency TEXT NOT NULL, to_currency TEXT NOT NULL,
             rate REAL NOT NULL, fetched_at TEXT NOT NULL, expires_at TEXT NOT NULL,
             PRIMARY KEY (from_currency, to_currency));
         INSERT INTO exchange_rates VALUES
          ('USD', 'EUR', 1.04, '2026-01-01T09:00:00', '2026-01-01T10:00:00');",
    );
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn import_legacy_loads_an_autotrader_folder_and_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let legacy = tmp.path().join("autotrader-data");
    std::fs::create_dir(&legacy).unwrap();
    autotrader_folder(&legacy);
    let data_dir = tmp.path().join("planner");
    let args = [
        "--data-dir",
        data_dir.to_str().unwrap(),
        "import",
        "legacy",
        legacy.to_str().unwrap(),
    ];

    let out = run_cli(&args);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "  config.db        read",
        "  rates.db         read",
        "  securities                2        0",
        "  positions                 1        0",
        "  trades                    2        1  2 new, 0 already imported",
        "  trades: ledger id 3 (AAPL.US): unknown side \"GIFT\"",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("EUR total"), "{text}");
    assert!(text.contains("trading-planner.db"), "{text}");

    let again = run_cli(&args);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("0 new, 2 already imported"),
        "{}",
        stdout(&again)
    );

    let store = Store::open(&data_dir.join("trading-planner.db")).unwrap();
    let apple = store.security("AAPL.US").unwrap().unwrap();
    assert_eq!(apple.currency, Currency::USD);
    assert!(apple.allow_sell);
    let positions = store.positions().unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].quantity, "2.5".parse::<Quantity>().unwrap());
    let usd = store.fx_rate(Currency::USD).unwrap().unwrap();
    assert_eq!(
        usd.to_eur(Money::from_minor(10_000, Currency::USD))
            .unwrap(),
        Money::from_minor(9_615, Currency::EUR)
    );
    assert_eq!(
        store.cash_balances().unwrap(),
        vec![Money::from_minor(102_550, Currency::EUR)]
    );
    let trades = store.trades(None).unwrap();
    assert_eq!(trades.len(), 2);
    let sold = trades.iter().find(|t| t.trade.symbol == "ASML.EU").unwrap();
    assert_eq!(sold.trade.side, Side::Sell);
    assert_eq!(sold.trade.order_id.as_deref(), Some("418800001"));
    assert_eq!(
        store.setting("min_cash_reserve").unwrap().as_deref(),
        Some("500.0")
    );
    let metrics = store
        .valid_metrics(&["AAPL.US"], &["CAGR_5Y"], "2026-01-02T00:00:00")
        .unwrap();
    assert_eq!(metrics["AAPL.US"]["CAGR_5Y"], 0.182);
}

#[test]
fn import_legacy_of_an_empty_folder_fails_readably() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let data_dir = tmp.path().join("planner");
    let out = run_cli(&[
        "--data-dir",
        data_dir.to_str().unwrap(),
        "import",
        "legacy",
        empty.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds none of the autoTrader files (config.db, state.db"),
        "{stderr}"
    );
    assert!(std::fs::read_dir(&empty).unwrap().next().is_none());
}
