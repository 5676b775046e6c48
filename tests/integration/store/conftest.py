"""Fixtures of the store tests: a migrated database of this module's own, both backends on it.

``store`` is parametrised over the PostgreSQL backend and the Supabase backend (through the
PostgREST stand-in on the same database), so every test that takes it runs twice. Tables are
emptied before each test, so each starts from an empty schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shared.store.base import Store
from tests.support.databases import temporary_database
from tests.support.postgrest import PostgrestStandIn, running_postgrest

# children first; DELETE rather than TRUNCATE: on a few rows it is milliseconds, not a file swap per table
TABLES = (
    "investigation_feedback", "findings", "orgao_findings", "investigations", "contract_versions", "contracts",
    "sanctions", "monitor_runs", "ml_training_datasets",
)


@pytest.fixture(scope="package")
def store_database_url(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_store", migrated=True) as url:
        yield url


@pytest.fixture(scope="package")
def postgrest(store_database_url: str) -> Iterator[PostgrestStandIn]:
    with running_postgrest(store_database_url) as server:
        yield server


@pytest.fixture
def db(store_database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to look under the store, on emptied tables."""
    with psycopg.connect(store_database_url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        yield conn


@pytest.fixture(params=["postgres", "supabase"])
def store(request: pytest.FixtureRequest, db: psycopg.Connection[Any], store_database_url: str) -> Iterator[Store]:
    if request.param == "postgres":
        from shared.store.postgres import PostgresStore

        backend: Any = PostgresStore(store_database_url, application_name="vigia-store-tests")
    else:
        from shared.store.supabase import SupabaseStore

        server: PostgrestStandIn = request.getfixturevalue("postgrest")
        backend = SupabaseStore(server.url, server.service_key)
    try:
        yield backend
    finally:
        backend.close()
