-- Row warnings (a row imported, but with something a merchant should look at, such as a
-- barcode Excel wrote in scientific notation) live beside row errors, told apart by severity.
-- Rows skipped as not products (a Shopify image row) are counted on the run.
ALTER TABLE import_row_errors ADD COLUMN severity text NOT NULL DEFAULT 'error'
  CHECK (severity IN ('error', 'warning'));
ALTER TABLE import_runs
  ADD COLUMN skipped integer NOT NULL DEFAULT 0,
  ADD COLUMN warnings integer NOT NULL DEFAULT 0;
