-- What the public keys may read, column by column: exactly what the public API shows.
--
-- 20250601000200_security.sql lets anon and authenticated read four tables (RLS policy
-- public_read, SELECT granted on the whole table). A whole-table grant also covers every column
-- added later, whatever it holds; column grants are an allow-list instead: a new column stays
-- server-side until a migration names it here. Hidden from the public keys: each contract's raw
-- Portal record, its content hash and version bookkeeping, and the findings' internal timestamps.
-- (A client of the public key therefore names its columns: `select=*` on contracts is refused.)
--
-- tests/integration/security/test_public_columns.py keeps these lists equal to the API's models.
-- Idempotent: revoking SELECT on a table also revokes its column grants, then they are granted again.

DO $$
DECLARE
    r text;
    t text;
    cols text;
    public_columns jsonb := '{
        "contracts": ["id", "source", "numero", "objeto", "numero_processo", "fundamento_legal", "situacao",
                      "modalidade_compra", "orgao_codigo", "orgao_nome", "ug_codigo", "ug_nome",
                      "fornecedor_documento", "fornecedor_nome", "data_assinatura", "data_publicacao_dou",
                      "data_inicio_vigencia", "data_fim_vigencia", "valor_inicial", "valor_final"],
        "investigations": ["id", "contract_id", "orgao_codigo", "trigger", "indicators", "window_start",
                           "window_end", "status", "progress", "findings_count", "risk_score",
                           "finding_indicators", "max_severity", "max_severity_rank", "summary",
                           "summary_source", "error", "detector_version", "created_at", "started_at",
                           "finished_at", "updated_at"],
        "findings": ["id", "investigation_id", "indicator", "severity", "score", "subject_type", "subject_id",
                     "contract_id", "orgao_codigo", "value", "threshold", "baseline", "fields", "explanation"],
        "orgao_findings": ["id", "orgao_codigo", "year", "indicator", "severity", "score", "subject_type",
                           "subject_id", "contract_id", "value", "threshold", "baseline", "fields", "explanation"]
    }';
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            CONTINUE;  -- plain PostgreSQL where the role could not be created: nothing to grant
        END IF;
        FOR t IN SELECT jsonb_object_keys(public_columns) LOOP
            EXECUTE format('REVOKE SELECT ON TABLE %I FROM %I', t, r);
            SELECT string_agg(quote_ident(c), ', ') INTO cols FROM jsonb_array_elements_text(public_columns -> t) AS c;
            EXECUTE format('GRANT SELECT (%s) ON TABLE %I TO %I', cols, t, r);
        END LOOP;
    END LOOP;
END;
$$;
