-- Whether a broker's open order borrows: a buy on margin (side code "2") or a short sale ("4").
-- The broker's buy and sell allow margin by default, so such an order is shown as such.
ALTER TABLE broker_orders ADD COLUMN margin INTEGER NOT NULL DEFAULT 0 CHECK (margin IN (0, 1));
