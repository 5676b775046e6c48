"""A Supabase-only deployment (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, no DATABASE_URL).

Its release step, the Procfile's ``vigia migrate`` run as a real process, checks the schema over
the REST API through the PostgREST stand-in (on a real PostgreSQL database): it passes when the
schema is applied and current, whichever way it was applied (Vigia's runner, ``supabase db push``,
or the ``--print-sql`` script pasted into the SQL editor), and fails with one message saying how
to apply it otherwise. With the schema present, a worker and a beat run a monitoring cycle end to
end through the Supabase backend.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shared.domain import RunStatus
from shared.store.migrate import discover, migrate
from tests.support.databases import temporary_database
from tests.support.postgrest import PostgrestStandIn, running_postgrest
from tests.support.processes import (
    REPO_ROOT,
    ManagedProcess,
    RedisDb,
    flushed_redis_db,
    procfile_argv,
    start,
    venv_bin,
    wait_for,
)
from tests.support.redbeat import schedule_once

pytestmark = pytest.mark.integration

MONITOR = "vigia.monitoring.monitor_new_contracts"


def supabase_env(service_env: dict[str, str], server: PostgrestStandIn, **values: str) -> dict[str, str]:
    env = {k: v for k, v in service_env.items() if k != "DATABASE_URL"}
    env.update(SUPABASE_URL=server.url, SUPABASE_SERVICE_ROLE_KEY=server.service_key, LOG_LEVEL="INFO")
    env.update(values)
    return env


def release(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(procfile_argv("release", env), env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    import json

    lines = []
    for line in result.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") in ("ERROR", "CRITICAL"):
            lines.append(record["message"])
    return lines


@pytest.fixture
def fresh_supabase(postgres_admin_url: str) -> Iterator[tuple[str, PostgrestStandIn]]:
    with temporary_database(postgres_admin_url, prefix="vigia_supa") as url, running_postgrest(url) as server:
        yield url, server


def test_it_fails_the_release_with_how_to_apply_when_the_schema_is_absent(
        service_env: dict[str, str], fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    url, server = fresh_supabase
    result = release(supabase_env(service_env, server))
    assert result.returncode == 1, result.stdout + result.stderr
    [message] = error_lines(result)
    assert "has no Vigia schema" in message
    assert "supabase db push" in message and "vigia migrate --print-sql" in message
    # The check only reads: the database is as empty as before.
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)


def test_it_names_the_migrations_a_database_lacks(
        service_env: dict[str, str], fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    url, server = fresh_supabase
    migrate(url)
    last = discover()[-1]
    with psycopg.connect(url, autocommit=True) as conn:  # as if this image shipped one file more
        conn.execute("DELETE FROM vigia_schema_migrations WHERE version = %s", (last.version,))
    result = release(supabase_env(service_env, server))
    assert result.returncode == 1
    [message] = error_lines(result)
    assert f"lacks 1 migration(s): {last.path.name}" in message and "supabase db push" in message


def test_it_refuses_a_key_supabase_does_not_accept(
        service_env: dict[str, str], fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    url, server = fresh_supabase
    migrate(url)
    result = release(supabase_env(service_env, server, SUPABASE_SERVICE_ROLE_KEY="not-the-service-key"))
    assert result.returncode == 1
    [message] = error_lines(result)
    assert "refused SUPABASE_SERVICE_ROLE_KEY (HTTP 401)" in message


def test_it_accepts_a_schema_applied_by_supabase_db_push(
        service_env: dict[str, str], fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    url, server = fresh_supabase
    # What `supabase db push` does: its history table (the CLI's own statements, supabase/cli
    # internal/migration/history), then each file and its row.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS supabase_migrations")
        conn.execute("CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)")
        conn.execute("ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]")
        conn.execute("ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text")
        for migration in discover():
            with conn.transaction():
                conn.execute(migration.sql)
                conn.execute("INSERT INTO supabase_migrations.schema_migrations(version, name, statements) "
                             "VALUES (%s, %s, %s)", (migration.version, migration.name, [migration.sql]))
    result = release(supabase_env(service_env, server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database schema up to date (checked over the Supabase REST API)" in result.stdout


def test_it_prints_a_script_the_sql_editor_can_run_twice(
        service_env: dict[str, str], fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    url, server = fresh_supabase
    # No settings at all: printing needs none.
    printed = subprocess.run([venv_bin("vigia"), "migrate", "--print-sql"], env={"PATH": os.environ["PATH"]},
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(printed)  # type: ignore[arg-type]
        conn.execute(printed)  # type: ignore[arg-type]
    result = release(supabase_env(service_env, server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert migrate(url) == [], "Vigia's runner would apply again what the script applied"


@pytest.fixture
def simulator() -> Iterator[Any]:
    from shared.portal.simulator.dataset import generate_dataset
    from shared.portal.simulator.server import running_simulator

    dataset = generate_dataset(seed=3, scale=0.04)
    with running_simulator(copy.deepcopy(dataset)) as server:
        yield server, dataset


def test_it_passes_the_release_and_runs_a_monitoring_cycle_through_the_supabase_backend(
        service_env: dict[str, str], redis_url: str, postgres_admin_url: str, simulator: Any) -> None:
    from tests.integration.pipeline.conftest import EVERYTHING_HOURS

    portal, dataset = simulator
    process_redis = flushed_redis_db(redis_url, RedisDb.SUPABASE_RELEASE)
    with temporary_database(postgres_admin_url, prefix="vigia_supa", migrated=True) as url, \
            running_postgrest(url) as server:
        env = supabase_env(service_env, server, REDIS_URL=process_redis, TRANSPARENCY_API_URL=portal.base_url,
                           PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000",
                           PORTAL_MAX_RETRIES="2", WORKER_CONCURRENCY="2")
        assert "DATABASE_URL" not in env
        checked = release(env)
        assert checked.returncode == 0, checked.stdout + checked.stderr

        from shared.store.supabase import SupabaseStore

        store = SupabaseStore(server.url, server.service_key)
        processes: list[ManagedProcess] = []
        try:
            worker = start("worker", env)
            processes.append(worker)
            beat = start("beat", env, "--max-interval", "1")
            processes.append(beat)
            worker.wait_for_line("worker ready", timeout=60)
            beat.wait_for_line("Acquired lock", timeout=60)
            schedule_once(process_redis, "supabase-cycle", MONITOR, {"lookback_hours": EVERYTHING_HOURS})
            run = wait_for(lambda: [r for r in store.last_runs(task=MONITOR, limit=5)
                                    if r.status is not RunStatus.RUNNING], timeout=120, interval=0.5,
                           what="the monitoring run to close")[0]
        finally:
            for process in processes:
                process.stop()
            store.close()
        assert run.status is RunStatus.SUCCEEDED, run
        assert run.counters["contracts_seen"] == len(dataset.contracts)
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM contracts").fetchone()
        assert stored == (len(dataset.contracts),)
        # Everything went through PostgREST: the stand-in served the workers' writes.
        assert any(r.method == "POST" and r.path.startswith("/rest/v1/") for r in server.requests)


def test_it_lets_doctor_check_the_schema_over_rest(fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    from services.commands.doctor.checks import check_migrations, run_checks
    from shared.config import Settings

    url, server = fresh_supabase
    settings = Settings(_env_file=None, supabase_url=server.url,  # type: ignore[arg-type]
                        supabase_service_role_key=server.service_key)
    [absent] = run_checks(settings, checks=[check_migrations])
    assert absent.verdict == "fail" and "no Vigia schema" in absent.detail and "supabase db push" in absent.fix
    migrate(url)
    [current] = run_checks(settings, checks=[check_migrations])
    assert current.verdict == "pass", current
    assert f"all {len(discover())} migrations applied (checked over the REST API)" in current.detail


def test_it_lets_only_the_service_role_read_the_schema_versions(fresh_supabase: tuple[str, PostgrestStandIn]) -> None:
    import httpx

    url, server = fresh_supabase
    migrate(url)
    endpoint = f"{server.url}/rest/v1/rpc/vigia_schema_versions"

    def call(key: str) -> httpx.Response:
        return httpx.post(endpoint, json={}, headers={"apikey": key, "Authorization": f"Bearer {key}"}, timeout=10)

    assert call(server.service_key).json() == [m.version for m in discover()]
    refused = call(server.anon_key)
    assert refused.status_code in (401, 403) and refused.json()["code"] == "42501"  # insufficient_privilege
