"""deploy/vps/install.sh run for real, as root, in a disposable Debian 12 root (not --dry-run).

The README's steps, in order, in a root built from Debian's packages (tests/deploy/disposable_root.py):
clone the repository as root, run the installer, fill in .env, run it again (now it migrates),
restart the programs; then supervisor reports every program RUNNING, a monitoring cycle runs on
the installed worker, and ``vigia doctor`` passes against a local PostgreSQL and a Portal
simulator. The git steps run as the service user (root's earlier ``git`` in the user's checkout
stopped on git's "dubious ownership" check), the log folder is root's, and a symlink the service
user plants as .env is refused without touching what it points at.

The first run on a machine builds the Debian image (debootstrap and the installer's packages, a
few minutes); later runs reuse it from the cache folder.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import disposable_root
from tests.support.databases import temporary_database
from tests.support.processes import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]

PORTAL_KEY = "portal-vps-key-0123456789"  # pragma: allowlist secret
# The machine's own package-index settings, so pip and uv inside the root fetch as they do here.
PASSTHROUGH = ("PIP_INDEX", "PIP_EXTRA_INDEX", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "UV_INDEX", "UV_EXTRA_INDEX",
               "SSL_CERT", "REQUESTS_CA_BUNDLE", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
               "NO_PROXY", "no_proxy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def image() -> Path:
    try:
        return disposable_root.debian_image()
    except disposable_root.CannotBuild as reason:
        pytest.skip(f"no disposable Debian root on this machine: {reason}")


@dataclass
class Portal:
    base_url: str


@pytest.fixture
def portal() -> Iterator[Portal]:
    """The simulator's data in exactly the Portal's wire format, as the installed production worker needs.

    A production client refuses any answer carrying the simulator's ``X-Vigia-Simulator`` marker
    (so a misconfigured deployment never stores simulated rows as real). This installation plays
    a real deployment whose Portal is the simulator, so a pass-through proxy forwards every
    request and answer unchanged except for that one header, which the real Portal never sends.
    """
    import httpx

    from shared.portal.simulator.dataset import generate_dataset
    from shared.portal.simulator.faults import FaultConfig
    from shared.portal.simulator.server import running_simulator
    from shared.portal.wire import SIMULATOR_HEADER

    dataset = generate_dataset(seed=3, scale=0.04)
    with running_simulator(copy.deepcopy(dataset), faults=FaultConfig(api_keys=[PORTAL_KEY])) as simulator, \
            httpx.Client(timeout=30) as upstream:
        origin = simulator.base_url.split("/api-de-dados")[0]

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                answer = upstream.get(origin + self.path, headers={k: v for k, v in self.headers.items()
                                                                   if k.lower() not in ("host", "connection")})
                body = answer.content
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in (SIMULATOR_HEADER.lower(), "content-length", "transfer-encoding",
                                            "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Portal(f"http://127.0.0.1:{server.server_address[1]}/api-de-dados")
        finally:
            server.shutdown()
            server.server_close()


def _script(*, redis_port: int, flower_port: int, api_port: int, database_url: str, portal_url: str) -> str:
    options = f"--with-flower --with-api --flower-port {flower_port} --api-port {api_port}"
    fill = {"DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "TRANSPARENCY_API_KEY": PORTAL_KEY, "TRANSPARENCY_API_URL": portal_url,
            "PORTAL_RATE_DAY_PER_MIN": "100000", "PORTAL_RATE_NIGHT_PER_MIN": "100000"}
    edits = " ".join(f"-e {shlex.quote(f's|^{key}=.*|{key}={value}|')}" for key, value in fill.items())
    return f"""
set -euo pipefail
export PATH={disposable_root.SYSTEM_PATH}
mark() {{ printf '\\n@@ %s\\n' "$*"; }}
# The host's Redis holds 6379: this root's Redis listens elsewhere (the only change to the image).
sed -i -E 's/^port .*/port {redis_port}/' /etc/redis/redis.conf

cd /root/vigia

mark first-run
./deploy/vps/install.sh {options}

mark fill-env
sed -i -E {edits} /opt/vigia/app/.env

mark second-run
./deploy/vps/install.sh {options}
supervisorctl restart 'vigia:*'

mark running
for _ in $(seq 120); do
    status="$(supervisorctl status || true)"
    if [ "$(grep -c ' RUNNING ' <<<"$status")" = 4 ]; then break; fi
    sleep 1
