-- A history event is dated when the statement that wrote it ran, not when its transaction
-- began: a first import on PostgreSQL keeps one transaction open for the whole feed (its
-- products are created while the feed is read), and its events would otherwise all carry
-- the run's start, import.applied included.
ALTER TABLE history ALTER COLUMN at SET DEFAULT statement_timestamp();
