-- Daily price history, and the date each FX rate is for.

-- One compact row per symbol and day: the day's last known price in the security's currency.
-- Read only by the metrics computed from history (volatility, drawdown, CAGR, ...), which work
-- in floating point; money is never taken from this table.
CREATE TABLE daily_prices (
    symbol TEXT NOT NULL CHECK (symbol <> '' AND symbol = upper(symbol)),
    day    TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    close  REAL NOT NULL CHECK (typeof(close) = 'real' AND close > 0),
    PRIMARY KEY (symbol, day)
) WITHOUT ROWID;

-- Symbols whose history was back-filled from the daily-price CSV source, so a restarted
-- back-fill resumes with the others.
CREATE TABLE price_backfills (
    symbol     TEXT PRIMARY KEY CHECK (symbol <> ''),
    fetched_at TEXT NOT NULL,
    days       INTEGER NOT NULL CHECK (days >= 0)
);

-- The day the rate was published for (the ECB's reference date); NULL for rates stored
-- before it was kept, whose age is then that of updated_at.
ALTER TABLE fx_rates ADD COLUMN rate_date TEXT;
