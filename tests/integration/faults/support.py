"""What the fault tests share: servers a test owns and restarts, beats' firings, and polls.

Each fault test owns what it breaks: a Redis server (:func:`owned_redis`, append-only file on, so
a restart keeps every key as a managed Redis with persistence does) or a PostgreSQL server
(:func:`owned_postgres`), each restarted on the same port so the processes under test reconnect
to the address they were given; or it works in a Redis database of its own on the session's Redis
(:class:`tests.support.processes.RedisDb`, flushed first). The processes are the Procfile's,
started by :func:`tests.support.processes.start`. The outcome is read where a deployment keeps it:
run rows in PostgreSQL, RedBeat entries and queues in Redis, the processes' JSON logs and the
simulator's request log. Figures a test measures (seconds to reconnect, retries seen) are logged
on ``vigia.tests.faults``; ``pytest --log-cli-level=INFO`` prints them.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from shared.domain import RunStatus
from tests.support.processes import ManagedProcess, start, wait_for

log = logging.getLogger("vigia.tests.faults")

MONITOR = "vigia.monitoring.monitor_new_contracts"
HEALTH = "vigia.maintenance.health_check"
MONITOR_TASKS = (MONITOR, "vigia.monitoring.monitor_priority_orgs")
PROBE_QUEUE = "faults-probe"  # no worker consumes it: its length counts a beat's firings
# One pool process, so a scripted fault reaches the requests in a known order, and a soft shutdown
# that ends inside ManagedProcess.stop's grace, so a stopped worker exits rather than being killed.
ONE_POOL_PROCESS = {"WORKER_CONCURRENCY": "1", "WORKER_SOFT_SHUTDOWN_TIMEOUT": "3"}


@dataclass
class Web:
    process: ManagedProcess
    base_url: str

    def ready_status(self) -> int:
        return httpx.get(f"{self.base_url}/health/ready", timeout=10).status_code


def start_web(env: dict[str, str], **values: str) -> Web:
    """gunicorn exactly as the Procfile's ``web`` line, with one uvicorn worker."""
    env = dict(env, PORT=str(free_port()), WEB_CONCURRENCY="1", **values)
    process = start("web", env)
    base_url = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_for(lambda: httpx.get(f"{base_url}/health", timeout=2).status_code == 200, timeout=60,
                 what="gunicorn to answer /health")
    except AssertionError:
        process.stop()
        raise AssertionError(f"gunicorn did not start:\n{process.output[-3000:]}") from None
    return Web(process, base_url)


def terminate_main(process: ManagedProcess) -> float:
    """SIGTERM to the main process only, as ``docker stop`` and PaaS redeploys send it; returns
    the time it was sent (``time.monotonic``)."""
    sent = time.monotonic()
    process.signal(signal.SIGTERM)
    return sent


def closed_run(store: Any, task: str = MONITOR, **parameters: Any) -> Any | None:
    """The latest run of ``task`` with these parameters (e.g. ``lookback_hours``) once it closed.

    Matching parameters keeps a run the test started apart from one beat's own schedule fires."""
    runs = [r for r in store.last_runs(task=task, limit=10)
            if all(r.parameters.get(name) == value for name, value in parameters.items())]
    return runs[0] if runs and runs[0].status is not RunStatus.RUNNING else None


def records(process: ManagedProcess, message: str) -> list[dict[str, Any]]:
    """The process's JSON log records whose message is ``message``."""
    return [r for r in process.json_lines() if r.get("message") == message]


def figure(name: str, value: Any, **context: Any) -> None:
    """Log one measured figure, readable in pytest's live log (``--log-cli-level=INFO``)."""
    detail = ", ".join(f"{k}={v}" for k, v in context.items())
    log.info("FIGURE %s: %s%s", name, value, f" ({detail})" if detail else "")


