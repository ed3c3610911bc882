-- A product's content hash: md5 of its canonical jsonb text (keys in jsonb's own order, so
-- the column order of a feed does not matter). Diffing an import against the catalog
-- compares hashes instead of whole jsonb values.
ALTER TABLE products ADD COLUMN hash text;
UPDATE products SET hash = md5(fields::text || '|' || attributes::text);
ALTER TABLE products ALTER COLUMN hash SET NOT NULL;
