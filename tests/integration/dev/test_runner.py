"""`vigia dev` (what `make run` calls): every process up on embedded servers, a first cycle by itself,
the page at `/`, the commands of a second terminal pointed at it, and all gone after Ctrl-C.

With Chromium installed, the page is also driven in headless Chromium (list, a filter, a detail
view, the ranking); its screenshots go to benchmarks/out/, or with VIGIA_UPDATE_SCREENSHOTS=1 to
docs/img/ for the README:

    VIGIA_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/integration/dev/test_runner.py
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.api.page.present import indicator_title
from services.dev.embedded import free_port
from tests.deploy.boot import browse, chromium
from tests.support.processes import REPO_ROOT, ManagedProcess, venv_bin

pytestmark = pytest.mark.integration


# A test run leaves the tree clean: screenshots go to benchmarks/out/ (ignored by git);
# VIGIA_UPDATE_SCREENSHOTS=1 writes them to docs/img/, where the README shows them.
IMAGES = REPO_ROOT / ("docs/img" if os.environ.get("VIGIA_UPDATE_SCREENSHOTS") == "1" else "benchmarks/out")


def _dev_env(tmp_path: Path) -> dict[str, str]:
    # No ENVIRONMENT and no LOG_FORMAT: `vigia dev` sets development and output for people itself.
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "DATABASE_URL", "TRANSPARENCY_API_KEY", "TRANSPARENCY_API_URL", "ENVIRONMENT",
                        "LOG_FORMAT"}}
    env.update(VIGIA_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", VIGIA_ENV_FILE="")
    return env


def _second_terminal(tmp_path: Path) -> dict[str, str]:
    """A fresh shell in the checkout: no Vigia variable at all, only where `make run` keeps its data."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS", "DATABASE", "TRANSPARENCY", "PORTAL_", "PYTEST_")) and k != "ENVIRONMENT"}
    env.update(VIGIA_DATA_DIR=str(tmp_path / "data"), VIGIA_ENV_FILE="")
    return env


def _vigia(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([venv_bin("vigia"), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_it_shows_a_first_cycle_serves_a_second_terminal_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("web", "flower", "redis", "postgres", "simulator")}
    argv = [sys.executable, "-m", "services.cli", "dev",
            "--web-port", str(ports["web"]), "--flower-port", str(ports["flower"]),
            "--redis-port", str(ports["redis"]), "--postgres-port", str(ports["postgres"]),
            "--simulator-port", str(ports["simulator"])]
    dev = ManagedProcess("dev", argv, _dev_env(tmp_path))
    try:
        dev.wait_for_line("Vigia is running", timeout=120)
        api = f"http://127.0.0.1:{ports['web']}"
        # Every address, PostgreSQL's included, as plain lines.
        for needle in (f"page       {api}/", f"{api}/docs", f"http://127.0.0.1:{ports['flower']}/",
                       f"redis://127.0.0.1:{ports['redis']}/0", f"postgresql://postgres@127.0.0.1:{ports['postgres']}/",
                       f"http://127.0.0.1:{ports['simulator']}/api-de-dados"):
            dev.wait_for_line(needle, timeout=5)

        # The first cycle runs by itself: investigations within 120 s of `make run`, no command typed.
        done = dev.wait_for_line("first cycle: succeeded", timeout=120)
        assert re.search(r"\b[1-9]\d* contracts read, [1-9]\d* investigations stored", done), done
        dev.wait_for_line(f"see them at {api}/", timeout=5)
        listed = httpx.get(f"{api}/api/v1/investigations", params={"include_total": "true"}, timeout=10).json()
        assert listed["total"] > 0 and listed["items"]
        page = httpx.get(f"{api}/", timeout=10)
        assert page.headers["content-type"].startswith("text/html") and listed["items"][0]["id"] in page.text
        assert httpx.get(f"{api}/docs", timeout=5).status_code == 200

        # Output for people: every child's lines carry its name, none is a JSON record.
        for name in ("web", "worker", "beat", "flower"):
            assert any(line.startswith(f"{name:<9}| ") for line in dev.lines), f"no output from {name}"
        assert not [line for line in dev.lines if line.partition("| ")[2].startswith('{"timestamp"')]
        # Listening on this machine only.
        listening = {c.laddr.port: c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN"}
        assert listening.get(ports["web"]) == "127.0.0.1" and listening.get(ports["flower"]) == "127.0.0.1"

        # A second terminal: the README's examples, as written, find this stack through .vigia/env.
        second = _second_terminal(tmp_path)
        doctor = _vigia(second, "doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "✓ investigations present" in doctor.stdout and f":{ports['postgres']}/" in doctor.stdout
        schedule = _vigia(second, "schedule", "--why")
        assert schedule.returncode == 0 and "monitor-new-contracts" in schedule.stdout
        assert "Redis did not answer" not in schedule.stdout
        cycle = _vigia(second, "run", "monitor_new_contracts", "lookback_hours=24")
        assert cycle.returncode == 0, cycle.stderr[-2000:]
        assert '"status": "succeeded"' in cycle.stdout
        inline = _vigia(second, "run", "refresh_sanctions", "--inline")
        assert inline.returncode == 0, inline.stderr[-2000:]
        by_hand = _vigia(second, "run", "investigate", f"investigation_id={listed['items'][0]['id']}")
        assert by_hand.returncode == 0, by_hand.stderr[-2000:]

        shots = None
        if chromium() is not None:
            shots = _screenshots(api, listed["items"][0]["id"])

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
        for port in ports.values():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
        # Once the stack is gone, a second terminal no longer reads its file.
        assert not (tmp_path / "data" / "env").exists()
        assert "using the `vigia dev` stack" not in _vigia(second, "schedule").stderr
    finally:
        dev.stop()
    if shots is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): every other check passed")


def _screenshots(api: str, investigation_id: str) -> dict[str, str]:
    """The page in headless Chromium: list, a filter, a detail view and the ranking, each with data."""
    doms = {
        "list": browse(f"{api}/", screenshot=IMAGES / "page-list.png"),
        "filter": browse(f"{api}/?severity=high&indicator=sanctioned_supplier", screenshot=IMAGES / "page-filter.png"),
        "detail": browse(f"{api}/investigacoes/{investigation_id}", screenshot=IMAGES / "page-detail.png"),
        "orgaos": browse(f"{api}/orgaos", screenshot=IMAGES / "page-orgaos.png"),
    }
    assert doms["list"].count('href="/investigacoes/') >= 10
    assert re.search(r'<option value="sanctioned_supplier" selected', doms["filter"])
    assert 0 < doms["filter"].count('href="/investigacoes/') < doms["list"].count('href="/investigacoes/') + 1
    assert f"<li>{indicator_title('sanctioned_supplier')}</li>" in doms["filter"]
    assert "Base legal" in doms["detail"] and "portaldatransparencia.gov.br/contratos/consulta" in doms["detail"]
    assert "<rect" in doms["orgaos"] and "<svg" in doms["orgaos"]
    for name in ("list", "filter", "detail", "orgaos"):
        assert (IMAGES / f"page-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return doms


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
