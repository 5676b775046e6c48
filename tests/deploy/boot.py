"""What the boot test needs to play a platform: a clean checkout, its build, environments, probes.

The checkout is a ``git clone`` of this repository (what Render, Railway or a VPS would fetch:
committed files only), built once into a fresh virtual environment by the Blueprint's own build
command. Environments are made from the manifests' declarations, never from this test process's
environment, so a variable the manifest forgot is missing in the test too.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.deploy.manifests import render_env_keys, render_services
from tests.support.processes import REPO_ROOT, ManagedProcess, wait_for

# Variables the machine needs to fetch packages (its pip/uv configuration), passed to builds only.
_BUILD_PASSTHROUGH = ("PIP_", "UV_", "SSL_CERT", "REQUESTS_CA_BUNDLE", "http_proxy", "https_proxy",
                      "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "no_proxy", "LANG", "LC_ALL")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Checkout:
    home: Path  # like /opt/vigia: app/ and venv/ inside
    app: Path
    venv: Path
    build_seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def base_env(self) -> dict[str, str]:
        """A platform's process environment before the manifest's variables: PATH to the build."""
        return {"PATH": f"{self.bin}:{SYSTEM_PATH}", "HOME": str(self.home), "VIRTUAL_ENV": str(self.venv),
                "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}


def build_env(venv: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(_BUILD_PASSTHROUGH)}
    env.update(PATH=f"{venv / 'bin'}:{SYSTEM_PATH}", HOME=str(home), VIRTUAL_ENV=str(venv))
    # Reuse this machine's package caches (uv's and pip's), as a platform's build cache would.
    for name in ("UV_CACHE_DIR", "XDG_CACHE_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    if "UV_CACHE_DIR" not in env:
        env["UV_CACHE_DIR"] = str(Path(os.environ.get("HOME", "/root")) / ".cache" / "uv")
    env.setdefault("PIP_CACHE_DIR", str(Path(os.environ.get("HOME", "/root")) / ".cache" / "pip"))
    return env


def clone_and_build(root: Path, build_command: str) -> Checkout:
    """``git clone`` this repository into ROOT/home/app and run BUILD_COMMAND there in a new venv."""
    import time

    if shutil.which("git") is None:
        raise RuntimeError("git is not installed")
    home = root / "home"
    app, venv = home / "app", home / "venv"
    home.mkdir(parents=True)
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(app)], check=True, timeout=120)
    started = time.monotonic()
    # The platform's interpreter, without this test run's packages.
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(["bash", "-c", build_command], cwd=app, env=build_env(venv, home),
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise AssertionError(f"the build command failed ({result.returncode}):\n{build_command}\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return Checkout(home=home, app=app, venv=venv, build_seconds=time.monotonic() - started)


def manifest_env(service: dict[str, Any], *, redis_url: str, asked: dict[str, str],
                 generated: dict[str, str]) -> dict[str, str]:
    """A Render service's environment as the platform makes it from render.yaml."""
    env: dict[str, str] = {}
    for key, item in render_env_keys(service).items():
        if "value" in item:
            env[key] = str(item["value"])
        elif item.get("generateValue"):
            # Render's generated values are base64 of 256 random bits; made once per service.
            env[key] = generated.setdefault(f"{service['name']}:{key}",
                                            base64.b64encode(secrets.token_bytes(32)).decode())
        elif "fromService" in item and "envVarKey" in item["fromService"]:
            # Another service's variable: the value that service was given (asked once, there).
            source = render_services()[item["fromService"]["name"]]
            copied = manifest_env(source, redis_url=redis_url, asked=asked, generated=generated)
            if item["fromService"]["envVarKey"] in copied:
                env[key] = copied[item["fromService"]["envVarKey"]]
        elif "fromService" in item:
            env[key] = redis_url
        elif item.get("sync") is False and asked.get(key):
            env[key] = asked[key]
    return env


def start(name: str, command: str, env: dict[str, str], cwd: Path) -> ManagedProcess:
    """A start command run as the platforms run it: ``bash -c`` in the app folder."""
    return ManagedProcess(name, ["bash", "-c", f"exec {command}"], env, cwd=cwd)


def http_ok(url: str, auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.get(url, auth=auth, timeout=5)


def wait_http(url: str, *, status: int = 200, auth: tuple[str, str] | None = None, timeout: float = 90,
              procs: tuple[ManagedProcess, ...] = ()) -> httpx.Response:
    def answered() -> httpx.Response | None:
        for proc in procs:
            if proc.proc.poll() is not None:
                raise AssertionError(f"{proc.name} exited ({proc.proc.returncode}):\n{proc.output[-3000:]}")
        response = http_ok(url, auth)
        return response if response.status_code == status else None

    return wait_for(answered, timeout=timeout, interval=0.5, what=f"{url} to answer {status}")


def wait_heartbeat(redis_url: str, timeout: float = 90) -> list[str]:
    client = redis.Redis.from_url(redis_url)

    def beating() -> list[str]:
        return [key.decode() for key in client.scan_iter(match="vigia:heartbeat:worker:*")]

    return wait_for(beating, timeout=timeout, interval=0.5, what="a worker heartbeat key in Redis")


def wait_beat_lock(redis_url: str, timeout: float = 90) -> int:
    client = redis.Redis.from_url(redis_url)
    return int(wait_for(lambda: client.exists("vigia:redbeat::lock"), timeout=timeout, interval=0.5,
                        what="the beat's lock vigia:redbeat::lock in Redis"))


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browse(url: str, *, screenshot: Path, timeout: float = 90) -> str:
    """Load ``url`` in headless Chromium; save a screenshot and return the DOM after scripts ran."""
    import tempfile

    browser = chromium()
    assert browser is not None
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigia-chromium-") as profile:
        common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1280,800",
                  "--virtual-time-budget=4000"]
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=timeout,
                             check=False)
        shot = subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, text=True,
                              timeout=timeout, check=False)
    if not dom.stdout.strip() or shot.returncode != 0:
        raise AssertionError(f"Chromium failed on {url.split('@')[-1]}: {dom.stderr[-1500:]}{shot.stderr[-1500:]}")
    return dom.stdout
