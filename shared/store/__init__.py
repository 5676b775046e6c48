"""Storage: the schema's migrations and the store interface with its PostgreSQL and Supabase backends.

``get_store(settings)`` returns the backend the settings name: :class:`PostgresStore` when
``DATABASE_URL`` is set, :class:`SupabaseStore` when ``SUPABASE_URL`` and
``SUPABASE_SERVICE_ROLE_KEY`` are. Neither backend connects before its first operation, and
importing this package imports neither driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.store.base import Conflict, NotFound, Store, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.store.postgres import PostgresStore
    from shared.store.supabase import SupabaseStore


class StoreNotConfigured(StoreError):
    """Neither DATABASE_URL nor SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY is set."""


def get_store(settings: Settings, *, application_name: str = "vigia") -> Store:
    """The store the settings name; raises :class:`StoreNotConfigured` with what to set."""
    backend = settings.storage_backend
    if backend == "postgres":
        from shared.store.postgres import PostgresStore

        assert settings.database_url is not None
        return PostgresStore(
            settings.database_url.get_secret_value(),
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            application_name=application_name,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
    if backend == "supabase":
        from shared.store.supabase import SupabaseStore

        assert settings.supabase_url is not None and settings.supabase_service_role_key is not None
        return SupabaseStore(settings.supabase_url, settings.supabase_service_role_key.get_secret_value())
    raise StoreNotConfigured(
        "no database configured: set DATABASE_URL (a PostgreSQL connection string) or SUPABASE_URL "
        "with SUPABASE_SERVICE_ROLE_KEY"
    )


def __getattr__(name: str) -> Any:
    # The backends import their drivers; load them only when asked for.
    if name == "PostgresStore":
        from shared.store.postgres import PostgresStore

        return PostgresStore
    if name == "SupabaseStore":
        from shared.store.supabase import SupabaseStore

        return SupabaseStore
    raise AttributeError(name)


__all__ = [
    "Conflict",
    "NotFound",
    "PostgresStore",
    "Store",
    "StoreError",
    "StoreNotConfigured",
    "StoreUnavailable",
    "SupabaseStore",
    "get_store",
]
