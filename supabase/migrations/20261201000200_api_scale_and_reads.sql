-- Indexes for the API's investigation list at millions of rows, and closing public reads for read keys.
--
-- The list pages by keyset (services/api/pagination.py): "after the row with this sort value and
-- id", a row comparison such as (created_at, id) < ($1, $2) that a btree on (created_at, id)
-- answers as one range, scanned forwards for ascending sorts and backwards for descending ones.
-- Risk sorts read scored rows by (risk_score, id), then the unscored ones by id (they come last
-- in both directions), each part one range. Shallow numbered pages (OFFSET, capped by the API)
-- sort risk descending with NULLS LAST, which the (risk_score DESC NULLS LAST, id DESC) index
-- returns in order. The equality filters (órgão, status, trigger) lead composite indexes;
-- the others (indicator: GIN; severity, contract, dates, minimum score) are answered by
-- their own index or by walking a sort index, never by reading the whole table.
--
-- Idempotent (IF NOT EXISTS / IF EXISTS) and plain SQL, so `vigia migrate` and `supabase db push`
-- both apply it. Not CONCURRENTLY: migrations run inside a transaction on both tools.

CREATE INDEX IF NOT EXISTS investigations_created_id_idx ON investigations (created_at, id);
CREATE INDEX IF NOT EXISTS investigations_risk_id_idx ON investigations (risk_score, id);
CREATE INDEX IF NOT EXISTS investigations_risk_desc_id_idx
    ON investigations (risk_score DESC NULLS LAST, id DESC);
CREATE INDEX IF NOT EXISTS investigations_unscored_idx ON investigations (id) WHERE risk_score IS NULL;
CREATE INDEX IF NOT EXISTS investigations_orgao_created_id_idx ON investigations (orgao_codigo, created_at, id);
CREATE INDEX IF NOT EXISTS investigations_orgao_risk_id_idx ON investigations (orgao_codigo, risk_score, id);
CREATE INDEX IF NOT EXISTS investigations_status_created_id_idx ON investigations (status, created_at, id);
CREATE INDEX IF NOT EXISTS investigations_trigger_created_id_idx ON investigations (trigger, created_at, id);

-- Replaced by the indexes above (same leading columns, with id in the sort's direction).
DROP INDEX IF EXISTS investigations_created_idx;
DROP INDEX IF EXISTS investigations_risk_idx;
DROP INDEX IF EXISTS investigations_orgao_created_idx;

-- /stats and /orgaos aggregate whole tables when their cache refreshes (services/api/summaries.py):
-- one core for that, so a refresh never takes every core from the requests being served.
ALTER FUNCTION vigia_stats() SET max_parallel_workers_per_gather = 0;
ALTER FUNCTION vigia_orgao_ranking(integer) SET max_parallel_workers_per_gather = 0;

-- Read keys and the public roles. With API_READ_KEY_REQUIRED=true the API needs a key to read,
-- but on Supabase the anon key (public by design: it ships to browsers) still reads the public
-- columns straight through /rest/v1. vigia_public_reads() says which public roles can still read
-- (`vigia doctor` calls it); vigia_close_public_reads() takes their reads away. Re-applying
-- 20250601000300_public_columns.sql gives them back.
CREATE OR REPLACE FUNCTION vigia_public_reads() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_object_agg(r.rolname, EXISTS (
               SELECT 1 FROM unnest(ARRAY['contracts', 'investigations', 'findings', 'orgao_findings']) AS t
               WHERE has_any_column_privilege(r.oid, t::regclass, 'SELECT'))), '{}'::jsonb)
    FROM pg_roles r WHERE r.rolname IN ('anon', 'authenticated')
$$;

CREATE OR REPLACE FUNCTION vigia_close_public_reads() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r text;
    t text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            FOREACH t IN ARRAY ARRAY['contracts', 'investigations', 'findings', 'orgao_findings'] LOOP
                EXECUTE format('REVOKE SELECT ON TABLE %I FROM %I', t, r);
            END LOOP;
        END IF;
    END LOOP;
    RETURN vigia_public_reads();
END;
$$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['vigia_public_reads()', 'vigia_close_public_reads()'] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM anon', f);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM authenticated', f);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
        END IF;
    END LOOP;
END;
$$;
