"""Boot test: play Render from render.yaml, then a VPS from the installer's supervisor programs.

From a clean ``git clone``, the Blueprint's build command runs once in a fresh virtual
environment (every service's build command is the same; a test checks it). Then:

* Render: the pre-deploy command migrates a new database; each service's start command runs with
  the environment render.yaml declares — REDIS_URL from ``fromService`` pointed at a local Redis,
  ``sync: false`` secrets from test values, ``generateValue`` random — and the test checks the
  API's health path, Flower's /healthcheck and its basic auth, a worker heartbeat and the beat's
  lock; ``vigia doctor`` run in the worker's environment agrees; headless Chromium shows Flower's
  workers page (screenshot in benchmarks/out/flower-workers.png).
* VPS: the installer (dry run) writes the supervisor programs for this checkout, a real
  supervisord runs them with only the installer's .env as configuration, and the same probes pass.

The Portal is the local simulator: no machine running this suite reaches the real one.
"""

from __future__ import annotations

import getpass
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from services.dev.embedded import EmbeddedRedis, free_port
from shared.portal.simulator.faults import FaultConfig
from shared.portal.simulator.server import running_simulator
from tests.deploy import boot
from tests.deploy.manifests import render_services
from tests.support.databases import temporary_database
from tests.support.processes import REPO_ROOT, ManagedProcess, venv_bin, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PORTAL_KEY = "portal-boot-key-0123456789"
SCREENSHOT = REPO_ROOT / "benchmarks" / "out" / "flower-workers.png"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> boot.Checkout:
    services = [s for s in render_services().values() if s["type"] != "keyvalue"]
    commands = {s["buildCommand"] for s in services}
    assert len(commands) == 1, "one build serves every service only while their build commands are equal"
    return boot.clone_and_build(tmp_path_factory.mktemp("boot"), commands.pop())


@pytest.fixture(scope="module")
def portal() -> Iterator[Any]:
    with running_simulator(faults=FaultConfig(api_keys=[PORTAL_KEY])) as server:
        yield server


