-- The ledger view (GET /api/ledger): deposits become rows, and a trade keeps its fee.
--
-- A deposit is money paid into the account (the trading cycle's deposit_amount in research
-- mode); it is written in the same transaction as the cash it adds.
CREATE TABLE deposits (
    id           INTEGER PRIMARY KEY,
    amount_minor INTEGER NOT NULL CHECK (typeof(amount_minor) = 'integer' AND amount_minor > 0),
    currency     TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    deposited_at TEXT NOT NULL
);
CREATE INDEX deposits_deposited_at ON deposits (deposited_at, id);

-- The transaction costs of a trade in its currency, when known (paper fills know theirs; the
-- broker's trade list does not carry them). Canonical decimal text like the other amounts.
ALTER TABLE trades ADD COLUMN fee TEXT
    CHECK (fee IS NULL OR (typeof(fee) = 'text' AND fee NOT LIKE '-%'));

-- The ledger lists trades newest first over all symbols.
CREATE INDEX trades_executed ON trades (executed_at, id);
