-- A linked feed's URL may carry credentials (`https://user:password@host/feed.csv?token=…`)
-- and its headers literal secrets. Runs and logs always showed them redacted; catalog events
-- in history kept the definition's changes whole. From now on they are recorded redacted, and
-- the events already stored are mended (the one deliberate rewrite of the append-only history).

-- A URL without user name, password or fragment, its query values masked: as redactUrl does.
CREATE FUNCTION redact_url(url text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(
           regexp_replace(regexp_replace(url, '#.*$', ''), '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\1'),
           '([?&][^=&]*)=[^&]*', '\1=***', 'g')
$$;

-- A linked source as history may show it: its URL redacted, literal header values masked
-- (headers read from the environment name only a variable).
CREATE FUNCTION redact_catalog_source(src jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(src) <> 'object' THEN src ELSE
    src
    || CASE WHEN jsonb_typeof(src -> 'url') = 'string'
         THEN jsonb_build_object('url', redact_url(src ->> 'url')) ELSE '{}'::jsonb END
    || CASE WHEN jsonb_typeof(src -> 'headers') = 'object'
         THEN jsonb_build_object('headers', coalesce((
           SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'string' THEN '"***"'::jsonb ELSE value END)
           FROM jsonb_each(src -> 'headers')), '{}'::jsonb))
         ELSE '{}'::jsonb END
  END
$$;

ALTER TABLE history DISABLE TRIGGER history_no_update;
UPDATE history SET data = jsonb_set(data, '{changes,source}', jsonb_build_object(
    'before', redact_catalog_source(coalesce(data #> '{changes,source,before}', 'null'::jsonb)),
    'after', redact_catalog_source(coalesce(data #> '{changes,source,after}', 'null'::jsonb))))
  WHERE type IN ('catalog.created', 'catalog.updated')
    AND jsonb_typeof(data -> 'changes') = 'object' AND (data -> 'changes') ? 'source';
ALTER TABLE history ENABLE TRIGGER history_no_update;
