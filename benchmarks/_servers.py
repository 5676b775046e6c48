"""The servers a benchmark runs against: REDIS_URL / DATABASE_URL when set, else embedded ones."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from shared.store.migrate import migrate


@contextmanager
def local_servers(prefix: str) -> Iterator[tuple[Path, str, str]]:
    """A scratch folder, a Redis URL and a migrated database URL; embedded servers stop at the end."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    redis_server = postgres = None
    try:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_server = EmbeddedRedis(workdir=tmp / "redis").start()
            redis_url = redis_server.url
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = EmbeddedPostgres(datadir=tmp / "postgres").start()
            database_url = postgres.url
        migrate(database_url)
        yield tmp, redis_url, database_url
    finally:
        for server in (postgres, redis_server):
            if server is not None:
                server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
