"""The public keys (Supabase ``anon`` and ``authenticated``) read only the columns the public API shows.

Row level security decides which rows (tests/integration/store/test_migrate.py checks every
table has it, and that the public roles read only four tables and write nothing); these tests
check the columns: each public role's SELECT privileges, column by column, equal the fields of
the API's response models, plus the keys that join them; nothing is granted table-wide (so a
column added later stays hidden until a migration names it); and the service role still reads
and writes everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

from services.api.schemas.investigations import ContractOut, FindingOut, InvestigationOut, StoredFindingOut

pytestmark = pytest.mark.integration

PUBLIC_ROLES = ("anon", "authenticated")

# What the API shows of each table, and the columns that relate its rows to one another.
EXPECTED = {
    "contracts": set(ContractOut.model_fields),
    "investigations": (set(InvestigationOut.model_fields) - {"url"}) | {"max_severity_rank"},
    "findings": set(StoredFindingOut.model_fields) | {"investigation_id"},
    "orgao_findings": set(FindingOut.model_fields) | {"id", "year"},
}


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A transaction rolled back at the end, so the shared database stays as it was."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


def readable_columns(conn: psycopg.Connection[Any], role: str) -> dict[str, set[str]]:
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "AND has_column_privilege(%s, c.oid, a.attnum, 'SELECT')",
        (role,),
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_it_lets_the_public_roles_read_exactly_the_columns_the_api_shows(conn: psycopg.Connection[Any], role: str) -> None:
    assert readable_columns(conn, role) == EXPECTED


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_it_grants_the_public_roles_nothing_table_wide_and_no_column_to_write(
    conn: psycopg.Connection[Any], role: str
) -> None:
    table_wide = conn.execute(
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = %s AND table_schema = 'public'", (role,)).fetchall()
    assert table_wide == []
    writable = conn.execute(
        "SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges "
        "WHERE grantee = %s AND table_schema = 'public' AND privilege_type <> 'SELECT'", (role,)).fetchall()
    assert writable == []


def test_it_refuses_the_hidden_columns_to_anon_and_serves_the_rest(conn: psycopg.Connection[Any]) -> None:
    contract_id = 800_000_000 + uuid.uuid4().int % 1_000_000
    conn.execute("INSERT INTO contracts (id, source, objeto, content_hash, raw) VALUES (%s, 'simulator', %s, 'h', %s)",
                 (contract_id, "Aquisição de papel", '{"segredo": "interno"}'))
    conn.execute("SET LOCAL ROLE anon")
    row = conn.execute("SELECT id, objeto, valor_inicial FROM contracts WHERE id = %s", (contract_id,)).fetchone()
    assert row == (contract_id, "Aquisição de papel", None)
    for query in ("SELECT raw FROM contracts", "SELECT content_hash FROM contracts", "SELECT * FROM contracts",
                  "SELECT created_at FROM findings", "SELECT detector_version FROM orgao_findings"):
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute(query)
    conn.execute("SELECT * FROM investigations LIMIT 1")  # every investigation column is public
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("UPDATE contracts SET objeto = 'x' WHERE id = %s", (contract_id,))


def test_it_lets_the_service_role_read_every_column(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET LOCAL ROLE service_role")
    for table in EXPECTED:
        conn.execute(f"SELECT * FROM {table} LIMIT 1")  # noqa: S608 - fixed table names
