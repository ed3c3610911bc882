-- A stock movement can exceed what a 32-bit integer holds (a push to the bound of a quantity
-- over a stock taken far below zero by orders): the ledger's deltas are 64-bit, as are the
-- sums the store computes of them.
ALTER TABLE stock_ledger ALTER COLUMN delta TYPE bigint;
