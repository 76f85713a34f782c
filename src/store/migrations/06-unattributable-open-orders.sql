-- Open orders the broker listed whose symbol or side could not be read (the wrapper reads field
-- names a live broker may not send). Nobody can tell what they buy or sell, so while any is
-- listed live orders are blocked. Replaced with every open-orders sync.
CREATE TABLE unattributable_broker_orders (
    broker_id TEXT NOT NULL,
    raw_side  TEXT NOT NULL,
    seen_at   TEXT NOT NULL
);
