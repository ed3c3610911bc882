-- A stock-only rebuild of a feed reads the skus moved since the stock revision it was built
-- from: ledger entries by catalog and revision.
CREATE INDEX stock_ledger_revision ON stock_ledger (catalog_id, stock_revision);
