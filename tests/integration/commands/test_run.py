"""``vigia run``: a task inline in the CLI process, or queued to a real worker, with progress."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.integration.pipeline.conftest import EVERYTHING_HOURS
from tests.support.processes import REPO_ROOT, pipeline_env, start, venv_bin

pytestmark = pytest.mark.integration


def _vigia(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([venv_bin("vigia"), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and ("task_id" in value or "run_id" in value) and "level" not in value:
            lines.append(value)
    return lines


def test_it_runs_a_monitoring_cycle_inline_with_a_progress_bar(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, simulator: Any, sim_dataset: Any
) -> None:
    env = pipeline_env(service_env, redis_url=redis_url, database_url=pipeline_database,
                       portal_url=simulator.base_url, WATCHED_ORGAOS="30204,52203")
    result = _vigia(env, "run", "monitor_new_contracts", f"lookback_hours={EVERYTHING_HOURS}", "--inline")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "monitor_new_contracts [" in result.stderr and "2/2 parts" in result.stderr
    task, run = _json_lines(result.stdout)
    assert task["result"]["status"] == "dispatched" and task["result"]["orgaos"] == 2
    watched = sum(1 for r in sim_dataset.contracts
                  if r["unidadeGestora"]["orgaoVinculado"]["codigoSIAFI"] in {"30204", "52203"})
    assert run["status"] == "succeeded" and run["counters"]["contracts_seen"] == watched
    assert run["counters"]["orgaos_done"] == 2


def test_it_queues_a_task_for_the_worker_and_waits_for_it(
    service_env: dict[str, str], redis_url: str, pipeline_database: str, simulator: Any
) -> None:
    env = pipeline_env(service_env, redis_url=redis_url, database_url=pipeline_database,
                       portal_url=simulator.base_url)
    with start("worker", env) as worker:
        worker.wait_for_line("worker ready", timeout=60)
        result = _vigia(env, "run", "vigia.maintenance.refresh_sanctions")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "queued vigia.maintenance.refresh_sanctions" in result.stderr
    task, run = _json_lines(result.stdout)
    assert task["result"]["status"] == "done"
    assert run["status"] == "succeeded" and run["counters"]["sanctions_seen"] > 0


def test_it_names_an_unknown_task_and_a_malformed_argument(service_env: dict[str, str]) -> None:
    unknown = _vigia(service_env, "run", "monitor_everything", timeout=60)
    assert unknown.returncode != 0 and "no task named 'monitor_everything'" in unknown.stderr
    malformed = _vigia(service_env, "run", "health_check", "verbose", timeout=60)
    assert malformed.returncode != 0 and "'verbose' is not key=value" in malformed.stderr
