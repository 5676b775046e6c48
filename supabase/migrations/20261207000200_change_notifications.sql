-- Every committed change to what the API shows (investigations, their findings, their contracts)
-- sends a notification on the channel vigia_changes. An API worker that LISTENs keeps the pages
-- it answered until one arrives, instead of for one second (services/api/changes.py).
--
-- NOTIFY is transactional: it is delivered when the writing transaction commits, never before
-- and never for one rolled back, and the same channel and payload sent many times in one
-- transaction is delivered once (https://www.postgresql.org/docs/current/sql-notify.html). Row
-- triggers fire only for rows really written, so an upsert that changes nothing sends nothing.

CREATE OR REPLACE FUNCTION vigia_notify_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('vigia_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['investigations', 'findings', 'contracts'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS vigia_changes ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS vigia_changes_update ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS vigia_changes_truncate ON %I', t);
        EXECUTE format('CREATE TRIGGER vigia_changes_truncate AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION vigia_notify_change()', t);
    END LOOP;
END;
$$;

CREATE TRIGGER vigia_changes AFTER INSERT OR UPDATE OR DELETE ON investigations
    FOR EACH ROW EXECUTE FUNCTION vigia_notify_change();
CREATE TRIGGER vigia_changes AFTER INSERT OR UPDATE OR DELETE ON findings
    FOR EACH ROW EXECUTE FUNCTION vigia_notify_change();
-- Every sweep refreshes last_seen_at of the contracts it read again, which the API does not show:
-- only a new, removed or changed contract (its content hash, over every field the API shows) counts.
CREATE TRIGGER vigia_changes AFTER INSERT OR DELETE ON contracts
    FOR EACH ROW EXECUTE FUNCTION vigia_notify_change();
CREATE TRIGGER vigia_changes_update AFTER UPDATE ON contracts
    FOR EACH ROW WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash) EXECUTE FUNCTION vigia_notify_change();

REVOKE ALL ON FUNCTION vigia_notify_change() FROM PUBLIC;
