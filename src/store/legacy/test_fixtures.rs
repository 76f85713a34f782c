//! Legacy autoTrader files for the importer's tests: the reference's schemas, realistic rows,
//! and a folder holding all five files.

use std::path::Path;

use rusqlite::Connection;
use tempfile::TempDir;

// The reference's CREATE TABLE statements (external contracts §4), with the columns the
// planner does not read kept so the files look like autoTrader's.

pub(crate) const CONFIG_SCHEMA: &str = "
CREATE TABLE securities (
    symbol TEXT PRIMARY KEY,
    yahoo_symbol TEXT,
    isin TEXT,
    name TEXT NOT NULL,
    product_type TEXT,
    industry TEXT,
    country TEXT,
    fullExchangeName TEXT,
    priority_multiplier REAL DEFAULT 1.0,
    min_lot INTEGER DEFAULT 1,
    active INTEGER DEFAULT 1,
    allow_buy INTEGER DEFAULT 1,
    allow_sell INTEGER DEFAULT 0,
    currency TEXT,
    last_synced TEXT,
    min_portfolio_target REAL,
    max_portfolio_target REAL,
    bucket_id TEXT DEFAULT 'core',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_securities_isin ON securities(isin);
CREATE TABLE allocation_targets (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    target_pct REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE(type, name)
);
CREATE TABLE country_groups (
    id INTEGER PRIMARY KEY,
    group_name TEXT NOT NULL,
    country_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE(group_name, country_name)
);
CREATE TABLE industry_groups (
    id INTEGER PRIMARY KEY,
    group_name TEXT NOT NULL,
    industry_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE(group_name, industry_name)
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    description TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT);
";

pub(crate) const STATE_SCHEMA: &str = "
CREATE TABLE positions (
    symbol TEXT PRIMARY KEY,
    isin TEXT,
    quantity REAL NOT NULL,
    avg_price REAL NOT NULL,
    current_price REAL,
    currency TEXT DEFAULT 'EUR',
    currency_rate REAL DEFAULT 1.0,
    market_value_eur REAL,
    cost_basis_eur REAL,
    unrealized_pnl REAL,
    unrealized_pnl_pct REAL,
    last_updated TEXT,
    first_bought_at TEXT,
    last_sold_at TEXT,
    bucket_id TEXT DEFAULT 'core'
);
CREATE TABLE scores (
    symbol TEXT PRIMARY KEY,
    quality_score REAL,
    opportunity_score REAL,
    analyst_score REAL,
    allocation_fit_score REAL,
    cagr_score REAL,
    consistency_score REAL,
    financial_strength_score REAL,
    sharpe_score REAL,
    drawdown_score REAL,
    dividend_bonus REAL,
    rsi REAL,
    ema_200 REAL,
    below_52w_high_pct REAL,
    total_score REAL,
    sell_score REAL,
    history_years REAL,
    calculated_at TEXT
);
CREATE TABLE portfolio_snapshots (
    date TEXT PRIMARY KEY,
    total_value REAL NOT NULL,
    cash_balance REAL NOT NULL,
    invested_value REAL,
    unrealized_pnl REAL,
    geo_eu_pct REAL,
    geo_asia_pct REAL,
    geo_us_pct REAL,
    position_count INTEGER,
    annual_turnover REAL,
    created_at TEXT NOT NULL
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT);
";

pub(crate) const LEDGER_SCHEMA: &str = "
CREATE TABLE trades (
    id INTEGER PRIMARY KEY,
    symbol TEXT NOT NULL,
    isin TEXT,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    executed_at TEXT NOT NULL,
    order_id TEXT UNIQUE,
    currency TEXT,
    currency_rate REAL,
    value_eur REAL,
    source TEXT DEFAULT 'tradernet',
    bucket_id TEXT DEFAULT 'core',
    mode TEXT DEFAULT 'live',
    created_at TEXT NOT NULL
);
CREATE TABLE cash_flows (
    id INTEGER PRIMARY KEY,
    transaction_id TEXT UNIQUE NOT NULL,
    type_doc_id INTEGER NOT NULL,
    transaction_type TEXT,
    date TEXT NOT NULL,
    amount REAL NOT NULL,
    currency TEXT NOT NULL,
    amount_eur REAL NOT NULL,
    status TEXT,
    status_c INTEGER,
    description TEXT,
    params_json TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT);
";

pub(crate) const CALCULATIONS_SCHEMA: &str = "
CREATE TABLE calculated_metrics (
    symbol TEXT NOT NULL,
    isin TEXT,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    calculated_at TEXT NOT NULL,
    expires_at TEXT,
    source TEXT DEFAULT 'calculated',
    PRIMARY KEY (symbol, metric)
);
CREATE TABLE scores (
    symbol TEXT PRIMARY KEY,
    isin TEXT,
    quality_score REAL,
    opportunity_score REAL,
    analyst_score REAL,
    allocation_fit_score REAL,
    cagr_score REAL,
    consistency_score REAL,
    financial_strength_score REAL,
    sharpe_score REAL,
    drawdown_score REAL,
    dividend_bonus REAL,
    rsi REAL,
    ema_200 REAL,
    below_52w_high_pct REAL,
    total_score REAL,
    sell_score REAL,
    history_years REAL,
    calculated_at TEXT
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT);
";

pub(crate) const RATES_SCHEMA: &str = "
CREATE TABLE exchange_rates (
    from_currency TEXT NOT NULL,
    to_currency TEXT NOT NULL,
    rate REAL NOT NULL,
    fetched_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (from_currency, to_currency)
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, description TEXT);
";

pub(crate) const T: &str = "'2026-01-01T00:00:00'";

pub(crate) fn config_rows() -> String {
    format!(
        "
INSERT INTO securities (symbol, isin, name, product_type, industry, country, priority_multiplier,
    min_lot, active, allow_buy, allow_sell, currency, created_at, updated_at) VALUES
 ('AAPL.US', 'US0378331005', 'Apple Inc.', 'EQUITY', 'Consumer Electronics', 'United States',
    1.0, 1, 1, 1, 1, 'USD', {T}, {T}),
 ('ASML.EU', 'NL0010273215', 'ASML Holding', 'EQUITY', 'Semiconductors', 'Netherlands',
    1.5, 1, 1, 1, 1, 'EUR', {T}, {T}),
 ('0700.AS', 'KYG875721634', 'Tencent', 'EQUITY', 'Internet Content', 'Hong Kong',
    1.0, 100, 1, 1, 0, 'HKD', {T}, {T}),
 ('BAD.US', NULL, 'Bad currency', 'EQUITY', NULL, NULL, 1.0, 1, 1, 1, 0, 'US$', {T}, {T});
-- A research-mode security in the TEST currency, lower case, inactive, allow_sell by default.
INSERT INTO securities (symbol, name, active, currency, created_at, updated_at)
 VALUES ('test.sec', 'Research security', 0, 'TEST', {T}, {T});

INSERT INTO allocation_targets (type, name, target_pct, created_at, updated_at) VALUES
 ('country_group', 'EU', 0.5, {T}, {T}),
 ('country_group', 'US', 0.3, {T}, {T}),
 ('country_group', 'ASIA', 0.2, {T}, {T}),
 ('industry_group', 'Technology', 0.6, {T}, {T}),
 ('country', 'Germany', 0.1, {T}, {T});

INSERT INTO country_groups (group_name, country_name, created_at, updated_at) VALUES
 ('EU', 'Germany', {T}, {T}),
 ('EU', 'Netherlands', {T}, {T}),
 ('US', 'United States', {T}, {T}),
 ('ASIA', 'Hong Kong', {T}, {T}),
 ('ASIA', 'Netherlands', {T}, {T});
INSERT INTO industry_groups (group_name, industry_name, created_at, updated_at) VALUES
 ('Technology', 'Consumer Electronics', {T}, {T}),
 ('Technology', 'Semiconductors', {T}, {T});

INSERT INTO settings (key, value, description, updated_at) VALUES
 ('transaction_cost_fixed', '2.0', 'Fixed cost per trade in EUR', {T}),
 ('transaction_cost_percent', '0.002', NULL, {T}),
 ('min_cash_reserve', '500.0', NULL, {T}),
 ('trading_mode', 'research', NULL, {T}),
 ('buy_cooldown_days', '30.0', NULL, {T}),
 ('enable_monte_carlo_paths', '0.0', NULL, {T});
"
    )
}

pub(crate) fn state_rows() -> String {
    format!(
        "
INSERT INTO positions (symbol, isin, quantity, avg_price, current_price, currency, currency_rate,
    last_updated) VALUES
 ('AAPL.US', 'US0378331005', 10.0, 150.25, 190.5, 'USD', 1.04, '2026-01-04T10:00:00'),
 ('0700.AS', 'KYG875721634', 0.5, 300.1, 320.0, 'HKD', 8.33, '2026-01-04T10:00:00'),
 ('NOKIA.EU', NULL, 3, 4.2, 0.0, 'EUR', 1.0, '2026-01-04T10:00:00'),
 ('ZERO.US', NULL, 0.0, 10.0, 11.0, 'USD', 1.04, '2026-01-04T10:00:00');
INSERT INTO portfolio_snapshots (date, total_value, cash_balance, position_count, created_at) VALUES
 ('2026-01-03', 10000.0, 1200.5, 3, {T}),
 ('2026-01-04', 10100.0, 1234.567, 3, {T});
"
    )
}

pub(crate) fn ledger_rows() -> String {
    format!(
        "
INSERT INTO trades (id, symbol, isin, side, quantity, price, executed_at, order_id, currency,
    currency_rate, value_eur, source, bucket_id, mode, created_at) VALUES
 (1, 'ASML.EU', 'NL0010273215', 'SELL', 1, 690.0, '2025-12-20T14:03:11', '418800001', 'EUR',
    1.0, 690.0, 'tradernet', 'core', 'live', {T}),
 (2, 'AAPL.US', 'US0378331005', 'buy', 2.0, 180.0, '2025-11-03T10:00:00', NULL, 'USD',
    1.04, 346.15, 'tradernet', 'core', 'live', {T}),
 (3, 'AAPL.US', NULL, 'BUY', 0.0, 180.0, '2025-11-04T10:00:00', '418800003', 'USD',
    1.04, 0.0, 'tradernet', 'core', 'live', {T}),
 (4, 'MSFT.US', NULL, 'HOLD', 1.0, 400.0, '2025-11-05T10:00:00', '418800004', 'USD',
    1.04, 384.6, 'tradernet', 'core', 'live', {T}),
 (5, '0700.AS', NULL, 'Sell', 0.5, 320.0, '2025-12-01T09:30:00', 'RESEARCH_5', 'HKD',
    0.12, 19.21, 'tradernet', 'core', 'research', {T}),
 (6, 'AAPL.US', NULL, 'SELL', 1.0, 9e999, '2025-12-02T09:30:00', '418800006', 'USD',
    1.04, 100.0, 'tradernet', 'core', 'live', {T});
"
    )
}

pub(crate) fn calculations_rows() -> String {
    format!(
        "
INSERT INTO calculated_metrics VALUES
 ('AAPL.US', NULL, 'CAGR_5Y', 0.182, '2026-01-01T03:00:00', '2026-01-08T03:00:00', 'calculated'),
 ('AAPL.US', NULL, 'DIVIDEND_YIELD', 0.0045, '2026-01-01T03:00:00', '2026-01-31T03:00:00', 'yahoo'),
 ('AAPL.US', NULL, 'SHARPE', 1.21, '2026-01-01T03:00:00', '2026-01-08T03:00:00', 'calculated'),
 ('AAPL.US', NULL, 'MAX_DRAWDOWN', -0.274, '2026-01-01T03:00:00', '2026-01-02T03:00:00', 'calculated'),
 ('AAPL.US', NULL, 'PAYOUT_RATIO', 0.15, '2026-01-01T03:00:00', '2026-01-31T03:00:00', 'yahoo'),
 ('asml.eu', NULL, 'PE_RATIO', 31.2, '2026-01-01T03:00:00', NULL, 'yahoo'),
 ('ASML.EU', NULL, 'RSI_14', 55.0, '1999-12-31T03:00:00', '2000-01-01T03:00:00', 'calculated'),
 ('ASML.EU', NULL, 'EMA_200', 9e999, '2026-01-01T03:00:00', NULL, 'calculated');
INSERT INTO scores (symbol, quality_score, opportunity_score, analyst_score, allocation_fit_score,
    cagr_score, consistency_score, total_score, calculated_at) VALUES
 ('AAPL.US', 0.8, 0.6, 0.7, NULL, 0.9, 0.75, 0.72, '2026-01-01T03:00:00'),
 ('ASML.EU', 0.5, NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-01T03:00:00');
INSERT INTO schema_version VALUES (3, {T}, 'Initial calculations schema');
"
    )
}

pub(crate) fn rates_rows() -> &'static str {
    "
INSERT INTO exchange_rates VALUES
 ('USD', 'EUR', 1.04, '2026-01-01T09:00:00', '2026-01-01T10:00:00'),
 ('EUR', 'HKD', 0.12, '2026-01-01T09:00:00', '2026-01-01T10:00:00'),
 ('GBP', 'USD', 1.27, '2026-01-01T09:00:00', '2026-01-01T10:00:00'),
 ('CHF', 'EUR', 0.0, '2026-01-01T09:00:00', '2026-01-01T10:00:00');
"
}

/// Writes one legacy file the way autoTrader does (WAL mode); the connection closes cleanly,
/// which removes the -wal and -shm files.
pub(crate) fn legacy_db(dir: &Path, name: &str, sql: &str) {
    let conn = Connection::open(dir.join(name)).unwrap();
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(sql).unwrap();
}

/// A folder with all five files.
pub(crate) fn legacy_folder() -> TempDir {
    let dir = TempDir::new().unwrap();
    legacy_db(
        dir.path(),
        "config.db",
        &format!("{CONFIG_SCHEMA}{}", config_rows()),
    );
    legacy_db(
        dir.path(),
        "state.db",
        &format!("{STATE_SCHEMA}{}", state_rows()),
    );
    legacy_db(
        dir.path(),
        "ledger.db",
        &format!("{LEDGER_SCHEMA}{}", ledger_rows()),
    );
    legacy_db(
        dir.path(),
        "calculations.db",
        &format!("{CALCULATIONS_SCHEMA}{}", calculations_rows()),
    );
    legacy_db(
        dir.path(),
        "rates.db",
        &format!("{RATES_SCHEMA}{}", rates_rows()),
    );
    dir
}
