-- A day's deposits are read from the deposits ledger (08), their one record: the copy kept
-- with the day's value was written in a second transaction and could disagree with it (a
-- failed write, a withdrawn deposit). Every copy was written with a deposits row, so nothing
-- is lost.
ALTER TABLE portfolio_values DROP COLUMN deposit_eur;
