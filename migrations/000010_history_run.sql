-- An import run's changes, read by run (the dashboard's import page, `history --run`).
CREATE INDEX history_run ON history (run_id, id) WHERE run_id IS NOT NULL;
