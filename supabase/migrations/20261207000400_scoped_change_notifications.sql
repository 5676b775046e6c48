-- The change notifications of 20261207000200 say what changed, not only that something did, so
-- an API worker drops only the pages that can show it (services/api/changes.py):
--
--   'i <id> <órgão code> <indicators>'   an investigation row: the list pages (all of them, or
--                                        only that órgão's, or those indicators', when filtered)
--                                        and its detail; the indicators are its
--                                        finding_indicators, comma-separated
--   'd <investigation id>'               one of its findings, or its contract: its detail only
--   '*'                                  a TRUNCATE: every page
--
-- A list item is an investigation row alone (findings_count, finding_indicators and max_severity
-- are kept on it), so findings and contracts change only details. An update sends the row as it
-- was and as it is (one payload when they name the same): a page filtered by órgão or indicator
-- changes only if the row was or is in it. A contract names the investigations of it
-- through investigations_contract_idx; a new contract usually has none yet and sends nothing.
-- NOTIFY delivers one of each identical payload per transaction, so a row written three times
-- in one transaction is notified once (https://www.postgresql.org/docs/current/sql-notify.html).

CREATE OR REPLACE FUNCTION vigia_notify_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
    investigation uuid;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_catalog.pg_notify('vigia_changes', '*');
    ELSIF TG_TABLE_NAME = 'investigations' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_catalog.pg_notify('vigia_changes', 'i ' || OLD.id || ' ' || coalesce(OLD.orgao_codigo, '')
                                         || ' ' || pg_catalog.array_to_string(OLD.finding_indicators, ','));
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM pg_catalog.pg_notify('vigia_changes', 'i ' || NEW.id || ' ' || coalesce(NEW.orgao_codigo, '')
                                         || ' ' || pg_catalog.array_to_string(NEW.finding_indicators, ','));
        END IF;
    ELSIF TG_TABLE_NAME = 'findings' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_catalog.pg_notify('vigia_changes', 'd ' || OLD.investigation_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM pg_catalog.pg_notify('vigia_changes', 'd ' || NEW.investigation_id);
        END IF;
    ELSE  -- contracts
        FOR investigation IN
            SELECT i.id FROM public.investigations AS i
            WHERE i.contract_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END
        LOOP
            PERFORM pg_catalog.pg_notify('vigia_changes', 'd ' || investigation);
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION vigia_notify_change() FROM PUBLIC;
