-- A channel's events, newest first (`history --channel`, the dashboard's channel page): without
-- it, filtering by channel reads the whole history. Product events, the bulk, have no channel.
CREATE INDEX history_channel ON history (channel_id, id) WHERE channel_id IS NOT NULL;
