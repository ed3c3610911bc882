-- Orders reported by channels, and the stock ledger they move.

-- One row per order and channel: its latest status, and whether it holds stock now.
CREATE TABLE orders (
  channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  order_id text NOT NULL,
  catalog_id text NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
  status text NOT NULL CHECK (status IN ('paid', 'unpaid', 'cancelled', 'refunded')),
  holds_stock boolean NOT NULL DEFAULT false,
  -- [{ sku, quantity, linked, managed }]: the lines whose units the order holds or held.
  lines jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, order_id)
);

-- Every report received once per channel, order and status: the same report again (or
-- concurrently, once the first commits) finds its key taken and moves nothing.
CREATE TABLE order_reports (
  channel_id text NOT NULL,
  order_id text NOT NULL,
  status text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_id, order_id, status),
  FOREIGN KEY (channel_id, order_id) REFERENCES orders (channel_id, order_id) ON DELETE CASCADE
);

-- The stock ledger: every movement of stock that the merchant's feed may not reflect yet.
CREATE TABLE stock_ledger (
  id bigserial PRIMARY KEY,
  catalog_id text NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
  sku text COLLATE "C" NOT NULL,
  delta integer NOT NULL,
  cause text NOT NULL CHECK (cause IN ('order', 'cancellation', 'refund', 'adjustment')),
  channel_id text,
  order_id text,
  at timestamptz NOT NULL DEFAULT now(),
  -- The import run that reflected this entry (fetched at least reconcileAfter after it);
  -- null while it is pending and counts in the effective stock.
  reflected_by_run bigint
);
CREATE INDEX stock_ledger_pending ON stock_ledger (catalog_id, sku) WHERE reflected_by_run IS NULL;
CREATE INDEX stock_ledger_sku ON stock_ledger (catalog_id, sku, id);

-- The stock revision of each catalog, bumped by every stock movement: a channel built from an
-- older one is stale. A table of its own, not a column of catalogs: orders hold a shared lock
-- on their catalog's row while they move stock (so an import's apply, which locks the row
-- for update, never interleaves with them), and several orders at once could not all upgrade
-- that shared lock to bump a column on the same row. This row is the last lock an order
-- takes, so orders queue on it without waiting on each other crosswise.
CREATE TABLE catalog_stock (
  catalog_id text PRIMARY KEY REFERENCES catalogs (id) ON DELETE CASCADE,
  revision bigint NOT NULL
);
ALTER TABLE stock_ledger ADD COLUMN stock_revision bigint NOT NULL DEFAULT 0;
ALTER TABLE publications ADD COLUMN stock_revision bigint NOT NULL DEFAULT 0;
