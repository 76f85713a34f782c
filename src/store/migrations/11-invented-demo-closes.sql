-- Closes the demo invents for its securities (a year of them on a first start) are marked, so
-- that a real close of the same day replaces one, and leaving the demo for an account's own
-- positions removes them all.
ALTER TABLE daily_prices ADD COLUMN invented INTEGER NOT NULL DEFAULT 0 CHECK (invented IN (0, 1));
