-- The fetch log records the request's method: a HEAD checks the headers and takes no
-- version, a GET that got a 200 does. Earlier rows: the feeds route wrote a HEAD as a 200
-- with no body (a GET's 200 always has one: the feed's header at least).
ALTER TABLE channel_fetches ADD COLUMN method text NOT NULL DEFAULT 'GET' CHECK (method IN ('GET', 'HEAD'));
UPDATE channel_fetches SET method = 'HEAD' WHERE status = 200 AND bytes = 0;
