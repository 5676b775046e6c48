"""Two worker processes share one Portal budget through Redis: no 429s, and the budget is used.

The simulator enforces N = 600 requests/min per key as a sliding window of 100 requests per 10 s
(the strictest reading, and short enough that a 16 s run tests it many times over). Two real OS
processes sweep every órgão through ``PortalClient.from_settings`` with the shared limiter. The
control case gives each process its own limiter and must be refused, which shows the simulator
would have caught an unshared budget.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from shared.portal.simulator.data import SimDataset
from shared.portal.simulator.faults import FaultConfig
from shared.portal.simulator.server import SimulatorServer, running_simulator
from tests.support.processes import ManagedProcess, wait_for

logger = logging.getLogger("vigia.tests.portal")  # ``pytest --log-cli-level=INFO`` shows the figures

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_MIN = 600
WINDOW_SECONDS = 10.0
PER_WINDOW = int(PER_MIN * WINDOW_SECONDS / 60)


@pytest.fixture
def limited_simulator(sim_dataset: SimDataset, redis_url: str) -> Iterator[SimulatorServer]:
    connection = redis.Redis.from_url(redis_url)
    for key in connection.scan_iter("vigia:portal:rate:*"):
        connection.delete(key)
    connection.close()
    faults = FaultConfig(rate_limit=PER_WINDOW, rate_window_seconds=WINDOW_SECONDS)
    with running_simulator(sim_dataset, faults=faults) as server:
        yield server


def _workers(server: SimulatorServer, env: dict[str, str], orgaos: list[str], seconds: float,
             *extra: str) -> tuple[list[ManagedProcess], float, float]:
    env = {**env, "TRANSPARENCY_API_URL": server.base_url, "PORTAL_RATE_DAY_PER_MIN": str(PER_MIN),
           "PORTAL_RATE_NIGHT_PER_MIN": str(PER_MIN), "PORTAL_MAX_RETRIES": "2"}
    start_at = time.time() + 4.0  # both processes import and connect first, then start together
    until = start_at + seconds
    argv = [sys.executable, "-m", "tests.integration.portal.sweeper", "--orgaos", ",".join(orgaos),
            "--start-at", str(start_at), "--until", str(until), *extra]
    return [ManagedProcess(f"sweeper-{i}", argv, env) for i in range(2)], start_at, until


def _summary(process: ManagedProcess) -> dict[str, Any]:
    for line in reversed(process.lines):
        if line.startswith('{"pid"'):
            return json.loads(line)  # type: ignore[no-any-return]
    raise AssertionError(f"{process.name} printed no summary:\n{process.output[-2000:]}")


def test_it_keeps_two_processes_within_one_budget_and_uses_at_least_90_percent_of_it(
    limited_simulator: SimulatorServer, sim_dataset: SimDataset, redis_url: str
) -> None:
    orgaos = [o["codigo"] for o in sim_dataset.orgaos]
    env = {"ENVIRONMENT": "test", "REDIS_URL": redis_url, "VIGIA_ENV_FILE": "", "PYTHONUNBUFFERED": "1",
           "PATH": "/usr/bin:/bin"}
    processes, start_at, until = _workers(limited_simulator, env, orgaos, seconds=16.0)
    try:
        for process in processes:
            process.proc.wait(until - time.time() + 30)
        summaries = [_summary(p) for p in processes]
    finally:
        for process in processes:
            process.stop()

    log = limited_simulator.requests.since(0)
    times = sorted(r["monotonic"] for r in log)
    statuses = [r["status"] for r in log]
    achieved = (len(times) - 1) / (times[-1] - times[0]) * 60
    logger.info("shared budget: %d requests, %.0f/min of %d/min (%.1f%%), 429s: %d, per process: %s", len(times),
                achieved, PER_MIN, achieved / PER_MIN * 100, statuses.count(429), [s["requests"] for s in summaries])
    assert statuses.count(429) == 0
    assert set(statuses) == {200}
    assert achieved >= 0.9 * PER_MIN
    busiest_window = max(sum(1 for t in times[i:] if t - times[i] < WINDOW_SECONDS) for i in range(len(times)))
    assert busiest_window <= PER_WINDOW
    assert all(s["requests"] >= 0.25 * len(times) for s in summaries)  # both processes really shared it
    assert all(s["errors"] == 0 for s in summaries)


def test_it_would_be_refused_by_the_same_simulator_without_the_shared_budget(
    limited_simulator: SimulatorServer, sim_dataset: SimDataset, redis_url: str
) -> None:
    orgaos = [o["codigo"] for o in sim_dataset.orgaos]
    env = {"ENVIRONMENT": "test", "REDIS_URL": redis_url, "VIGIA_ENV_FILE": "", "PYTHONUNBUFFERED": "1",
           "PATH": "/usr/bin:/bin"}
    processes, _, _ = _workers(limited_simulator, env, orgaos, 20.0, "--private-limiter")
    try:
        wait_for(lambda: limited_simulator.requests.stats()["rate_limited"] > 0, timeout=30,
                 what="the simulator to refuse two unshared budgets")
    finally:
        for process in processes:
            process.stop()
