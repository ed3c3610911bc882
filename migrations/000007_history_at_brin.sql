-- History is appended in time order: a BRIN index answers "since" filters at a fraction of a
-- b-tree's cost on every insert (an import of a million products writes a million events).
DROP INDEX history_at;
CREATE INDEX history_at ON history USING brin (at);
