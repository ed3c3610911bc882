-- Rule sets: the version in force, and every version ever accepted.
CREATE TABLE rule_sets (
  id text PRIMARY KEY,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  author text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rule_set_versions (
  rule_set_id text NOT NULL REFERENCES rule_sets (id) ON DELETE CASCADE,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  author text NOT NULL,
  -- Set when this version brought back an older one.
  restored_from integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_set_id, version)
);
