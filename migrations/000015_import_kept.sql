-- A full import keeps the last imported version of a product whose row in the feed is
-- invalid (a typo in one price must not remove it): such products are counted apart. The run
-- also records how it read the feed's numbers (the decimal separator, given or detected).
ALTER TABLE import_runs
  ADD COLUMN kept integer NOT NULL DEFAULT 0,
  ADD COLUMN number_format jsonb;
