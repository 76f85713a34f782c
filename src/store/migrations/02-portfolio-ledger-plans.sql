-- Portfolio state, ledger, settings, plans and upstream health.
--
-- Money is never REAL: cash is INTEGER minor units of its currency; prices, quantities and FX
-- rates are canonical decimal text as printed by the domain's `Decimal` ("1234.56", "0.5",
-- never "-0" or a trailing zero), which is what the text CHECKs below rely on.
-- Currencies are three upper-case letters. Times are ISO local text like calculated_metrics.

CREATE TABLE securities (
    symbol              TEXT PRIMARY KEY CHECK (symbol <> '' AND symbol = upper(symbol)),
    isin                TEXT,
    name                TEXT NOT NULL,
    currency            TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    country             TEXT,
    industry            TEXT,
    min_lot             INTEGER NOT NULL DEFAULT 1 CHECK (min_lot >= 1),
    allow_buy           INTEGER NOT NULL DEFAULT 1 CHECK (allow_buy IN (0, 1)),
    -- The reference defaults allow_sell to 0.
    allow_sell          INTEGER NOT NULL DEFAULT 0 CHECK (allow_sell IN (0, 1)),
    -- A weight on priorities, not money.
    priority_multiplier REAL NOT NULL DEFAULT 1.0 CHECK (priority_multiplier >= 0),
    -- 0 = out of the universe; rows are kept because positions and trades refer to them.
    active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    updated_at          TEXT NOT NULL
);
CREATE INDEX securities_isin ON securities (isin);

CREATE TABLE positions (
    symbol     TEXT PRIMARY KEY REFERENCES securities (symbol),
    quantity   TEXT NOT NULL CHECK (typeof(quantity) = 'text' AND quantity NOT LIKE '-%'),
    avg_price  TEXT NOT NULL CHECK (typeof(avg_price) = 'text' AND avg_price NOT LIKE '-%'),
    currency   TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    updated_at TEXT NOT NULL
);

-- Negative balances are allowed: the broker is the source of truth for cash and can report
-- them; the planner is the one that must not plan on them.
CREATE TABLE cash_balances (
    currency     TEXT PRIMARY KEY CHECK (length(currency) = 3 AND currency = upper(currency)),
    amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer'),
    updated_at   TEXT NOT NULL
);

-- 1 EUR = per_eur units of currency (the reference's convention).
CREATE TABLE fx_rates (
    currency   TEXT PRIMARY KEY CHECK (length(currency) = 3 AND currency = upper(currency)),
    per_eur    TEXT NOT NULL CHECK (typeof(per_eur) = 'text' AND per_eur NOT LIKE '-%' AND per_eur <> '0'),
    updated_at TEXT NOT NULL
);

-- The latest score per security; components is the scoring service's breakdown as JSON.
CREATE TABLE security_scores (
    symbol        TEXT PRIMARY KEY CHECK (symbol <> ''),
    total_score   REAL NOT NULL,
    components    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(components)),
    calculated_at TEXT NOT NULL
);

CREATE TABLE trades (
    id              INTEGER PRIMARY KEY,
    symbol          TEXT NOT NULL CHECK (symbol <> ''),
    isin            TEXT,
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity        TEXT NOT NULL CHECK (typeof(quantity) = 'text' AND quantity NOT LIKE '-%' AND quantity <> '0'),
    price           TEXT NOT NULL CHECK (typeof(price) = 'text' AND price NOT LIKE '-%'),
    currency        TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    -- The rate used to value the trade in EUR, when known.
    fx_per_eur      TEXT CHECK (fx_per_eur IS NULL OR (typeof(fx_per_eur) = 'text' AND fx_per_eur NOT LIKE '-%' AND fx_per_eur <> '0')),
    executed_at     TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('paper', 'broker', 'import')),
    order_id        TEXT,
    idempotency_key TEXT UNIQUE,
    recorded_at     TEXT NOT NULL
);
CREATE INDEX trades_symbol_executed ON trades (symbol, executed_at);
-- A broker order id is recorded once (the reference's ledger has it UNIQUE).
CREATE UNIQUE INDEX trades_order_id ON trades (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE pending_orders (
    id              INTEGER PRIMARY KEY,
    symbol          TEXT NOT NULL CHECK (symbol <> ''),
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity        TEXT NOT NULL CHECK (typeof(quantity) = 'text' AND quantity NOT LIKE '-%' AND quantity <> '0'),
    price           TEXT NOT NULL CHECK (typeof(price) = 'text' AND price NOT LIKE '-%'),
    currency        TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled', 'cancelled')),
    trade_id        INTEGER REFERENCES trades (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- One open order per symbol: the guard against duplicate orders, enforced by the database.
CREATE UNIQUE INDEX pending_orders_one_open_per_symbol ON pending_orders (symbol) WHERE status = 'open';

-- Values are text, as in the reference's config.db (numbers as "2.0", flags as "1.0"/"0.0").
CREATE TABLE settings (
    key        TEXT PRIMARY KEY CHECK (key <> ''),
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE plans (
    id             INTEGER PRIMARY KEY,
    portfolio_hash TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    score_before   REAL,
    score_after    REAL,
    status         TEXT NOT NULL CHECK (status IN ('proposed', 'executing', 'executed', 'superseded', 'failed', 'cancelled')),
    body           TEXT NOT NULL CHECK (json_valid(body))
);
CREATE INDEX plans_hash_created ON plans (portfolio_hash, created_at);

CREATE TABLE plan_steps (
    plan_id         INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    step            INTEGER NOT NULL CHECK (step >= 0),
    side            TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    symbol          TEXT NOT NULL CHECK (symbol <> ''),
    quantity        TEXT NOT NULL CHECK (typeof(quantity) = 'text' AND quantity NOT LIKE '-%' AND quantity <> '0'),
    value_eur_minor INTEGER NOT NULL CHECK (typeof(value_eur_minor) = 'integer' AND value_eur_minor >= 0),
    narrative       TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (plan_id, step)
);

CREATE TABLE planning_runs (
    id                  INTEGER PRIMARY KEY,
    started_at          TEXT NOT NULL,
    finished_at         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    sequences_evaluated INTEGER NOT NULL DEFAULT 0 CHECK (sequences_evaluated >= 0),
    plan_id             INTEGER REFERENCES plans (id) ON DELETE SET NULL,
    error               TEXT
);

CREATE TABLE upstream_status (
    service              TEXT PRIMARY KEY CHECK (service <> ''),
    last_success_at      TEXT,
    last_error_at        TEXT,
    last_error           TEXT,
    breaker_state        TEXT NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open', 'half_open')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    updated_at           TEXT NOT NULL
);

-- When each kind of data (positions, cash, fx, quotes, scores, ...) was last refreshed, and
-- whether the planner should treat it as stale.
CREATE TABLE data_freshness (
    kind         TEXT PRIMARY KEY CHECK (kind <> ''),
    refreshed_at TEXT NOT NULL,
    source       TEXT NOT NULL,
    stale        INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1))
);
