-- Catalog definitions: one row per catalog, the definition as applied, versioned.
CREATE TABLE catalogs (
  id text PRIMARY KEY,
  definition jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  origin text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Import runs: one ingestion of a catalog feed, from start to applied, held or failed.
CREATE TABLE import_runs (
  id bigserial PRIMARY KEY,
  catalog_id text NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
  status text NOT NULL CHECK (status IN ('running', 'applied', 'held', 'failed')),
  mode text NOT NULL CHECK (mode IN ('full', 'partial')),
  forced boolean NOT NULL DEFAULT false,
  source text NOT NULL,
  actor text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  fetched_at timestamptz,
  finished_at timestamptz,
  duration_ms integer,
  rows_total integer NOT NULL DEFAULT 0,
  rows_valid integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0,
  updated integer NOT NULL DEFAULT 0,
  unchanged integer NOT NULL DEFAULT 0,
  removed integer NOT NULL DEFAULT 0,
  errors integer NOT NULL DEFAULT 0,
  -- Why a run was held: [{ code, message }].
  held_reasons jsonb NOT NULL DEFAULT '[]',
  -- Why a run failed, when it did.
  failure text,
  -- The staging table that keeps a held run's rows, so it can be applied later.
  staging_table text,
  -- The run applied before this one started; a held run is stale once another run is applied.
  base_run_id bigint
);
CREATE INDEX import_runs_catalog ON import_runs (catalog_id, id DESC);

-- Row errors of a run: line, sku and reason; capped per run (the count is on the run).
CREATE TABLE import_row_errors (
  run_id bigint NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
  line integer NOT NULL,
  sku text,
  code text NOT NULL,
  message text NOT NULL
);
CREATE INDEX import_row_errors_run ON import_row_errors (run_id, line);

-- Products: canonical fields and source attributes, keyed by sku within a catalog.
CREATE TABLE products (
  catalog_id text NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
  sku text NOT NULL,
  fields jsonb NOT NULL,
  attributes jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_run_id bigint,
  PRIMARY KEY (catalog_id, sku)
);

-- The append-only history of everything: imports, products, definitions.
CREATE TABLE history (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  type text NOT NULL,
  catalog_id text,
  channel_id text,
  sku text,
  run_id bigint,
  actor text,
  data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX history_catalog ON history (catalog_id, id);
CREATE INDEX history_sku ON history (sku, id) WHERE sku IS NOT NULL;
CREATE INDEX history_type ON history (type, id);
CREATE INDEX history_at ON history (at);

-- History is append-only: refuse updates and deletes at the store itself.
CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'history is append-only';
END;
$$;
CREATE TRIGGER history_no_update BEFORE UPDATE OR DELETE ON history
  FOR EACH STATEMENT EXECUTE FUNCTION history_append_only();

-- Field-level changes between two jsonb objects: { key: { before, after } } for every key
-- whose value differs (a missing key reads as null).
CREATE FUNCTION jsonb_changes(old jsonb, new jsonb, prefix text DEFAULT '') RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(prefix || key, jsonb_build_object('before', o.value, 'after', n.value)), '{}'::jsonb)
  FROM jsonb_each(old) AS o (key, value)
  FULL JOIN jsonb_each(new) AS n (key, value) USING (key)
  WHERE o.value IS DISTINCT FROM n.value
$$;
