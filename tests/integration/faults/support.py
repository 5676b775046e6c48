"""What the fault tests share: servers a test owns and restarts, real processes on them, and polls.

Each fault test owns what it breaks: a Redis server (:class:`OwnedRedis`, append-only file on, so
a restart keeps every key as a managed Redis with persistence does) or a PostgreSQL server
(:class:`OwnedPostgres`), each restarted on the same port so the processes under test reconnect
to the address they were given. The processes are the Procfile's, started as the pipeline tests
start them. Figures a test measures (seconds to reconnect, retries seen) are logged on
``vigia.tests.faults``; ``pytest --log-cli-level=INFO`` prints them.
"""

from __future__ import annotations

import logging
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from services.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from services.dev.procfile import expand, read_procfile
from shared.config import Settings
from shared.domain import RunStatus
from tests.support.databases import temporary_database
from tests.support.processes import ManagedProcess, venv_bin, wait_for

log = logging.getLogger("vigia.tests.faults")

MONITOR = "vigia.monitoring.monitor_new_contracts"
# Redis database numbers of the fault tests on the session's Redis (the pipeline tests use 9 and
# 10, the API tests 7); a test flushes its own before it starts.
SIGTERM_REDIS_DB = 11
POSTGRES_OUTAGE_REDIS_DB = 12
BEAT_LOCK_REDIS_DB = 13


def redis_db(url: str, number: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{number}"


def flushed(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def process_env(service_env: dict[str, str], *, redis_url: str, database_url: str, portal_url: str,
                **values: str) -> dict[str, str]:
    """The environment of a worker, beat or web process on the given servers and simulator."""
    env = dict(service_env)
    env.update(REDIS_URL=redis_url, DATABASE_URL=database_url, TRANSPARENCY_API_URL=portal_url,
               PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000", PORTAL_MAX_RETRIES="2",
               WORKER_CONCURRENCY="2", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               # A short grace: a worker stopped at the end of a test with a task still held is
               # not waited for the production 20 s.
               WORKER_SOFT_SHUTDOWN_TIMEOUT="2")
    env.update(values)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    """Settings of a test's own clients (store, Celery) on the servers the processes use."""
    return Settings(_env_file=None, environment="test", database_url=env["DATABASE_URL"],
                    redis_url=env["REDIS_URL"], transparency_api_url=env["TRANSPARENCY_API_URL"],
                    log_format="json")


def start(name: str, env: dict[str, str], *extra: str) -> ManagedProcess:
    """A Procfile process (``worker``, ``beat``, ``web``); ``name`` may carry a suffix (``worker-2``)."""
    argv = expand(read_procfile()[name.split("-")[0]], env) + list(extra)
    argv[0] = venv_bin(argv[0])
    return ManagedProcess(name, argv, env)


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


@dataclass
class OwnedRedis:
    """A Redis server of one test on a fixed port, with an append-only file; restartable."""

    workdir: Path
    server: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.server = EmbeddedRedis(port=free_port(), workdir=self.workdir, appendonly=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> OwnedRedis:
        self.server.start()
        return self

    def stop(self) -> None:
        """A graceful stop (SIGTERM): Redis writes its append-only file and exits."""
        self.server.stop()

    def is_up(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None


@dataclass
class OwnedPostgres:
    """A PostgreSQL server of one test, in a temporary folder, on a fixed port; restartable."""

    datadir: Path
    server: EmbeddedPostgres = field(init=False)

    def __post_init__(self) -> None:
        self.server = EmbeddedPostgres(datadir=self.datadir, port=free_port(), database="vigia_faults")

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> OwnedPostgres:
        self.server.start()
        return self

    def stop(self) -> None:
        """PostgreSQL's fast shutdown: every session is cut, as in a failover or a restart."""
        self.server.stop()


@contextmanager
def owned_redis() -> Iterator[OwnedRedis]:
    with tempfile.TemporaryDirectory(prefix="vigia-fault-redis-") as folder:
        owned = OwnedRedis(Path(folder)).start()
        try:
            yield owned
        finally:
            owned.stop()


@contextmanager
def owned_postgres() -> Iterator[OwnedPostgres]:
    folder = tempfile.mkdtemp(prefix="vigia-fault-pg-")
    owned = OwnedPostgres(Path(folder)).start()
    try:
        yield owned
    finally:
        owned.stop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def migrated_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new migrated database on a server; dropped at the end."""
    with temporary_database(admin_url, prefix=prefix, migrated=True) as url:
        yield url


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
