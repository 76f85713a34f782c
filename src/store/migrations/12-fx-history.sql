-- The euro reference rate of each currency on each day, so that a past day is valued at the
-- rates of its day rather than today's. One compact row per currency and day, 1 EUR = rate
-- units; read only by the value chart's back-fill and its deposits, which work in floating
-- point. The current rates stay in fx_rates.
CREATE TABLE fx_history (
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    day      TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    rate     REAL NOT NULL CHECK (typeof(rate) = 'real' AND rate > 0),
    PRIMARY KEY (currency, day)
) WITHOUT ROWID;
