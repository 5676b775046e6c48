"""The backend follows the settings, and a production process without storage refuses to start."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.config import Settings
from shared.store import StoreNotConfigured, get_store
from shared.store.postgres import PostgresStore
from shared.store.supabase import SupabaseStore


def settings(**values: object) -> Settings:
    return Settings(**{"environment": "development", "database_url": None, "supabase_url": None,
                       "supabase_service_role_key": None, **values})  # type: ignore[arg-type]


def test_it_prefers_a_direct_database_url() -> None:
    store = get_store(settings(database_url=SecretStr("postgres://u:p@db.example:5432/vigia"),
                               supabase_url="https://x.supabase.co", supabase_service_role_key=SecretStr("k" * 40)))
    assert isinstance(store, PostgresStore)
    store.close()  # never opened: nothing connected


def test_it_uses_supabase_rest_without_a_database_url() -> None:
    store = get_store(settings(supabase_url="https://x.supabase.co", supabase_service_role_key=SecretStr("k" * 40)))
    assert isinstance(store, SupabaseStore)
    store.close()


def test_it_says_what_to_set_when_no_storage_is_configured() -> None:
    with pytest.raises(StoreNotConfigured, match="set DATABASE_URL .* or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY"):
        get_store(settings())


@pytest.mark.parametrize("process", ["web", "worker", "release"])
def test_it_refuses_to_start_a_production_process_without_storage(process: str) -> None:
    problems = settings(environment="production").problems_for(process)  # type: ignore[arg-type]
    assert any("DATABASE_URL (or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY) is missing" in p for p in problems)


def test_it_refuses_invalid_backend_arguments() -> None:
    from shared.store.base import StoreError

    with pytest.raises(StoreError, match="needs a database URL"):
        PostgresStore("")
    with pytest.raises(StoreError, match="project URL"):
        SupabaseStore("x.supabase.co", "k")
