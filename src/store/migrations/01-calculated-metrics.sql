-- Pre-computed per-security metrics (same columns and semantics as the reference's
-- calculations.db). `IF NOT EXISTS` lets the store adopt an existing calculations.db file.
--
-- symbol        upper case, e.g. 'AAPL.US'
-- calculated_at ISO local time, e.g. '2026-01-01T03:00:00'
-- expires_at    ISO local time; NULL = never expires. A row is valid while
--               `expires_at IS NULL OR expires_at > now_iso` (a string comparison).
CREATE TABLE IF NOT EXISTS calculated_metrics (
    symbol        TEXT NOT NULL,
    isin          TEXT,
    metric        TEXT NOT NULL,
    value         REAL NOT NULL,
    calculated_at TEXT NOT NULL,
    expires_at    TEXT,
    source        TEXT DEFAULT 'calculated',
    PRIMARY KEY (symbol, metric)
);
