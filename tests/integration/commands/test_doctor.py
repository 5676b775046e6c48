"""``vigia doctor`` against real Redis and PostgreSQL, the Portal simulator and the Groq stand-in.

Each test gets a Redis and a migrated database of this module's own, so a worker heartbeat or a
monitoring run left by another test can never make a check pass. The heartbeat and the lock are
written here as the worker and the beat write them; the boot test shows the real ones do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from services.commands.doctor.checks import BEAT_LOCK_KEY, HEARTBEAT_PATTERN, run_checks
from shared import task_names
from shared.checks import Check
from shared.config import Settings
from shared.domain import RunStatus, Trigger
from shared.portal.simulator.faults import FaultConfig
from shared.portal.simulator.server import running_simulator
from tests.support import groq
from tests.support.databases import temporary_database
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.integration

PORTAL_KEY = "portal-test-key-0123456789"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from services.dev.embedded import EmbeddedRedis

    server = EmbeddedRedis(workdir=tmp_path_factory.mktemp("doctor-redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def clean_redis(own_redis: str) -> str:
    redis.Redis.from_url(own_redis).flushall()
    return own_redis


@pytest.fixture
def migrated_db(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_doctor", migrated=True) as url:
        yield url


@pytest.fixture
def portal() -> Iterator[Any]:
    with running_simulator(faults=FaultConfig(api_keys=[PORTAL_KEY])) as server:
        yield server


@pytest.fixture
def groq_api() -> Iterator[groq.GroqStandIn]:
    with groq.groq_standin() as state:
        yield state


def production(redis_url: str, database_url: str, portal_url: str, groq_url: str, **extra: Any) -> dict[str, str]:
    env = {
        "ENVIRONMENT": "production", "REDIS_URL": redis_url, "DATABASE_URL": database_url,
        "TRANSPARENCY_API_KEY": PORTAL_KEY, "TRANSPARENCY_API_URL": portal_url,
        "GROQ_API_KEY": groq.KEY, "GROQ_API_URL": groq_url, "GROQ_MODEL": groq.MODEL,
        "API_KEYS": "write-key-0123456789", "FLOWER_PASSWORD": "flower-pass-0123456789",  # pragma: allowlist secret
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def settings_from(env: dict[str, str]) -> Settings:
    return Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]


def by_key(results: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in results}


def alive_worker_and_beat(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(HEARTBEAT_PATTERN.replace("*", "celery@vps-1"), "alive", ex=60)
    client.set(BEAT_LOCK_KEY, "beat-token", ex=60)


def first_run_and_investigation(database_url: str) -> None:
    from shared.store import get_store

    store = get_store(Settings(_env_file=None, database_url=database_url))  # type: ignore[arg-type]
    try:
        run = store.open_run(task_names.MONITOR_NEW_CONTRACTS, {"lookback_hours": 6})
        store.close_run(run.id, status=RunStatus.SUCCEEDED, counters={"pages": 1})
        store.create_or_get_investigation(contract_id=101, orgao_codigo="26000", trigger=Trigger.SCHEDULED,
                                          detector_version="test")
    finally:
        store.close()


def run_cli(env: dict[str, str], *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "VIGIA_ENV_FILE": "", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, "-m", "services.cli", "doctor", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=90, cwd=cwd, check=False)


def test_it_passes_every_check_and_exits_0_on_a_healthy_deployment(
    clean_redis: str, migrated_db: str, portal: Any, groq_api: groq.GroqStandIn
) -> None:
    from tests.support.sentry_ingest import sentry_ingest
    from tests.support.webhooks import heartbeat_receiver, webhook_receiver

    alive_worker_and_beat(clean_redis)
    first_run_and_investigation(migrated_db)
    with sentry_ingest() as ingest, webhook_receiver("slack") as hook, heartbeat_receiver() as monitor:
        result = run_cli(production(clean_redis, migrated_db, portal.base_url, groq_api.url, SENTRY_DSN=ingest.dsn,
                                    ALERT_WEBHOOK_URL=hook.url, ALERT_WEBHOOK_FORMAT="slack",
                                    HEARTBEAT_URL=monitor.url))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines[:-1]
    assert len(checks) == 13
    assert all(line.startswith("✓ ") for line in checks), result.stdout
    assert lines[-1] == "13 of 13 checks passed, 0 failed, 0 not applicable"
    # Secrets the checks used never reach the output.
    for secret in (PORTAL_KEY, groq.KEY, "write-key-0123456789", "flower-pass-0123456789"):
        assert secret not in result.stdout


def test_it_fails_with_the_reason_and_the_fix_when_nothing_runs_yet(clean_redis: str, migrated_db: str) -> None:
    env = {"ENVIRONMENT": "development", "REDIS_URL": clean_redis, "DATABASE_URL": migrated_db}
    result = run_cli(env)
    assert result.returncode == 1
    failed = {line.split(":", 1)[0][2:]: line for line in result.stdout.splitlines() if line.startswith("✗ ")}
    assert set(failed) == {"a worker alive", "one beat holds the lock", "first monitoring run done",
                           "investigations present"}
    assert all(" — fix: " in line for line in failed.values())
    skipped = [line for line in result.stdout.splitlines() if line.startswith("– ")]
    assert any("Portal key accepted: no TRANSPARENCY_API_KEY" in line and "simulator" in line for line in skipped)
    assert any("Groq key accepted: no GROQ_API_KEY" in line for line in skipped)


def test_it_reports_redis_down_for_every_check_that_needs_it(migrated_db: str) -> None:
    from services.dev.embedded import free_port

    settings = settings_from({"REDIS_URL": f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0",
                              "DATABASE_URL": migrated_db})
    results = by_key(run_checks(settings, timeout=2))
    assert results["redis"].failed and "did not answer PING" in results["redis"].detail
    assert "hunter2-secret" not in results["redis"].detail
    assert results["worker"].detail == results["beat"].detail == "Redis is not reachable (see above)"
    assert not results["database"].failed


def test_it_fails_a_redis_that_evicts_keys(tmp_path: Path, migrated_db: str) -> None:
    from services.dev.embedded import EmbeddedRedis

    server = EmbeddedRedis(workdir=tmp_path).start()
    try:
        redis.Redis.from_url(server.url).config_set("maxmemory-policy", "allkeys-lru")
        check = by_key(run_checks(settings_from({"REDIS_URL": server.url, "DATABASE_URL": migrated_db})))["redis"]
    finally:
        server.stop()
    assert check.failed and "maxmemory-policy is allkeys-lru" in check.detail
    assert "noeviction" in check.fix


def test_it_names_the_migrations_not_applied(clean_redis: str, fresh_database_url: str) -> None:
    results = by_key(run_checks(settings_from({"REDIS_URL": clean_redis, "DATABASE_URL": fresh_database_url})))
    assert not results["database"].failed
    migrations = results["migrations"]
    assert migrations.failed and "migrations not applied" in migrations.detail
    from shared.store.migrate import discover

    assert all(m.version in migrations.detail for m in discover())
    assert "vigia migrate" in migrations.fix


def test_it_reports_an_unreachable_database_and_the_checks_that_depend_on_it(clean_redis: str) -> None:
    from services.dev.embedded import free_port

    url = f"postgresql://vigia:pg-secret-pass@127.0.0.1:{free_port()}/vigia"  # pragma: allowlist secret
    results = by_key(run_checks(settings_from({"REDIS_URL": clean_redis, "DATABASE_URL": url}), timeout=2))
    assert results["database"].failed and "pg-secret-pass" not in results["database"].detail
    for key in ("migrations", "first_run", "investigations"):
        assert results[key].detail == "the database is not reachable (see above)"


def test_it_reports_a_portal_key_the_portal_rejects(clean_redis: str, migrated_db: str, portal: Any,
                                                    groq_api: groq.GroqStandIn) -> None:
    env = production(clean_redis, migrated_db, portal.base_url, groq_api.url, TRANSPARENCY_API_KEY="revoked-key-000")
    check = by_key(run_checks(settings_from(env)))["portal"]
    assert check.failed and "rejected the key (HTTP 403)" in check.detail
    assert "TRANSPARENCY_API_KEY" in check.fix


def test_it_requires_a_portal_key_in_production(clean_redis: str, migrated_db: str) -> None:
    env = {"ENVIRONMENT": "production", "REDIS_URL": clean_redis, "DATABASE_URL": migrated_db}
    results = by_key(run_checks(settings_from(env), processes=["worker"]))
    assert results["portal"].failed and "production never uses the simulator" in results["portal"].detail
    assert results["environment"].failed and "worker: TRANSPARENCY_API_KEY is missing" in results["environment"].detail


def test_it_checks_only_the_processes_asked_for(clean_redis: str, migrated_db: str, portal: Any,
                                                groq_api: groq.GroqStandIn) -> None:
    env = production(clean_redis, migrated_db, portal.base_url, groq_api.url)
    del env["FLOWER_PASSWORD"], env["API_KEYS"]
    settings = settings_from(env)
    assert by_key(run_checks(settings, processes=["worker", "beat"]))["environment"].verdict == "pass"
    everything = by_key(run_checks(settings))["environment"]
    assert everything.failed
    assert "flower: FLOWER_PASSWORD is missing" in everything.detail and "web: API_KEYS is missing" in everything.detail


def test_it_reports_a_groq_key_rejected_and_a_model_not_offered(clean_redis: str, migrated_db: str, portal: Any,
                                                                groq_api: groq.GroqStandIn) -> None:
    env = production(clean_redis, migrated_db, portal.base_url, groq_api.url, GROQ_API_KEY="gsk_wrongKey000000000")
    rejected = by_key(run_checks(settings_from(env)))["groq"]
    assert rejected.failed and "rejected the key (HTTP 401)" in rejected.detail
    env = production(clean_redis, migrated_db, portal.base_url, groq_api.url, GROQ_MODEL="llama-9-imaginary")
    missing = by_key(run_checks(settings_from(env)))["groq"]
    assert missing.failed and "does not serve GROQ_MODEL=llama-9-imaginary" in missing.detail
    assert groq.MODEL in missing.fix


def test_it_names_a_retired_groq_model_and_suggests_the_current_default(
        clean_redis: str, migrated_db: str, portal: Any, groq_api: groq.GroqStandIn) -> None:
    env = production(clean_redis, migrated_db, portal.base_url, groq_api.url, GROQ_MODEL="llama-3.3-70b-versatile")
    retired = by_key(run_checks(settings_from(env)))["groq"]
    assert retired.failed and "GROQ_MODEL=llama-3.3-70b-versatile" in retired.detail
    assert retired.fix.startswith("set GROQ_MODEL=openai/gpt-oss-120b (the default)")


def test_it_shows_why_the_last_monitoring_run_failed(clean_redis: str, migrated_db: str) -> None:
    from shared.store import get_store

    store = get_store(Settings(_env_file=None, database_url=migrated_db))  # type: ignore[arg-type]
    try:
        run = store.open_run(task_names.MONITOR_PRIORITY_ORGS, {})
        store.close_run(run.id, status=RunStatus.FAILED, error="Portal unavailable after 5 retries")
    finally:
        store.close()
    check = by_key(run_checks(settings_from({"REDIS_URL": clean_redis, "DATABASE_URL": migrated_db})))["first_run"]
    assert check.failed
    assert "is failed: Portal unavailable after 5 retries" in check.detail


def test_it_prints_one_json_document_with_json(clean_redis: str, migrated_db: str) -> None:
    import json

    alive_worker_and_beat(clean_redis)
    result = run_cli({"ENVIRONMENT": "development", "REDIS_URL": clean_redis, "DATABASE_URL": migrated_db}, "--json")
    document = json.loads(result.stdout)
    assert document["ok"] is False
    statuses = {c["key"]: c["status"] for c in document["checks"]}
    assert statuses["worker"] == statuses["beat"] == statuses["redis"] == statuses["migrations"] == "pass"
    assert statuses["portal"] == statuses["groq"] == "skip"


def test_it_names_an_invalid_setting_instead_of_crashing() -> None:
    result = run_cli({"WORKER_CONCURRENCY": "lots"})
    assert result.returncode == 1
    assert result.stdout.startswith("✗ environment complete: WORKER_CONCURRENCY is invalid")
    assert "Traceback" not in result.stderr


def test_it_reads_the_keys_the_worker_and_the_beat_write() -> None:
    from services.worker.signals import HEARTBEAT_PREFIX, HEARTBEAT_TTL_SECONDS

    assert HEARTBEAT_PATTERN == HEARTBEAT_PREFIX + "*"
    from services.commands.doctor.checks import HEARTBEAT_TTL_SECONDS as DOCTOR_TTL

    assert DOCTOR_TTL == HEARTBEAT_TTL_SECONDS
    from services.beat import REDBEAT_LOCK_KEY, build_app

    assert BEAT_LOCK_KEY == REDBEAT_LOCK_KEY
    assert build_app().conf.redbeat_lock_key == BEAT_LOCK_KEY


def test_it_checks_the_api_alone_without_a_broker_when_celery_workers_are_off(
    migrated_db: str, portal: Any, groq_api: groq.GroqStandIn
) -> None:
    env = production("", migrated_db, portal.base_url, groq_api.url, ENABLE_CELERY_WORKERS="false")
    del env["REDIS_URL"]
    first_run_and_investigation(migrated_db)
    results = by_key(run_checks(settings_from(env)))
    for key in ("redis", "worker", "beat"):
        assert results[key].verdict == "skip"
        assert "ENABLE_CELERY_WORKERS=false" in results[key].detail
    assert results["environment"].verdict == "pass", results["environment"].detail
    assert "worker" not in results["environment"].detail
    assert results["database"].verdict == "pass"
    assert not [check for check in results.values() if check.failed]
