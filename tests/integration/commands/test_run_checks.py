"""``vigia run`` refuses what cannot work before sending anything, in one line and a non-zero exit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis

from services.celery_app import QUEUES
from shared.store import get_store
from tests.integration.pipeline.conftest import pipeline_settings
from tests.support.processes import REPO_ROOT, venv_bin

pytestmark = pytest.mark.integration


def _vigia(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([venv_bin("vigia"), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)


def _isolated(service_env: dict[str, str], tmp_path: Path, **values: str) -> dict[str, str]:
    """No .env, no `vigia dev` stack of this checkout: only what the test gives."""
    env = {k: v for k, v in service_env.items() if k not in {"TRANSPARENCY_API_KEY", "TRANSPARENCY_API_URL"}}
    env.update(VIGIA_ENV_FILE="", VIGIA_DATA_DIR=str(tmp_path / "no-stack"), **values)
    return env


def _queued(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(int(client.llen(queue)) for queue in QUEUES)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["monitor_new_contracts", "lookback=3"], "monitor_new_contracts has no argument 'lookback'"),
        (["monitor_new_contracts", "lookback_hours=soon"], "lookback_hours='soon' is invalid"),
        (["investigate"], "investigate needs investigation_id"),
        (["health_check", "verbose=true"], "health_check has no argument 'verbose': it takes no arguments"),
    ],
)
def test_it_checks_task_arguments_before_queueing(
    service_env: dict[str, str], redis_url: str, tmp_path: Path, args: list[str], expected: str
) -> None:
    before = _queued(redis_url)
    result = _vigia(_isolated(service_env, tmp_path), "run", *args, "--no-wait")
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert _queued(redis_url) == before


def test_it_answers_an_unreachable_redis_in_one_line(service_env: dict[str, str], tmp_path: Path) -> None:
    from services.dev.embedded import free_port

    env = _isolated(service_env, tmp_path, REDIS_URL=f"redis://:not-shown-pw@127.0.0.1:{free_port()}/0")
    result = _vigia(env, "run", "health_check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not answer" in lines[0] and "REDIS_URL" in lines[0]
    assert "not-shown-pw" not in result.stderr


def test_it_never_sends_the_simulator_key_to_the_real_portal(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, tmp_path: Path
) -> None:
    env = _isolated(service_env, tmp_path, DATABASE_URL=pipeline_database, ENVIRONMENT="development")
    result = _vigia(env, "run", "refresh_sanctions", "--inline")
    assert result.returncode == 2
    assert "TRANSPARENCY_API_KEY" in result.stderr and "api.portaldatransparencia.gov.br" in result.stderr
    assert "Traceback" not in result.stderr
    store = get_store(pipeline_settings(pipeline_database, redis_url, "http://127.0.0.1:1"))
    try:  # nothing was started, so nothing is left `running`
        assert not [r for r in store.last_runs(task="vigia.maintenance.refresh_sanctions", limit=5)
                    if str(r.status) == "running"]
    finally:
        store.close()
