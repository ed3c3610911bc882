-- What each run fetched from a linked URL: the validators of the last applied full run make
-- the next GET conditional. The key is a hash of the URL, whose query often holds a secret.
ALTER TABLE import_runs
  ADD COLUMN source_key text,
  ADD COLUMN source_etag text,
  ADD COLUMN source_last_modified text;

-- A linked feed that answered 304 Not Modified: recorded, nothing parsed, nothing changed.
ALTER TABLE import_runs DROP CONSTRAINT import_runs_status_check;
ALTER TABLE import_runs ADD CONSTRAINT import_runs_status_check
  CHECK (status IN ('running', 'applied', 'held', 'failed', 'not_modified'));

CREATE INDEX import_runs_catalog_applied_full ON import_runs (catalog_id, id DESC)
  WHERE status = 'applied' AND mode = 'full';
