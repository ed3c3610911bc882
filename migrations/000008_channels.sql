-- Skus sort by code point whatever the database's collation: a channel build streams the
-- catalog in this order and diffs it against the previous publication's item list, kept
-- in the same order on disk, with a merge.
ALTER TABLE products ALTER COLUMN sku TYPE text COLLATE "C";

-- Bumped by every applied change of a catalog's products: a channel whose last publication
-- was built from an older revision is stale.
ALTER TABLE catalogs ADD COLUMN revision bigint NOT NULL DEFAULT 0;

-- Channel definitions: the version in force with its secret feed token, and every version.
CREATE TABLE channels (
  id text PRIMARY KEY,
  catalog_id text NOT NULL REFERENCES catalogs (id),
  version integer NOT NULL,
  definition jsonb NOT NULL,
  -- The definition's JSON as written: jsonb reorders keys, and the order of "fields" is
  -- the order of the feed's columns.
  definition_text text NOT NULL,
  author text NOT NULL,
  -- The secret part of the feed URL (at least 128 random bits), rotated on demand.
  token text NOT NULL,
  token_rotated_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_catalog ON channels (catalog_id);

CREATE TABLE channel_versions (
  channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  definition_text text NOT NULL,
  author text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, version)
);

-- Publications: one built version of a channel's feed. The newest is the one served.
CREATE TABLE publications (
  channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  version integer NOT NULL,
  built_at timestamptz NOT NULL DEFAULT now(),
  format text NOT NULL,
  content_type text NOT NULL,
  items integer NOT NULL,
  excluded integer NOT NULL,
  -- [{ ruleSet, rule, reason, count }], most frequent first.
  exclusions jsonb NOT NULL DEFAULT '[]',
  bytes bigint NOT NULL,
  gzip_bytes bigint NOT NULL,
  sha256 text NOT NULL,
  added integer NOT NULL,
  removed integer NOT NULL,
  changed integer NOT NULL,
  -- { added: [sku…], removed: [sku…], changed: [sku…] }, each list capped.
  diff jsonb NOT NULL DEFAULT '{}',
  build_ms integer NOT NULL,
  -- What it was built from: a publication is stale when one of these moved on.
  catalog_revision bigint NOT NULL,
  channel_version integer NOT NULL,
  rule_versions jsonb NOT NULL DEFAULT '{}',
  -- The next instant a rule window of the channel opens or closes (rebuild then), if any.
  next_boundary timestamptz,
  reason text NOT NULL,
  actor text NOT NULL,
  PRIMARY KEY (channel_id, version)
);

-- The fetch log: every request for a channel's feed URL, written in batches.
CREATE TABLE channel_fetches (
  id bigserial PRIMARY KEY,
  channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  status smallint NOT NULL,
  bytes bigint NOT NULL,
  -- The publication served (null when none was: 404 or no feed built yet).
  version integer,
  encoding text,
  user_agent text,
  address text
);
CREATE INDEX channel_fetches_channel ON channel_fetches (channel_id, id DESC);
CREATE INDEX channel_fetches_at ON channel_fetches USING brin (at);
