"""`vigia dev` (what `make run` calls): every process up on embedded servers, all gone after Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.dev.embedded import free_port
from tests.support.processes import ManagedProcess, wait_for

pytestmark = pytest.mark.integration


def _dev_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "TRANSPARENCY_API_KEY"}}
    env.update(ENVIRONMENT="development", LOG_FORMAT="json", VIGIA_DATA_DIR=str(tmp_path / "data"),
               PYTHONUNBUFFERED="1", VIGIA_ENV_FILE="")
    return env


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_it_runs_every_process_and_stops_them_all_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("web", "flower", "redis", "postgres", "simulator")}
    argv = [sys.executable, "-m", "services.cli", "dev",
            "--web-port", str(ports["web"]), "--flower-port", str(ports["flower"]),
            "--redis-port", str(ports["redis"]), "--postgres-port", str(ports["postgres"]),
            "--simulator-port", str(ports["simulator"])]
    dev = ManagedProcess("dev", argv, _dev_env(tmp_path))
    try:
        dev.wait_for_line("Vigia is running", timeout=120)
        api = f"http://127.0.0.1:{ports['web']}"
        wait_for(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, timeout=60, what="the API's /health")
        assert httpx.get(f"{api}/docs", timeout=5).status_code == 200
        flower = f"http://127.0.0.1:{ports['flower']}"
        wait_for(lambda: httpx.get(f"{flower}/healthcheck", timeout=2).text == "OK", timeout=60, what="Flower's /healthcheck")
        dev.wait_for_line("worker ready", timeout=60)

        # A task through the real broker, as any client would send it.
        from services.celery_app import create_app
        from shared.config import Settings

        client = create_app(Settings(_env_file=None, redis_url=f"redis://127.0.0.1:{ports['redis']}/0"), process="cli")
        assert client.send_task("vigia.system.ping", kwargs={"payload": "dev"}).get(timeout=30)["payload"] == "dev"

        # Every output line of every child is prefixed with its process name.
        for name in ("web", "worker", "beat", "flower"):
            assert any(line.startswith(f"{name:<9}| ") for line in dev.lines), f"no output from {name}"

        children = _descendants(dev.proc.pid)
        assert len(children) >= 5
        started = time.monotonic()
        dev.signal(signal.SIGINT)
        dev.proc.wait(15)
        elapsed = time.monotonic() - started
        assert dev.proc.returncode == 0, dev.output[-2000:]
        assert elapsed < 10, f"stopping took {elapsed:.1f} s"
        alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"left behind: {[p.cmdline() for p in alive]}"
        for port in (ports["web"], ports["flower"], ports["redis"], ports["postgres"]):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    finally:
        dev.stop()


def test_it_names_the_port_that_is_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        argv = [sys.executable, "-m", "services.cli", "dev", "--web-port", str(busy),
                "--flower-port", str(free_port()), "--redis-port", str(free_port()),
                "--postgres-port", str(free_port()), "--simulator-port", str(free_port())]
        with ManagedProcess("dev", argv, _dev_env(tmp_path)) as dev:
            code = dev.proc.wait(60)
            assert code == 2
            assert f"port {busy} is already in use" in dev.output
