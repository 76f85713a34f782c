-- The portfolio's value per day in EUR (positions × quote × FX + cash, as GET /api/portfolio
-- values it), with the day's deposits, as decimal text to the cent like every amount.
-- Written by the service each day it syncs quotes; `backfilled` rows were reconstructed
-- afterwards from the price history and the trades.
CREATE TABLE portfolio_values (
    day         TEXT PRIMARY KEY CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    value_eur   TEXT NOT NULL CHECK (typeof(value_eur) = 'text' AND CAST(value_eur AS REAL) >= 0),
    deposit_eur TEXT NOT NULL DEFAULT '0.00' CHECK (typeof(deposit_eur) = 'text'),
    backfilled  INTEGER NOT NULL CHECK (backfilled IN (0, 1)),
    recorded_at TEXT NOT NULL
) WITHOUT ROWID;
