"""Helpers of the fault scenarios 4–6: real Procfile processes, RedBeat probe entries, run rows.

Every scenario works in a Redis database of its own (flushed first), starts the Procfile's
``worker`` and ``beat`` commands as real processes (optionally in a given working directory and
``HOME``, for the disk-less restart), and reads the outcome where a deployment keeps it: run
rows in PostgreSQL, RedBeat entries and queues in Redis, and the simulator's request log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from services.dev.procfile import expand, read_procfile
from shared.config import Settings
from shared.domain import RunStatus
from tests.support.processes import ManagedProcess, venv_bin, wait_for

# Databases of their own: the pipeline tests flush 9 and 10, other suites use 0.
FAULTS_B_REDIS_DB = 13
PROBE_QUEUE = "faults-probe"  # no worker consumes it: its length counts a beat's firings
MONITOR = "vigia.monitoring.monitor_new_contracts"
HEALTH = "vigia.maintenance.health_check"
MONITOR_TASKS = (MONITOR, "vigia.monitoring.monitor_priority_orgs")
SEED, SCALE = 3, 0.04  # 9 órgãos, ~2 300 contracts: one cycle is ~160 Portal requests
EVERYTHING_HOURS = 24 * 365 * 8  # a lookback reaching every contract of the data set


def redis_db(url: str, number: int = FAULTS_B_REDIS_DB) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


def flushed_redis(url: str, number: int = FAULTS_B_REDIS_DB) -> str:
    target = redis_db(url, number)
    client = redis.Redis.from_url(target)
    try:
        client.flushdb()
    finally:
        client.close()
    return target


def process_env(service_env: dict[str, str], *, redis_url: str, database_url: str, portal_url: str = "",
                **values: str) -> dict[str, str]:
    """The environment of a worker or beat of these scenarios, on a flushed Redis database."""
    env = dict(service_env)
    # One pool process: a scripted fault reaches the requests in a known order. A short soft
    # shutdown: a stopped worker exits in seconds, within ManagedProcess.stop's grace, not killed.
    env.update(REDIS_URL=flushed_redis(redis_url), DATABASE_URL=database_url, LOG_LEVEL="INFO",
               PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000", WORKER_CONCURRENCY="1",
               WORKER_SOFT_SHUTDOWN_TIMEOUT="3")
    if portal_url:
        env["TRANSPARENCY_API_URL"] = portal_url
    env.update(values)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(_env_file=None, environment="test", database_url=env["DATABASE_URL"], redis_url=env["REDIS_URL"],
                    transparency_api_url=env.get("TRANSPARENCY_API_URL") or "http://127.0.0.1:9/api-de-dados",
                    log_format="json")


def start(name: str, env: dict[str, str], *extra: str, cwd: Path | None = None) -> ManagedProcess:
    """The Procfile's command for ``name`` (``worker``, ``beat``; ``beat-new`` names a second beat)."""
    argv = expand(read_procfile()[name.split("-")[0]], env) + list(extra)
    argv[0] = venv_bin(argv[0])
    return ManagedProcess(name, argv, env) if cwd is None else ManagedProcess(name, argv, env, cwd=cwd)


@contextmanager
def celery_client(env: dict[str, str]) -> Iterator[Any]:
    """A Celery app as the API or ``vigia run`` builds one, to send tasks and read results."""
    from services.celery_app import create_app

    app = create_app(settings_for(env), process="cli")
    try:
        yield app
    finally:
        app.close()


def save_entry(redis_url: str, name: str, task: str, schedule: Any, *, kwargs: dict[str, Any] | None = None,
               queue: str | None = None, last_run_at: datetime | None = None) -> None:
    """A dynamic RedBeat entry written into Redis as an operator would add one; the beat fires it.

    ``last_run_at`` as the beat itself records it when it creates a static entry (now), so the
    entry waits for its next slot instead of firing at once as a never-run entry does.
    """
    from celery import Celery
    from redbeat import RedBeatSchedulerEntry

    from services.beat import REDBEAT_KEY_PREFIX

    app = Celery("faults-probe")
    app.conf.update(redbeat_redis_url=redis_url, redbeat_key_prefix=REDBEAT_KEY_PREFIX,
                    redbeat_redis_options={}, timezone="UTC")
    options = {"queue": queue} if queue else {}
    entry = RedBeatSchedulerEntry(name, task, schedule, kwargs=kwargs or {}, options=options, app=app)
    if last_run_at is not None:
        entry.last_run_at = last_run_at
    entry.save()


def rrule_secondly(redis_url: str, dtstart: datetime, *, interval: int, count: int) -> Any:
    from celery import Celery
    from redbeat.schedules import rrule

    app = Celery("faults-probe")
    app.conf.update(timezone="UTC")
    return rrule("SECONDLY", dtstart=dtstart, interval=interval, count=count, app=app)


def entry_meta(client: redis.Redis, name: str) -> dict[str, Any]:
    """RedBeat's record of an entry: ``last_run_at`` (aware datetime) and ``total_run_count``."""
    from redbeat.decoder import RedBeatJSONDecoder

    from services.beat import REDBEAT_KEY_PREFIX

    raw = client.hget(REDBEAT_KEY_PREFIX + name, "meta")
    meta = json.loads(raw, cls=RedBeatJSONDecoder) if raw else {}
    return {"last_run_at": meta.get("last_run_at"), "total_run_count": int(meta.get("total_run_count") or 0)}


def entry_score(client: redis.Redis, name: str) -> float | None:
    """When RedBeat will next look at an entry (a UNIX time; -1 once a finite rule is exhausted)."""
    from services.beat import REDBEAT_KEY_PREFIX

    return client.zscore(REDBEAT_KEY_PREFIX + ":schedule", REDBEAT_KEY_PREFIX + name)


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
