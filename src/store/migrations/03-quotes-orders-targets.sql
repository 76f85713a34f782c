-- Last quotes, the broker's open orders, and allocation targets.

-- The last known price of each security, in its trading currency. The paper broker fills at
-- this price, so a row is only written with a positive price.
CREATE TABLE quotes (
    symbol   TEXT PRIMARY KEY CHECK (symbol <> '' AND symbol = upper(symbol)),
    price    TEXT NOT NULL CHECK (typeof(price) = 'text' AND price NOT LIKE '-%' AND price <> '0'),
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    as_of    TEXT NOT NULL,
    source   TEXT NOT NULL CHECK (source <> '')
);

-- Orders open at the broker, as its last answer listed them (ours and any placed elsewhere).
-- The planner applies them to positions and cash; pending_orders holds the orders we placed.
CREATE TABLE broker_orders (
    broker_id TEXT PRIMARY KEY CHECK (broker_id <> ''),
    symbol    TEXT NOT NULL CHECK (symbol <> '' AND symbol = upper(symbol)),
    side      TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity  TEXT NOT NULL CHECK (typeof(quantity) = 'text' AND quantity NOT LIKE '-%' AND quantity <> '0'),
    price     TEXT NOT NULL CHECK (typeof(price) = 'text' AND price NOT LIKE '-%'),
    currency  TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    seen_at   TEXT NOT NULL
);

-- Target share of the portfolio per country or industry group, a fraction 0..1 as decimal text
-- (the reference's allocation_targets of type country_group / industry_group).
CREATE TABLE allocation_targets (
    kind       TEXT NOT NULL CHECK (kind IN ('country', 'industry')),
    group_name TEXT NOT NULL CHECK (group_name <> ''),
    target     TEXT NOT NULL CHECK (typeof(target) = 'text' AND target NOT LIKE '-%'),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, group_name)
);

-- Which group each country or industry belongs to (the reference's country_groups and
-- industry_groups); a member belongs to at most one group of a kind.
CREATE TABLE allocation_groups (
    kind       TEXT NOT NULL CHECK (kind IN ('country', 'industry')),
    member     TEXT NOT NULL CHECK (member <> ''),
    group_name TEXT NOT NULL CHECK (group_name <> ''),
    PRIMARY KEY (kind, member)
);

-- The broker's id of an order we placed, once it acknowledged it; the trades sync uses it to
-- mark the order filled.
ALTER TABLE pending_orders ADD COLUMN broker_order_id TEXT;
CREATE UNIQUE INDEX pending_orders_broker_order_id ON pending_orders (broker_order_id) WHERE broker_order_id IS NOT NULL;
