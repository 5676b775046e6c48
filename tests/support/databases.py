"""Databases of their own on the test PostgreSQL server: created with a unique name, dropped after.

Each test run, module or test that must not see another's rows takes one (``tests/conftest.py``
re-exports :func:`create_database` and :func:`drop_database`, which benchmarks also use).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(admin_url: str, prefix: str = "vigia_test") -> str:
    """A new empty database on the test server; returns its URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database(admin_url: str, prefix: str = "vigia_test", *, migrated: bool = False) -> Iterator[str]:
    """A new database for the ``with`` block (migrated to the latest schema when asked), then dropped."""
    url = create_database(admin_url, prefix=prefix)
    try:
        if migrated:
            from shared.store.migrate import migrate

            migrate(url)
        yield url
    finally:
        drop_database(admin_url, url)
