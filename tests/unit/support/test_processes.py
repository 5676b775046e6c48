"""The test suite's own process helpers: the table of Redis databases and the URLs built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, RedisDb, procfile_argv, redis_db

DEFAULT_REDIS_DATABASES = 16  # redis.conf's ``databases``, as managed Redis services keep it


def test_it_gives_each_use_its_own_redis_database() -> None:
    # An Enum makes a repeated value an alias of the first name; __members__ lists aliases too.
    numbers = [int(member) for member in RedisDb.__members__.values()]
    assert len(numbers) == len(set(numbers)), sorted(numbers)


def test_it_uses_only_databases_a_default_redis_server_has() -> None:
    assert all(0 <= number < DEFAULT_REDIS_DATABASES for number in RedisDb)


def test_it_has_no_redis_database_that_no_test_takes() -> None:
    here = Path(__file__).resolve()
    sources = "\n".join(path.read_text() for path in (REPO_ROOT / "tests").rglob("*.py") if path.resolve() != here)
    unused = [member.name for member in RedisDb if member is not RedisDb.SESSION
              and f"RedisDb.{member.name}" not in sources]
    assert unused == []


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/7"),
    ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/7"),
    ("rediss://default:pw@redis.example:6380/3?ssl_cert_reqs=none", "rediss://default:pw@redis.example:6380/7?ssl_cert_reqs=none"),  # pragma: allowlist secret
])
def test_it_points_a_redis_url_at_a_database_keeping_the_rest(url: str, expected: str) -> None:
    assert redis_db(url, RedisDb.API_WEB) == expected


def test_it_runs_a_procfile_entry_from_this_virtualenv_with_extra_arguments() -> None:
    argv = procfile_argv("beat", {"PORT": "8000"}, "--max-interval", "1")
    assert argv[0].endswith("celery") and argv[-2:] == ["--max-interval", "1"]
    assert "services.beat" in argv