@contextmanager
def owned_redis() -> Iterator[EmbeddedRedis]:
    """A Redis server of one test on a fixed port, with an append-only file, in a temporary folder.

    ``stop()`` is a graceful stop (SIGTERM: Redis writes its append-only file and exits) and
    ``start()`` brings it back on the same port with the same data.
    """
    with tempfile.TemporaryDirectory(prefix="vigia-fault-redis-") as folder:
        server = EmbeddedRedis(port=free_port(), workdir=Path(folder), appendonly=True).start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def owned_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of one test on a fixed port, in a temporary folder.

    ``stop()`` is PostgreSQL's fast shutdown (every session cut, as in a failover or a restart)
    and ``start()`` brings it back on the same port.
    """
    folder = tempfile.mkdtemp(prefix="vigia-fault-pg-")
    server = EmbeddedPostgres(datadir=Path(folder), port=free_port(), database="vigia_faults").start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


_DATASET: dict[str, Any] = {}


def dataset() -> Any:
    """The pipeline tests' data set (seed 3, scale 0.04: 9 órgãos, ~2 300 contracts), built once."""
    if "value" not in _DATASET:
        from shared.portal.simulator.dataset import generate_dataset
        from tests.integration.pipeline.conftest import SCALE, SEED

        _DATASET["value"] = generate_dataset(seed=SEED, scale=SCALE)
    return _DATASET["value"]


def contract_requests(simulator: Any) -> int:
    """How many ``/contratos`` pages the simulator has answered."""
    return int(simulator.requests.stats()["by_path"].get("/contratos", 0))


def lock_waiters(client: redis.Redis, known: set[int]) -> list[dict[str, Any]]:
    """Connections opened since ``known`` whose last command was a SET: a beat that has written
    its schedule and now polls for the lock (its only SET is the lock's ``SET NX``)."""
    return [c for c in client.client_list() if int(c["id"]) not in known and c.get("cmd") == "set"]


class Firings:
    """The messages beats send to :data:`PROBE_QUEUE`, which no worker consumes."""

    def __init__(self, client: redis.Redis, queue: str = PROBE_QUEUE) -> None:
        self.client, self.queue = client, queue

    def count(self) -> int:
        return int(self.client.llen(self.queue))

    def wait(self, count: int, *, timeout: float, what: str) -> None:
        wait_for(lambda: self.count() >= count, timeout=timeout, interval=0.05, what=what)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.client.lrange(self.queue, 0, -1)]


def sent_times(process: ManagedProcess, entry: str) -> list[float]:
    """When this beat sent ``entry``, from the timestamps of its own JSON log lines."""
    return [datetime.fromisoformat(line["timestamp"]).timestamp() for line in process.json_lines()
            if str(line.get("message", "")).startswith(f"Scheduler: Sending due task {entry} ")]


def sent_by(process: ManagedProcess, entry: str) -> int:
    """How many times this beat logged sending ``entry``."""
    return len(sent_times(process, entry))


def slots_of(times: list[float], start: float, interval: float) -> list[int]:
    """The slot each firing falls in (0 = the one at ``start``); a duplicate repeats a number."""
    return [int((t - start + 0.01) // interval) for t in sorted(times)]


def closed_runs(store: Any, task: str, limit: int = 20) -> list[Any]:
    return [r for r in store.last_runs(task=task, limit=limit) if r.status is not RunStatus.RUNNING]


def monitor_rows(database_url: str) -> list[dict[str, Any]]:
    """Every monitoring run row, read straight from ``monitor_runs``."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return list(conn.execute(
            "SELECT id, task, status, parameters, counters, result, error FROM monitor_runs WHERE task = ANY(%s) "
            "ORDER BY id",
            (list(MONITOR_TASKS),)))


def successful_empty_runs(database_url: str) -> list[dict[str, Any]]:
    """Monitoring runs recorded as succeeded that read no contract: there must never be one."""
    return [row for row in monitor_rows(database_url)
            if row["status"] == "succeeded" and int(row["counters"].get("contracts_seen", 0)) == 0]
