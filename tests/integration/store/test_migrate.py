"""The schema: migrations apply on a fresh PostgreSQL and again as a no-op; constraints and RLS hold."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from shared.store.migrate import discover, migrate

pytestmark = pytest.mark.integration

TABLES = {
    "contracts", "contract_versions", "sanctions", "investigations", "findings", "orgao_findings",
    "investigation_feedback", "ml_training_datasets", "monitor_runs", "vigia_schema_migrations",
}


def test_it_applies_the_migrations_on_a_fresh_database_then_does_nothing(fresh_database_url: str) -> None:
    applied = migrate(fresh_database_url)
    assert applied == [m.version for m in discover()] and len(applied) >= 3
    assert migrate(fresh_database_url) == []
    with psycopg.connect(fresh_database_url) as conn:
        names = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert TABLES <= names
        recorded = [r[0] for r in conn.execute("SELECT version FROM vigia_schema_migrations ORDER BY version")]
        assert recorded == applied


def test_it_survives_the_files_being_applied_again_as_supabase_db_push_would(fresh_database_url: str) -> None:
    migrate(fresh_database_url)
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO monitor_runs (task) VALUES ('kept')")
        for migration in discover():  # another tool, unaware of vigia_schema_migrations
            with conn.transaction():
                conn.execute(migration.sql)  # type: ignore[arg-type]
        assert conn.execute("SELECT task FROM monitor_runs").fetchall() == [("kept",)]
        policies = conn.execute("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'").fetchone()
        assert policies is not None and policies[0] == len(TABLES) + 4  # service_role on all, public_read on 4


def test_it_enables_row_level_security_on_every_table(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        ).fetchall()
    assert {name for name, _ in rows} >= TABLES
    assert [name for name, secured in rows if not secured] == []


def insert_investigation(conn: psycopg.Connection[Any], **values: Any) -> None:
    row = {"contract_id": 1, "trigger": "scheduled", "detector_version": "d1", **values}
    columns = ", ".join(row)
    conn.execute(f"INSERT INTO investigations ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


@pytest.fixture
def conn(database_url: str) -> Any:
    """A transaction rolled back at the end, so these checks leave the shared database as it was."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


def test_it_refuses_a_second_automatic_investigation_of_a_contract(conn: psycopg.Connection[Any]) -> None:
    contract = 900_000_000 + uuid.uuid4().int % 1_000_000
    insert_investigation(conn, contract_id=contract)
    with pytest.raises(errors.UniqueViolation, match="investigations_automatic_contract_key"), conn.transaction():
        insert_investigation(conn, contract_id=contract, trigger="reanalysis")
    insert_investigation(conn, contract_id=contract, detector_version="d2")  # a new detector version may
    insert_investigation(conn, contract_id=contract, trigger="on_demand")  # and so may a person
    with pytest.raises(errors.UniqueViolation, match="open_on_demand"), conn.transaction():
        insert_investigation(conn, contract_id=contract, trigger="on_demand")


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"status": "done"}, "investigations_status_check"),
        ({"trigger": "cron"}, "investigations_trigger_check"),
        ({"progress": 1.5}, "investigations_progress_check"),
        ({"contract_id": None}, "investigations_subject_check"),
        ({"risk_score": -0.1}, "investigations_risk_score_check"),
    ],
)
def test_it_refuses_values_outside_the_checks(conn: psycopg.Connection[Any], values: dict[str, Any], constraint: str) -> None:
    with pytest.raises(errors.CheckViolation, match=constraint):
        insert_investigation(conn, **{"contract_id": uuid.uuid4().int % 10**9, **values})


def test_it_refuses_bad_findings_feedback_and_contracts(conn: psycopg.Connection[Any]) -> None:
    inv = conn.execute(
        "INSERT INTO investigations (orgao_codigo, trigger, detector_version) VALUES ('1', 'on_demand', 'd') RETURNING id"
    ).fetchone()
    assert inv is not None
    finding = ("INSERT INTO findings (investigation_id, indicator, severity, score, subject_type, subject_id, "
               "explanation, detector_version) VALUES (%s, 'x', %s, %s, 'contract', '1', 'e', 'd')")
    for severity, score, constraint in (("severe", 0.5, "findings_severity_check"), ("low", 2.0, "findings_score_check")):
        with pytest.raises(errors.CheckViolation, match=constraint), conn.transaction():
            conn.execute(finding, (inv[0], severity, score))
    conn.execute(finding, (inv[0], "low", 0.5))
    with pytest.raises(errors.UniqueViolation, match="findings_key"), conn.transaction():
        conn.execute(finding, (inv[0], "high", 0.9))
    with pytest.raises(errors.CheckViolation, match="investigation_feedback_label_check"), conn.transaction():
        conn.execute("INSERT INTO investigation_feedback (investigation_id, label) VALUES (%s, 'maybe')", (inv[0],))
    with pytest.raises(errors.CheckViolation, match="contracts_fornecedor_documento_check"), conn.transaction():
        conn.execute("INSERT INTO contracts (id, source, content_hash, fornecedor_documento) "
                     "VALUES (1, 'portal', 'h', '12.345')")
    with pytest.raises(errors.CheckViolation, match="contracts_source_check"), conn.transaction():
        conn.execute("INSERT INTO contracts (id, source, content_hash) VALUES (1, 'demo', 'h')")
    with pytest.raises(errors.CheckViolation, match="monitor_runs_status_check"), conn.transaction():
        conn.execute("INSERT INTO monitor_runs (task, status) VALUES ('t', 'ok')")


def test_it_lets_the_anon_role_read_only_what_the_api_shows(conn: psycopg.Connection[Any]) -> None:
    insert_investigation(conn, contract_id=uuid.uuid4().int % 10**9)
    conn.execute("INSERT INTO monitor_runs (task) VALUES ('secret')")
    conn.execute("SET LOCAL ROLE anon")
    for table in ("investigations", "findings", "contracts", "orgao_findings"):
        # By column: anon reads the API's columns only (tests/integration/security/test_public_columns.py).
        conn.execute(f"SELECT id FROM {table} LIMIT 1")
    visible = conn.execute("SELECT count(*) FROM investigations").fetchone()
    assert visible is not None and visible[0] >= 1
    for table in ("monitor_runs", "investigation_feedback", "ml_training_datasets", "sanctions", "contract_versions",
                  "vigia_schema_migrations"):
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute(f"SELECT * FROM {table} LIMIT 1")
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("INSERT INTO monitor_runs (task) VALUES ('x')")
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("UPDATE investigations SET status = 'cancelled'")
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("SELECT vigia_stats()")


def test_it_lets_the_service_role_write_through_row_level_security(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET LOCAL ROLE service_role")
    conn.execute("INSERT INTO monitor_runs (task) VALUES ('service')")
    row = conn.execute("SELECT count(*) FROM monitor_runs WHERE task = 'service'").fetchone()
    assert row is not None and row[0] == 1
    conn.execute("SELECT vigia_stats()")
