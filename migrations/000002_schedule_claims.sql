-- One row per scheduled firing: the process that inserts it runs the task, the others skip.
CREATE TABLE schedule_claims (
  task text NOT NULL,
  slot timestamptz NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task, slot)
);
