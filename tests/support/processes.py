"""Start real Vigia processes in tests, read their JSON log lines, and stop them for sure.

Every suite that starts the Procfile's processes does it here: :func:`start` runs a Procfile
entry exactly as a platform would, :func:`process_env` is the environment it runs in, and
:class:`RedisDb` is the one table of the Redis database numbers the suites take on the session's
Redis, so that no two of them flush each other's keys or run each other's tasks.

Waiting is always for a condition (a log line, a port, a row), never a fixed sleep: ``wait_for``
polls until the condition holds or its deadline passes, and then fails with what it saw.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from shared.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class RedisDb(IntEnum):
    """The Redis database each suite works in on the session's Redis, one number per use.

    A test or fixture that starts processes on the session's Redis (or sends them tasks) takes a
    database of its own and flushes it first, so a worker one test started never takes another
    test's tasks. Redis has 16 databases by default (0 to 15); a unit test checks that every
    number here is used once and exists.
    """

    SESSION = 0  # the session's Redis as ``redis_url`` gives it, shared by tests that flush nothing
    PIPELINE_IN_PROCESS = 1  # the pipeline tests' in-process context (``pipeline_redis``)
    PIPELINE_PROCESSES = 2  # worker and beat started by ``pipeline_env`` callers
    SUPABASE_RELEASE = 3  # the release and a monitoring cycle through the Supabase backend
    FAULTS_WORKER_SIGTERM = 4
    FAULTS_POSTGRES_OUTAGE = 5
    FAULTS_BEAT_LOCK = 6  # the beat lock taken over while Redis was away
    API_WEB = 7  # the API tests' gunicorn (``web_server``)
    FAULTS_PORTAL_STORM = 8
    API_RATE_LIMITS = 9
    API_ON_DEMAND_LIMITS = 10
    API_ON_DEMAND = 11
    FAULTS_BEAT_OVERLAP = 12
    FAULTS_DISKLESS_RESTART = 13
    API_SUMMARIES = 14  # the /stats and /orgaos copies two apps share


def redis_db(url: str, db: RedisDb) -> str:
    """``url`` (any Redis URL) pointed at database ``db``, keeping its host, password and options."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{int(db)}", parts.query, parts.fragment))


def flushed_redis_db(url: str, db: RedisDb) -> str:
    """Database ``db`` of the Redis at ``url``, emptied: where a test starts from nothing."""
    import redis

    target = redis_db(url, db)
    client = redis.Redis.from_url(target)
    try:
        client.flushdb()
    finally:
        client.close()
    return target


def wait_for(condition: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # the thing being waited for may not exist yet
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f": {last_error}" if last_error else ""))


# The processes the running test started, so that its report, should it fail, shows what each
# printed last (tests/conftest.py); a failure in CI is then read from the log alone.
STARTED: list[ManagedProcess] = []
REPORTED_LINES = 40  # per process: the CI log keeps only its tail
REPORTED_WIDTH = 300


class ManagedProcess:
    """A child process whose stdout lines are collected as they arrive."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> None:
        self.name = name
        self.argv = argv
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        STARTED.append(self)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def last_lines(self, count: int = REPORTED_LINES, width: int = REPORTED_WIDTH) -> str:
        """The last ``count`` lines printed, each cut at ``width`` characters."""
        with self._lock:
            lines = self.lines[-count:]
        return "\n".join(line if len(line) <= width else line[:width] + " …" for line in lines)

    def json_lines(self) -> list[dict[str, Any]]:
        records = []
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            line = line.split("| ", 1)[1] if line[:1].isalpha() and "| {" in line[:20] else line
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records

    def wait_for_line(self, needle: str, timeout: float = 60.0) -> str:
        def found() -> str | None:
            with self._lock:
                for line in self.lines:
                    if needle in line:
                        return line
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before printing {needle!r}:\n{self.output[-3000:]}")
            return None

        try:
            return wait_for(found, timeout=timeout, what=f"{self.name} to print {needle!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {self.name} output ---\n{self.output[-3000:]}") from None

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM the whole process group, then SIGKILL what is left; return the exit code."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        code = self.proc.wait(10)
        self._reader.join(5)
        return code

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def procfile_argv(entry: str, env: dict[str, str], *extra: str) -> list[str]:
    """The Procfile's command for ``entry`` with ``env``'s values put in, run from this virtualenv."""
    from services.dev.procfile import expand, read_procfile

    argv = expand(read_procfile()[entry], env) + list(extra)
    argv[0] = venv_bin(argv[0])
    return argv


def start(name: str, env: dict[str, str], *extra: str, cwd: Path = REPO_ROOT) -> ManagedProcess:
    """A Procfile process (``worker``, ``beat``, ``web``, ``flower``) with ``extra`` arguments.

    ``name`` may carry a suffix after a dash (``worker-2``, ``beat-new``) to tell apart two
    processes of one entry in a test's output.
    """
    return ManagedProcess(name, procfile_argv(name.split("-")[0], env, *extra), env, cwd=cwd)


def process_env(service_env: dict[str, str], *, redis_url: str, database_url: str, portal_url: str | None = None,
                redis_database: RedisDb | None = None, **values: str) -> dict[str, str]:
    """The environment of a worker, beat or web process on the given servers and Portal simulator.

    With ``redis_database`` the processes work in that database of ``redis_url``, flushed first.
    The Portal budget is out of the way (a test that paces the Portal sets its own), a request
    is tried three times, the worker runs two pool processes, and its soft shutdown lasts 2 s so
    a worker stopped at the end of a test with a task still held is not waited for the production
    20 s. ``values`` override any of these.
    """
    if redis_database is not None:
        redis_url = flushed_redis_db(redis_url, redis_database)
    env = dict(service_env)
    env.update(REDIS_URL=redis_url, DATABASE_URL=database_url,
               PORTAL_RATE_DAY_PER_MIN="100000", PORTAL_RATE_NIGHT_PER_MIN="100000", PORTAL_MAX_RETRIES="2",
               WORKER_CONCURRENCY="2", WORKER_SOFT_SHUTDOWN_TIMEOUT="2", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    if portal_url:
        env["TRANSPARENCY_API_URL"] = portal_url
    env.update(values)
    return env


def pipeline_env(service_env: dict[str, str], *, redis_url: str, database_url: str, portal_url: str,
                 **values: str) -> dict[str, str]:
    """:func:`process_env` in database :attr:`RedisDb.PIPELINE_PROCESSES` of ``redis_url``, flushed."""
    return process_env(service_env, redis_url=redis_url, database_url=database_url, portal_url=portal_url,
                       redis_database=RedisDb.PIPELINE_PROCESSES, **values)


def settings_for(env: dict[str, str]) -> Settings:
    """Settings of a test's own clients (store, Celery) on the servers a process environment names.

    Without ``TRANSPARENCY_API_URL`` the Portal is an address where nothing listens.
    """
    from shared.config import Settings

    return Settings(_env_file=None, environment="test", database_url=env["DATABASE_URL"],
                    redis_url=env["REDIS_URL"],
                    transparency_api_url=env.get("TRANSPARENCY_API_URL") or "http://127.0.0.1:9/api-de-dados",
                    log_format="json")


@contextmanager
def celery_client(env: dict[str, str]) -> Iterator[Any]:
    """A Celery app as the API or ``vigia run`` builds one, to send tasks and read results."""
    from services.celery_app import create_app

    app = create_app(settings_for(env), process="cli")
    try:
        yield app
    finally:
        app.close()