@pytest.fixture
def phase_redis(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedRedis(workdir=tmp_path / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def phase_database(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, prefix="vigia_boot") as url:
        yield url


def _check_flower(port: int, user: str, password: str, procs: tuple[ManagedProcess, ...]) -> None:
    base = f"http://127.0.0.1:{port}"
    assert boot.wait_http(f"{base}/healthcheck", procs=procs).text.strip() == "OK"
    assert boot.http_ok(f"{base}/").status_code == 401
    assert boot.http_ok(f"{base}/", auth=(user, "not-the-password")).status_code == 401
    assert boot.http_ok(f"{base}/", auth=(user, password)).status_code == 200


def _worker_in_flower(port: int, user: str, password: str) -> str:
    url = f"http://127.0.0.1:{port}/workers?json=1"

    def listed() -> str | None:
        data = boot.http_ok(url, auth=(user, password)).json()["data"]
        return next((w["hostname"] for w in data if w.get("status")), None)

    return wait_for(listed, timeout=60, interval=1, what="Flower to list an online worker")


def test_it_boots_every_render_service_from_a_clean_checkout(
    checkout: boot.Checkout, portal: Any, phase_redis: str, phase_database: str
) -> None:
    services = render_services()
    asked = {"DATABASE_URL": phase_database, "TRANSPARENCY_API_KEY": PORTAL_KEY}
    generated: dict[str, str] = {}
    ports = {"vigia-api": free_port(), "vigia-flower": free_port()}

    def env_of(name: str) -> dict[str, str]:
        env = {**checkout.base_env(),
               **boot.manifest_env(services[name], redis_url=phase_redis, asked=asked, generated=generated)}
        # No machine running this suite reaches the real Portal: the simulator stands in, keyed.
        env["TRANSPARENCY_API_URL"] = portal.base_url
        if name in ports:  # Render gives each web service its own PORT
            env["PORT"] = str(ports[name])
        assert env["ENVIRONMENT"] == "production"
        return env

    for name in ("vigia-api", "vigia-worker"):
        release = subprocess.run(["bash", "-c", services[name]["preDeployCommand"]], cwd=checkout.app,
                                 env=env_of(name), capture_output=True, text=True, timeout=120, check=False)
        assert release.returncode == 0, release.stdout + release.stderr

    processes = {name: boot.start(name, services[name]["startCommand"], env_of(name), checkout.app)
                 for name in ("vigia-api", "vigia-worker", "vigia-beat", "vigia-flower")}
    procs = tuple(processes.values())
    try:
        health = boot.wait_http(f"http://127.0.0.1:{ports['vigia-api']}{services['vigia-api']['healthCheckPath']}",
                                procs=procs)
        assert health.json()["status"] == "ok"
        flower_env = env_of("vigia-flower")
        user, password = flower_env["FLOWER_USER"], flower_env["FLOWER_PASSWORD"]
        assert services["vigia-flower"]["healthCheckPath"] == "/healthcheck"
        _check_flower(ports["vigia-flower"], user, password, procs)
        assert boot.wait_heartbeat(phase_redis)
        assert boot.wait_beat_lock(phase_redis) == 1

        doctor = subprocess.run(["bash", "-c", "vigia doctor --process worker,beat,release"], cwd=checkout.app,
                                env=env_of("vigia-worker"), capture_output=True, text=True, timeout=120,
                                check=False)
        failed = {line[2:].split(":", 1)[0] for line in doctor.stdout.splitlines() if line.startswith("✗ ")}
        passed = {line[2:].split(":", 1)[0] for line in doctor.stdout.splitlines() if line.startswith("✓ ")}
        assert passed == {"Redis reachable", "database reachable", "database migrated", "a worker alive",
                          "one beat holds the lock", "environment complete", "Portal key accepted"}, doctor.stdout
        # A new deployment has not monitored anything yet: doctor says so and exits non-zero.
        assert failed == {"first monitoring run done", "investigations present"}, doctor.stdout
        assert doctor.returncode == 1

        hostname = _worker_in_flower(ports["vigia-flower"], user, password)
        if boot.chromium() is None:
            pytest.skip("Chromium is not installed (apt-get install chromium): every other check passed")
        # Render's generated password is base64: '/', '+' and '=' must be escaped inside a URL.
        url = f"http://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{ports['vigia-flower']}/workers"
        dom = boot.browse(url, screenshot=SCREENSHOT)
        assert hostname in dom, dom[-2000:]
        assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        for proc in procs:
            proc.stop(timeout=30)
    worker_log = processes["vigia-worker"].output
    assert "Traceback" not in worker_log, worker_log[-3000:]


def test_it_refuses_to_start_flower_in_production_without_a_password(
    checkout: boot.Checkout, phase_redis: str
) -> None:
    service = render_services()["vigia-flower"]
    env = {**checkout.base_env(), **boot.manifest_env(service, redis_url=phase_redis, asked={}, generated={}),
           "PORT": str(free_port())}
    del env["FLOWER_PASSWORD"]
    with boot.start("flower", service["startCommand"], env, checkout.app) as flower:
        code = flower.proc.wait(60)
    assert code == 2
    assert "vigia flower cannot start" in flower.output and "FLOWER_PASSWORD is missing" in flower.output


def _fill_env(env_file: Path, values: dict[str, str]) -> str:
    """Edit the installer's .env as a person would: set each KEY=value line."""
    text = env_file.read_text()
    for key, value in values.items():
        text, count = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.MULTILINE)
        assert count == 1, f"{key} is not in the installer's .env"
    env_file.write_text(text)
    return text


def test_it_boots_the_procfile_through_the_vps_supervisor_programs(
    checkout: boot.Checkout, portal: Any, phase_redis: str, phase_database: str, tmp_path: Path
) -> None:
    root, logs = tmp_path / "root", tmp_path / "logs"
    logs.mkdir()
    flower_port, api_port = free_port(), free_port()
    installer = subprocess.run(
        ["bash", str(checkout.app / "deploy/vps/install.sh"), "--dry-run", "--root", str(root),
         "--source", str(checkout.app), "--app-home", str(checkout.home), "--user", getpass.getuser(),
         "--log-dir", str(logs), "--with-flower", "--with-api",
         "--flower-port", str(flower_port), "--api-port", str(api_port)],
        capture_output=True, text=True, timeout=60, check=False, env={"PATH": boot.SYSTEM_PATH})
    assert installer.returncode == 0, installer.stdout + installer.stderr

    # The installer's .env (ENVIRONMENT=production, generated Flower password and API key), with
    # what its "Next:" line asks a person to fill in.
    env_file = checkout.app / ".env"
    env_file.write_text((root / str(checkout.app).lstrip("/") / ".env").read_text())
    text = _fill_env(env_file, {"REDIS_URL": phase_redis, "DATABASE_URL": phase_database,
                                "TRANSPARENCY_API_KEY": PORTAL_KEY, "TRANSPARENCY_API_URL": portal.base_url})
    password = re.search(r"^FLOWER_PASSWORD=(.+)$", text, flags=re.MULTILINE)
    assert password is not None

    # The Procfile's release, as the installer runs it: in the app folder, configured by .env only.
    release = subprocess.run(["bash", "-c", "vigia migrate"], cwd=checkout.app, env=checkout.base_env(),
                             capture_output=True, text=True, timeout=120, check=False)
    assert release.returncode == 0, release.stdout + release.stderr

    conf = tmp_path / "supervisord.conf"
    sock = tmp_path / "supervisor.sock"
    conf.write_text(
        f"[supervisord]\nnodaemon=true\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/supervisord.pid\n"
        f"[unix_http_server]\nfile={sock}\n"
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{sock}\n"
        f"[include]\nfiles={root}/etc/supervisor/conf.d/*.conf\n")
    # supervisord as a service manager starts it: a minimal environment, nothing of this test's.
    clean = {"PATH": boot.SYSTEM_PATH, "HOME": str(checkout.home), "LANG": "C.UTF-8"}
    supervisord = ManagedProcess("supervisord", [venv_bin("supervisord"), "-c", str(conf)], clean, cwd=tmp_path)
    ctl = [venv_bin("supervisorctl"), "-c", str(conf)]
    try:
        boot.wait_http(f"http://127.0.0.1:{api_port}/health", procs=(supervisord,))
        _check_flower(flower_port, "vigia", password.group(1), (supervisord,))
        assert boot.wait_heartbeat(phase_redis)
        assert boot.wait_beat_lock(phase_redis) == 1

        def all_running() -> bool:
            # RUNNING once a program has stayed up for its startsecs (10 s).
            status = subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30, check=False).stdout
            names = ("vigia-worker", "vigia-beat", "vigia-flower", "vigia-web")
            return all(re.search(rf"vigia:{name}\s+RUNNING", status) for name in names)

        wait_for(all_running, timeout=60, interval=1, what="supervisor to report every program RUNNING")
        for name in ("worker", "beat", "flower", "web"):
            assert (logs / f"{name}.log").stat().st_size > 0, f"{name}.log is empty"
    finally:
        pids = subprocess.run([*ctl, "pid", "all"], capture_output=True, text=True, timeout=30, check=False).stdout
        subprocess.run([*ctl, "shutdown"], capture_output=True, text=True, timeout=90, check=False)
        supervisord.stop(timeout=60)
        for pid in (int(p) for p in pids.split() if p.isdigit() and int(p) > 0):
            try:  # whatever supervisord could not stop in time
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    worker_log = (logs / "worker.log").read_text()
    assert "Traceback" not in worker_log, worker_log[-4000:]
