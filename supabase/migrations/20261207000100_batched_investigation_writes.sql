-- A monitoring sweep writes the investigations of a chunk of flagged contracts in two round trips:
-- one creates (or finds) them all, one completes them all. Each item goes through the function
-- that a single call uses, so the rules (one automatic investigation per contract and detector
-- version, what may be completed, how findings are replaced) are written once, in those functions.

CREATE OR REPLACE FUNCTION vigia_create_or_get_investigations(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_item jsonb;
    v_out jsonb[] := '{}';
BEGIN
    IF jsonb_typeof(COALESCE(p_items, '[]'::jsonb)) <> 'array' THEN
        RAISE EXCEPTION 'items must be a JSON array' USING ERRCODE = '22023';
    END IF;
    FOR v_item IN SELECT value FROM jsonb_array_elements(COALESCE(p_items, '[]'::jsonb)) LOOP
        v_out := v_out || vigia_create_or_get_investigation(
            (v_item->>'contract_id')::bigint, v_item->>'orgao_codigo', v_item->>'trigger',
            v_item->>'detector_version',
            ARRAY(SELECT jsonb_array_elements_text(COALESCE(v_item->'indicators', '[]'::jsonb))),
            (v_item->>'window_start')::date, (v_item->>'window_end')::date);
    END LOOP;
    RETURN to_jsonb(v_out);
END;
$$;

-- One answer per item, in order: {"investigation": row}, or {"id": ..., "cancelled": true} for an
-- investigation a person cancelled meanwhile (their decision stands; the other items complete).
CREATE OR REPLACE FUNCTION vigia_complete_investigations(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_item jsonb;
    v_row investigations;
    v_out jsonb[] := '{}';
BEGIN
    IF jsonb_typeof(COALESCE(p_items, '[]'::jsonb)) <> 'array' THEN
        RAISE EXCEPTION 'items must be a JSON array' USING ERRCODE = '22023';
    END IF;
    FOR v_item IN SELECT value FROM jsonb_array_elements(COALESCE(p_items, '[]'::jsonb)) LOOP
        BEGIN
            v_row := vigia_complete_investigation(
                (v_item->>'id')::uuid, v_item->'findings', (v_item->>'risk_score')::double precision,
                v_item->>'summary', v_item->>'summary_source');
            v_out := v_out || jsonb_build_object('investigation', to_jsonb(v_row));
        EXCEPTION WHEN SQLSTATE '55000' THEN
            v_out := v_out || jsonb_build_object('id', v_item->>'id', 'cancelled', true);
        END;
    END LOOP;
    RETURN to_jsonb(v_out);
END;
$$;

-- They write: only the service role (and the owner) may call them, as for every other vigia_ function.
DO $$
DECLARE
    f text;
    r text;
BEGIN
    FOREACH f IN ARRAY ARRAY['vigia_create_or_get_investigations(jsonb)', 'vigia_complete_investigations(jsonb)'] LOOP
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
