-- Functions both store backends call: the PostgreSQL backend with SELECT, the Supabase backend
-- through PostgREST (POST /rest/v1/rpc/<name>). Each does in one transaction what REST could
-- only do in several requests (replace findings and complete, add counters atomically, ...), so
-- both backends share one implementation of those rules.
--
-- Errors they raise carry SQLSTATEs the backends map to StoreError subclasses:
--   P0002 no_data_found                    -> NotFound
--   55000 object_not_in_prerequisite_state -> Conflict (a bad state transition)
--   23505 unique_violation                 -> Conflict (e.g. two findings with one key)

CREATE OR REPLACE FUNCTION vigia_severity_rank(p_severity text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 WHEN 'critical' THEN 3 END::smallint
$$;

-- Add b's numbers to a's, key by key (counters of a run reported by several sub-tasks).
CREATE OR REPLACE FUNCTION vigia_jsonb_sum(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (
        SELECT key, sum(value::numeric) AS total
        FROM (SELECT key, value FROM jsonb_each_text(COALESCE(a, '{}'::jsonb))
              UNION ALL
              SELECT key, value FROM jsonb_each_text(COALESCE(b, '{}'::jsonb))) AS pairs
        GROUP BY key
    ) AS sums
$$;

-- ---------------------------------------------------------------------------------------------
-- Investigations

CREATE OR REPLACE FUNCTION vigia_create_or_get_investigation(
    p_contract_id bigint,
    p_orgao_codigo text,
    p_trigger text,
    p_detector_version text,
    p_indicators text[] DEFAULT '{}',
    p_window_start date DEFAULT NULL,
    p_window_end date DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_row investigations;
    v_orgao text := p_orgao_codigo;
BEGIN
    IF v_orgao IS NULL AND p_contract_id IS NOT NULL THEN
        SELECT orgao_codigo INTO v_orgao FROM contracts WHERE id = p_contract_id;
    END IF;
    -- The conflicting row may leave the open set between our INSERT and SELECT (an on-demand
    -- investigation completing); trying again then creates a new one, as intended.
    FOR attempt IN 1..3 LOOP
        INSERT INTO investigations (contract_id, orgao_codigo, trigger, detector_version, indicators,
                                    window_start, window_end)
        VALUES (p_contract_id, v_orgao, p_trigger, p_detector_version, COALESCE(p_indicators, '{}'),
                p_window_start, p_window_end)
        ON CONFLICT DO NOTHING
        RETURNING * INTO v_row;
        IF FOUND THEN
            RETURN jsonb_build_object('investigation', to_jsonb(v_row), 'created', true);
        END IF;
        IF p_trigger <> 'on_demand' AND p_contract_id IS NOT NULL THEN
            SELECT * INTO v_row FROM investigations
            WHERE contract_id = p_contract_id AND detector_version = p_detector_version AND trigger <> 'on_demand';
        ELSIF p_trigger <> 'on_demand' THEN
            SELECT * INTO v_row FROM investigations
            WHERE contract_id IS NULL AND orgao_codigo = v_orgao AND detector_version = p_detector_version
              AND trigger <> 'on_demand'
              AND window_start IS NOT DISTINCT FROM p_window_start AND window_end IS NOT DISTINCT FROM p_window_end;
        ELSIF p_contract_id IS NOT NULL THEN
            SELECT * INTO v_row FROM investigations
            WHERE contract_id = p_contract_id AND trigger = 'on_demand' AND status IN ('pending', 'running');
        ELSE
            SELECT * INTO v_row FROM investigations
            WHERE contract_id IS NULL AND orgao_codigo = v_orgao AND trigger = 'on_demand'
              AND status IN ('pending', 'running')
              AND window_start IS NOT DISTINCT FROM p_window_start AND window_end IS NOT DISTINCT FROM p_window_end;
        END IF;
        IF FOUND THEN
            RETURN jsonb_build_object('investigation', to_jsonb(v_row), 'created', false);
        END IF;
    END LOOP;
    RAISE EXCEPTION 'create_or_get_investigation: a concurrent writer kept changing the investigation of contract % / órgão %',
        p_contract_id, v_orgao USING ERRCODE = '40001';
END;
$$;

-- The findings a caller passes as a JSON array, as rows.
CREATE OR REPLACE FUNCTION vigia_findings_from_jsonb(p_findings jsonb)
RETURNS TABLE (indicator text, severity text, score double precision, subject_type text, subject_id text,
               contract_id bigint, orgao_codigo text, value double precision, threshold double precision,
               baseline jsonb, fields jsonb, explanation text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT f.indicator, f.severity, f.score, f.subject_type, f.subject_id, f.contract_id, f.orgao_codigo,
           f.value, f.threshold, COALESCE(f.baseline, '{}'::jsonb), COALESCE(f.fields, '{}'::jsonb), f.explanation
    FROM jsonb_to_recordset(COALESCE(p_findings, '[]'::jsonb)) AS f(
        indicator text, severity text, score double precision, subject_type text, subject_id text,
        contract_id bigint, orgao_codigo text, value double precision, threshold double precision,
        baseline jsonb, fields jsonb, explanation text)
$$;

-- Replace the findings of an investigation and complete it, in one transaction. Findings are
-- upserted on their key, so the same findings keep the same ids (feedback keeps pointing at
-- them); findings no longer produced are deleted.
CREATE OR REPLACE FUNCTION vigia_complete_investigation(
    p_id uuid,
    p_findings jsonb,
    p_risk_score double precision,
    p_summary text,
    p_summary_source text
) RETURNS investigations
LANGUAGE plpgsql AS $$
DECLARE
    v_inv investigations;
    v_dup text;
BEGIN
    SELECT * INTO v_inv FROM investigations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'investigation % does not exist', p_id USING ERRCODE = 'P0002';
    END IF;
    IF v_inv.status = 'cancelled' THEN
        RAISE EXCEPTION 'investigation % is cancelled; it cannot be completed', p_id USING ERRCODE = '55000';
    END IF;
    IF jsonb_typeof(COALESCE(p_findings, '[]'::jsonb)) <> 'array' THEN
        RAISE EXCEPTION 'findings must be a JSON array' USING ERRCODE = '22023';
    END IF;

    SELECT format('%s/%s/%s', n.indicator, n.subject_type, n.subject_id) INTO v_dup
    FROM vigia_findings_from_jsonb(p_findings) n
    GROUP BY n.indicator, n.subject_type, n.subject_id HAVING count(*) > 1 LIMIT 1;
    IF v_dup IS NOT NULL THEN
        RAISE EXCEPTION 'two findings share the key (indicator/subject type/subject id) %', v_dup
            USING ERRCODE = '23505';
    END IF;

    DELETE FROM findings f
    WHERE f.investigation_id = p_id
      AND NOT EXISTS (SELECT 1 FROM vigia_findings_from_jsonb(p_findings) n
                      WHERE n.indicator = f.indicator AND n.subject_type = f.subject_type
                        AND n.subject_id = f.subject_id);

    INSERT INTO findings AS f (investigation_id, indicator, severity, score, subject_type, subject_id, contract_id,
                               orgao_codigo, value, threshold, baseline, fields, explanation, detector_version)
    SELECT p_id, n.indicator, n.severity, n.score, n.subject_type, n.subject_id, n.contract_id, n.orgao_codigo,
           n.value, n.threshold, n.baseline, n.fields, n.explanation, v_inv.detector_version
    FROM vigia_findings_from_jsonb(p_findings) n
    ON CONFLICT ON CONSTRAINT findings_key DO UPDATE SET
        severity = excluded.severity, score = excluded.score, contract_id = excluded.contract_id,
        orgao_codigo = excluded.orgao_codigo, value = excluded.value, threshold = excluded.threshold,
        baseline = excluded.baseline, fields = excluded.fields, explanation = excluded.explanation,
        detector_version = excluded.detector_version, updated_at = now()
    -- an identical re-run leaves the row untouched
    WHERE (f.severity, f.score, f.contract_id, f.orgao_codigo, f.value, f.threshold, f.baseline, f.fields,
           f.explanation, f.detector_version)
          IS DISTINCT FROM
          (excluded.severity, excluded.score, excluded.contract_id, excluded.orgao_codigo, excluded.value,
           excluded.threshold, excluded.baseline, excluded.fields, excluded.explanation, excluded.detector_version);

    UPDATE investigations i SET
        status = 'completed',
        progress = 1,
        findings_count = s.n,
        finding_indicators = s.indicators,
        max_severity = s.max_severity,
        max_severity_rank = vigia_severity_rank(s.max_severity),
        risk_score = p_risk_score,
        summary = p_summary,
        summary_source = p_summary_source,
        error = NULL,
        finished_at = now()
    FROM (
        SELECT count(*)::integer AS n,
               COALESCE(array_agg(DISTINCT n.indicator ORDER BY n.indicator), '{}') AS indicators,
               (array_agg(n.severity ORDER BY vigia_severity_rank(n.severity) DESC))[1] AS max_severity
        FROM vigia_findings_from_jsonb(p_findings) n
    ) AS s
    WHERE i.id = p_id
    RETURNING i.* INTO v_inv;
    RETURN v_inv;
END;
$$;

-- Record a verdict; the finding, when given, must belong to the investigation.
CREATE OR REPLACE FUNCTION vigia_record_feedback(
    p_investigation_id uuid,
    p_label text,
    p_finding_id bigint DEFAULT NULL,
    p_note text DEFAULT NULL,
    p_author text DEFAULT NULL
) RETURNS investigation_feedback
LANGUAGE plpgsql AS $$
DECLARE
    v_row investigation_feedback;
BEGIN
    PERFORM 1 FROM investigations WHERE id = p_investigation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'investigation % does not exist', p_investigation_id USING ERRCODE = 'P0002';
    END IF;
    IF p_finding_id IS NOT NULL THEN
        PERFORM 1 FROM findings WHERE id = p_finding_id AND investigation_id = p_investigation_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'finding % is not a finding of investigation %', p_finding_id, p_investigation_id
                USING ERRCODE = 'P0002';
        END IF;
    END IF;
    INSERT INTO investigation_feedback (investigation_id, finding_id, label, note, author)
    VALUES (p_investigation_id, p_finding_id, p_label, p_note, p_author)
    RETURNING * INTO v_row;
    RETURN v_row;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Runs

CREATE OR REPLACE FUNCTION vigia_add_run_counters(p_run_id bigint, p_counters jsonb) RETURNS monitor_runs
LANGUAGE plpgsql AS $$
DECLARE
    v_run monitor_runs;
BEGIN
    -- The row lock serialises concurrent sub-tasks; each UPDATE re-reads the latest counters.
    UPDATE monitor_runs SET counters = vigia_jsonb_sum(counters, p_counters)
    WHERE id = p_run_id RETURNING * INTO v_run;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', p_run_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_run;
END;
$$;

CREATE OR REPLACE FUNCTION vigia_close_run(
    p_run_id bigint,
    p_status text,
    p_counters jsonb DEFAULT NULL,
    p_result jsonb DEFAULT NULL,
    p_error text DEFAULT NULL
) RETURNS monitor_runs
LANGUAGE plpgsql AS $$
DECLARE
    v_run monitor_runs;
BEGIN
    IF p_status NOT IN ('succeeded', 'failed') THEN
        RAISE EXCEPTION 'a run closes as succeeded or failed, not %', p_status USING ERRCODE = '22023';
    END IF;
    UPDATE monitor_runs SET
        status = p_status,
        finished_at = now(),
        counters = vigia_jsonb_sum(counters, p_counters),
        result = COALESCE(p_result, result),
        error = p_error
    WHERE id = p_run_id RETURNING * INTO v_run;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', p_run_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_run;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Órgão-level findings: replace those of one (órgão, year).

CREATE OR REPLACE FUNCTION vigia_save_orgao_findings(
    p_orgao_codigo text,
    p_year integer,
    p_findings jsonb,
    p_detector_version text
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    -- serialise writers of the same (órgão, year) so a replace is never interleaved
    PERFORM pg_advisory_xact_lock(hashtext('vigia_orgao_findings'), hashtext(p_orgao_codigo || '/' || p_year));
    DELETE FROM orgao_findings WHERE orgao_codigo = p_orgao_codigo AND year = p_year;
    INSERT INTO orgao_findings (orgao_codigo, year, indicator, severity, score, subject_type, subject_id, contract_id,
                                value, threshold, baseline, fields, explanation, detector_version)
    SELECT p_orgao_codigo, p_year, f.indicator, f.severity, f.score, COALESCE(f.subject_type, 'orgao'),
           COALESCE(f.subject_id, p_orgao_codigo), f.contract_id, f.value, f.threshold,
           COALESCE(f.baseline, '{}'::jsonb), COALESCE(f.fields, '{}'::jsonb), f.explanation, p_detector_version
    FROM jsonb_to_recordset(COALESCE(p_findings, '[]'::jsonb)) AS f(
        indicator text, severity text, score double precision, subject_type text, subject_id text,
        contract_id bigint, value double precision, threshold double precision, baseline jsonb, fields jsonb,
        explanation text);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Reads that aggregate (PostgREST exposes no GROUP BY by default).

CREATE OR REPLACE FUNCTION vigia_stats() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'investigations_by_status',
        (SELECT COALESCE(jsonb_object_agg(status, n), '{}'::jsonb)
         FROM (SELECT status, count(*) AS n FROM investigations GROUP BY status) s),
        'findings_by_indicator',
        (SELECT COALESCE(jsonb_object_agg(indicator, n), '{}'::jsonb)
         FROM (SELECT indicator, count(*) AS n FROM findings GROUP BY indicator) f),
        'investigations_by_orgao',
        (SELECT COALESCE(jsonb_object_agg(orgao_codigo, n), '{}'::jsonb)
         FROM (SELECT orgao_codigo, count(*) AS n FROM investigations
               WHERE orgao_codigo IS NOT NULL GROUP BY orgao_codigo) o)
    )
$$;

CREATE OR REPLACE FUNCTION vigia_orgao_ranking(p_limit integer DEFAULT 100) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH inv AS (
        SELECT orgao_codigo, count(*) AS investigations, COALESCE(sum(findings_count), 0) AS findings,
               max(risk_score) AS max_risk_score, avg(risk_score) AS mean_risk_score
        FROM investigations WHERE orgao_codigo IS NOT NULL GROUP BY orgao_codigo
    ), ctr AS (
        SELECT orgao_codigo, count(*) AS contracts, max(orgao_nome) AS orgao_nome
        FROM contracts WHERE orgao_codigo IS NOT NULL GROUP BY orgao_codigo
    ), ofs AS (
        SELECT orgao_codigo, jsonb_agg(to_jsonb(o) ORDER BY o.year DESC, o.indicator, o.subject_id) AS orgao_findings
        FROM orgao_findings o GROUP BY orgao_codigo
    ), codes AS (
        SELECT orgao_codigo FROM inv UNION SELECT orgao_codigo FROM ctr UNION SELECT orgao_codigo FROM ofs
    ), ranked AS (
        SELECT c.orgao_codigo, ctr.orgao_nome, COALESCE(ctr.contracts, 0) AS contracts,
               COALESCE(inv.investigations, 0) AS investigations, COALESCE(inv.findings, 0) AS findings,
               inv.max_risk_score, inv.mean_risk_score, COALESCE(ofs.orgao_findings, '[]'::jsonb) AS orgao_findings
        FROM codes c
        LEFT JOIN inv USING (orgao_codigo) LEFT JOIN ctr USING (orgao_codigo) LEFT JOIN ofs USING (orgao_codigo)
        ORDER BY inv.max_risk_score DESC NULLS LAST, COALESCE(inv.findings, 0) DESC,
                 jsonb_array_length(COALESCE(ofs.orgao_findings, '[]'::jsonb)) DESC, c.orgao_codigo
        LIMIT GREATEST(p_limit, 0)
    )
    SELECT COALESCE(jsonb_agg(to_jsonb(r)), '[]'::jsonb) FROM ranked r
$$;

-- Every feedback verdict with the numbers of the finding it judges (features for a model).
CREATE OR REPLACE FUNCTION vigia_training_samples() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
        'feedback_id', fb.id,
        'investigation_id', fb.investigation_id,
        'finding_id', fb.finding_id,
        'indicator', f.indicator,
        'label', fb.label,
        'features', jsonb_build_object(
            'indicator', f.indicator,
            'severity', f.severity,
            'severity_rank', vigia_severity_rank(f.severity),
            'score', f.score,
            'value', f.value,
            'threshold', f.threshold,
            'baseline_n', f.baseline -> 'n',
            'risk_score', i.risk_score,
            'findings_count', i.findings_count,
            'max_severity_rank', i.max_severity_rank,
            'trigger', i.trigger,
            'detector_version', i.detector_version,
            'valor_inicial', c.valor_inicial,
            'valor_final', c.valor_final,
            'modalidade_compra', c.modalidade_compra
        )) ORDER BY fb.id), '[]'::jsonb)
    FROM investigation_feedback fb
    JOIN investigations i ON i.id = fb.investigation_id
    LEFT JOIN findings f ON f.id = fb.finding_id
    LEFT JOIN contracts c ON c.id = i.contract_id
$$;

-- Robust statistics of ln(valor_inicial) over a peer group (same year, optionally the same órgão
-- and/or modality and source): what price_outlier compares a contract with.
CREATE OR REPLACE FUNCTION vigia_peer_baseline(
    p_year integer,
    p_orgao_codigo text DEFAULT NULL,
    p_modalidade_compra text DEFAULT NULL,
    p_source text DEFAULT NULL
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH v AS (
        SELECT ln(valor_inicial::double precision) AS x
        FROM contracts
        WHERE valor_inicial > 0
          AND data_assinatura >= make_date(p_year, 1, 1) AND data_assinatura < make_date(p_year + 1, 1, 1)
          AND (p_orgao_codigo IS NULL OR orgao_codigo = p_orgao_codigo)
          AND (p_modalidade_compra IS NULL OR modalidade_compra = p_modalidade_compra)
          AND (p_source IS NULL OR source = p_source)
    ), m AS (
        SELECT count(*) AS n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median,
               percentile_cont(0.25) WITHIN GROUP (ORDER BY x) AS q1,
               percentile_cont(0.75) WITHIN GROUP (ORDER BY x) AS q3
        FROM v
    )
    SELECT jsonb_build_object(
        'n', m.n, 'median', m.median, 'q1', m.q1, 'q3', m.q3,
        'mad', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(v.x - m.median)) FROM v))
    FROM m
$$;
