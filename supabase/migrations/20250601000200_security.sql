-- Row level security on every table, and who may call the functions.
--
-- Supabase has three API roles: service_role (Vigia's server-side key; bypasses RLS), anon and
-- authenticated (a public key in a browser). On plain PostgreSQL (Render, Railway, a VPS, tests)
-- they do not exist, so they are created when absent; where the migrating user may not create
-- roles, the policies that name them are skipped and only RLS stays on (Vigia itself connects as
-- the tables' owner, which RLS does not restrict).
--
-- What anon and authenticated may read is what the public API shows: contracts, investigations,
-- their findings and the órgão-level findings. Feedback (notes, authors), runs, datasets, the
-- sanctions mirror and old contract versions stay server-side. Nobody but the service role writes.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                -- another database on this server created it a moment ago (roles are cluster-wide)
                WHEN duplicate_object OR unique_violation THEN NULL;
                WHEN insufficient_privilege THEN
                    RAISE NOTICE 'cannot create role %: its policies are skipped', r;
            END;
        END IF;
    END LOOP;
END;
$$;

-- The migration runner's own bookkeeping is not for the API either.
CREATE TABLE IF NOT EXISTS vigia_schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
    t text;
    public_tables text[] := ARRAY['contracts', 'investigations', 'findings', 'orgao_findings'];
    all_tables text[] := ARRAY['contracts', 'contract_versions', 'sanctions', 'investigations', 'findings',
                               'orgao_findings', 'investigation_feedback', 'ml_training_datasets',
                               'monitor_runs', 'vigia_schema_migrations'];
    has_anon boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon');
    has_authenticated boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated');
    has_service boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role');
BEGIN
    FOREACH t IN ARRAY all_tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);

        -- Supabase grants everything on public tables to every API role by default; RLS is what
        -- restricts rows, and these revokes make writes by the public keys impossible regardless.
        IF has_anon THEN
            EXECUTE format('REVOKE ALL ON TABLE %I FROM anon', t);
        END IF;
        IF has_authenticated THEN
            EXECUTE format('REVOKE ALL ON TABLE %I FROM authenticated', t);
        END IF;

        IF has_service THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I TO service_role', t);
            -- Supabase's service_role has BYPASSRLS; this policy gives the same access where the
            -- role was created here without it.
            EXECUTE format('DROP POLICY IF EXISTS service_role_all ON %I', t);
            EXECUTE format('CREATE POLICY service_role_all ON %I FOR ALL TO service_role USING (true) WITH CHECK (true)', t);
        END IF;

        EXECUTE format('DROP POLICY IF EXISTS public_read ON %I', t);
        IF t = ANY (public_tables) AND (has_anon OR has_authenticated) THEN
            IF has_anon THEN
                EXECUTE format('GRANT SELECT ON TABLE %I TO anon', t);
            END IF;
            IF has_authenticated THEN
                EXECUTE format('GRANT SELECT ON TABLE %I TO authenticated', t);
            END IF;
            EXECUTE format('CREATE POLICY public_read ON %I FOR SELECT TO %s USING (true)', t,
                           array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(ARRAY['anon', 'authenticated']) x
                                                  WHERE (x = 'anon' AND has_anon)
                                                     OR (x = 'authenticated' AND has_authenticated)), ', '));
        END IF;
    END LOOP;

    IF has_service THEN
        -- identity columns draw from sequences the REST inserts need
        EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO service_role';
        EXECUTE 'GRANT USAGE ON SCHEMA public TO service_role';
    END IF;
    IF has_anon THEN
        EXECUTE 'GRANT USAGE ON SCHEMA public TO anon';
    END IF;
    IF has_authenticated THEN
        EXECUTE 'GRANT USAGE ON SCHEMA public TO authenticated';
    END IF;
END;
$$;

-- The functions write; only the service role (and the owner) may call them.
DO $$
DECLARE
    f regprocedure;
    r text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'vigia\_%'
          AND p.proname NOT IN ('vigia_severity_rank', 'vigia_jsonb_sum', 'vigia_findings_from_jsonb')
          AND p.prorettype <> 'trigger'::regtype  -- trigger functions cannot be called directly
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %I', f, r);
            END IF;
        END LOOP;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
        END IF;
    END LOOP;
END;
$$;
