-- products.catalog_id must name a catalog, and a deleted catalog takes its products with
-- it, as the foreign key did. The foreign key checked each inserted row on its own (one
-- lookup of catalogs per row: about 4 s of a 1,000,000-product first import); these
-- statement-level triggers check each inserting statement's new rows in one set-based
-- query and cascade deletes the same way.
ALTER TABLE products DROP CONSTRAINT IF EXISTS products_catalog_id_fkey;

CREATE FUNCTION products_catalog_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing text;
BEGIN
  SELECT n.catalog_id INTO missing FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM catalogs c WHERE c.id = n.catalog_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert or update on table "products" violates its catalog check: catalog "%" does not exist', missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER products_catalog_insert AFTER INSERT ON products
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products_catalog_exists();

-- An update that moves a product to another catalog is refused (no code does it). A row
-- trigger on that column only, so that an import's updates of fields cost nothing.
CREATE FUNCTION products_catalog_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a product does not move to another catalog (sku "%", catalog "%" to "%")',
    OLD.sku, OLD.catalog_id, NEW.catalog_id USING ERRCODE = 'foreign_key_violation';
END;
$$;
CREATE TRIGGER products_catalog_fixed BEFORE UPDATE OF catalog_id ON products
  FOR EACH ROW WHEN (OLD.catalog_id IS DISTINCT FROM NEW.catalog_id)
  EXECUTE FUNCTION products_catalog_fixed();

CREATE FUNCTION catalogs_delete_products() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM products p USING old_rows o WHERE p.catalog_id = o.id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER catalogs_delete_products AFTER DELETE ON catalogs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalogs_delete_products();

-- A catalog id never changes (the foreign key refused it while products referred to it).
CREATE FUNCTION catalogs_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    RAISE EXCEPTION 'a catalog id does not change (catalog "%")', OLD.id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER catalogs_id_fixed BEFORE UPDATE OF id ON catalogs
  FOR EACH ROW EXECUTE FUNCTION catalogs_id_fixed();