done
supervisorctl status || true

mark cycle
cd /opt/vigia/app
runuser -u vigia -- /opt/vigia/venv/bin/vigia run monitor_new_contracts lookback_hours=70080 --timeout 600

mark doctor
set +e
runuser -u vigia -- /opt/vigia/venv/bin/vigia doctor
echo "doctor exit $?"
set -e

mark ownership
stat -c '%n %U %a' /opt/vigia/app/.env /var/log/vigia /opt/vigia/app/.git
ls /var/log/vigia

mark user-owned-log-dir
set +e
/root/vigia/deploy/vps/install.sh {options} --log-dir /opt/vigia/logs 2>&1
echo "installer exit $?"
set -e
test ! -e /opt/vigia/logs && echo "no log folder made there"

mark planted-symlink
echo canary > /etc/vigia-canary && chmod 644 /etc/vigia-canary
runuser -u vigia -- rm /opt/vigia/app/.env
runuser -u vigia -- ln -s /etc/vigia-canary /opt/vigia/app/.env
set +e
/root/vigia/deploy/vps/install.sh {options} 2>&1
echo "installer exit $?"
set -e
stat -c '%n %U %a' /etc/vigia-canary
cat /etc/vigia-canary
"""


def _sections(output: str) -> dict[str, str]:
    parts = re.split(r"^@@ (\S+)\n", output, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_it_installs_for_real_and_runs_every_program_with_doctor_passing(
        image: Path, portal: Any, postgres_admin_url: str, tmp_path: Path) -> None:
    root = disposable_root.unpack(image, tmp_path / "root")
    # This machine reaches PyPI through a TLS-inspecting proxy: the root trusts what the host trusts.
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/ca-certificates.crt")
    # README step 1, as root: a clone of the repository (committed files only), owned by root.
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(root / "root/vigia")], check=True, timeout=120)
    uv_cache = disposable_root.cache_dir() / "vps-uv-cache"
    uv_cache.mkdir(parents=True, exist_ok=True)
    os.chmod(uv_cache, 0o1777)  # noqa: S103 - a test cache the root's service user (uid unknown here) writes
    env = {k: v for k, v in os.environ.items() if k.startswith(PASSTHROUGH)}
    env["UV_CACHE_DIR"] = "/var/cache/vigia-uv"
    try:
        with temporary_database(postgres_admin_url, prefix="vigia_vps") as database_url:
            script = _script(redis_port=free_port(), flower_port=free_port(), api_port=free_port(),
                             database_url=database_url, portal_url=portal.base_url)
            result = disposable_root.run_in_root(root, script, timeout=3000, env=env,
                                                 binds={uv_cache: "/var/cache/vigia-uv"})
    finally:
        # Half a gigabyte. The mounts lived in the namespace only; never delete through one that did not.
        if not any(os.path.ismount(root / sub) for sub in ("proc", "dev", "var/cache/vigia-uv")):
            shutil.rmtree(root, ignore_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    sections = _sections(result.stdout)

    first = sections["first-run"]
    assert "dubious ownership" not in output
    assert "4. code: /root/vigia -> /opt/vigia/app" in first and "  at " in first
    assert "8. migrations" in first and "skipped: set DATABASE_URL" in first
    second = sections["second-run"]
    assert "exists; left as it is" in second and "unchanged" in second

    running = sections["running"]
    for name in ("vigia-worker", "vigia-beat", "vigia-flower", "vigia-web"):
        assert re.search(rf"vigia:{name}\s+RUNNING", running), running

    doctor = sections["doctor"]
    assert "doctor exit 0" in doctor, doctor
    assert "0 failed" in doctor

    owners = sections["ownership"]
    assert "/opt/vigia/app/.env vigia 600" in owners
    assert "/var/log/vigia root 755" in owners
    assert "/opt/vigia/app/.git vigia" in owners
    assert {"worker.log", "beat.log", "flower.log", "web.log"} <= set(owners.split())

    log_dir = sections["user-owned-log-dir"]
    assert "installer exit 1" in log_dir and "/opt/vigia is a symlink or not owned by root" in log_dir
    assert "no log folder made there" in log_dir

    planted = sections["planted-symlink"]
    assert "installer exit 1" in planted and ".env is a symlink" in planted
    assert "/etc/vigia-canary root 644" in planted and planted.rstrip().endswith("canary")
