-- Which migrations this database has, for a deployment that reaches it only through the REST API.
--
-- A Supabase-only deployment (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, no DATABASE_URL) cannot
-- run migrations itself; its release step (`vigia migrate`) asks this function, through PostgREST
-- (`POST /rest/v1/rpc/vigia_schema_versions`), which versions are applied and compares them with
-- the files in supabase/migrations. Three ways of applying the files each leave a record it reads:
--   - Vigia's own runner (`vigia migrate` with DATABASE_URL) and the script printed by
--     `vigia migrate --print-sql` write vigia_schema_migrations;
--   - `supabase db push` writes supabase_migrations.schema_migrations (the Supabase CLI's history
--     table: version, name, statements).
-- SECURITY DEFINER so the service role need not read either table itself; only it may call it.

CREATE OR REPLACE FUNCTION vigia_schema_versions() RETURNS text[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
AS $$
DECLARE
    found text[] := '{}';
    more text[];
    vigia_table regclass := to_regclass('vigia_schema_migrations');
BEGIN
    IF vigia_table IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(array_agg(version), ''{}'') FROM %s', vigia_table) INTO more;
        found := found || more;
    END IF;
    IF to_regclass('supabase_migrations.schema_migrations') IS NOT NULL THEN
        EXECUTE 'SELECT coalesce(array_agg(version), ''{}'') FROM supabase_migrations.schema_migrations' INTO more;
        found := found || more;
    END IF;
    RETURN ARRAY(SELECT DISTINCT v FROM unnest(found) AS v ORDER BY v);
END;
$$;

-- A SECURITY DEFINER function must not resolve names through the caller's search_path: pin the
-- schema it was created in (pg_catalog is searched first implicitly, pg_temp last).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION vigia_schema_versions() SET search_path = %I, pg_temp', current_schema());
END;
$$;

DO $$
DECLARE
    r text;
BEGIN
    REVOKE ALL ON FUNCTION vigia_schema_versions() FROM PUBLIC;
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('REVOKE ALL ON FUNCTION vigia_schema_versions() FROM %I', r);
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        GRANT EXECUTE ON FUNCTION vigia_schema_versions() TO service_role;
    END IF;
END;
$$;
