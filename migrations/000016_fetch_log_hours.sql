-- The fetch log's hourly counts: what the charts read for periods whose fetches are no longer
-- kept one by one (FEEDWRIGHT_FETCH_LOG_DAYS), and the refused requests (a wrong token)
-- beyond the few stored one by one per channel and minute. `kind` is the HTTP status, or
-- "head" for a HEAD answered 200, as the statistics count them.
CREATE TABLE channel_fetch_hours (
  channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  hour timestamptz NOT NULL,
  kind text NOT NULL,
  fetches bigint NOT NULL,
  bytes bigint NOT NULL,
  PRIMARY KEY (channel_id, hour, kind)
);
