"""``vigia simulator serve`` as a real process: it serves, enforces its limit, streams a huge órgão
with flat client memory, and refuses production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psutil
import pytest

from services.dev.embedded import free_port
from shared.domain import Source
from shared.portal.breaker import CircuitBreaker
from shared.portal.client import PortalClient
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.transport import RetryPolicy
from tests.integration.portal.conftest import TEST_KEY
from tests.support.processes import ManagedProcess, wait_for

pytestmark = pytest.mark.integration

BIG_ORGAO, BIG_COUNT = "99999", 20_000


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(ENVIRONMENT="development", VIGIA_ENV_FILE="", LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    env.pop("TRANSPARENCY_API_KEY", None)
    return env


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(port), "--scale", "0.2",
            "--rate-limit", "100000", "--rate-window", "60", "--big-orgao", f"{BIG_ORGAO}:{BIG_COUNT}"]
    with ManagedProcess("simulator", argv, _env()) as process:
        process.wait_for_line("Portal simulator listening", timeout=60)
        yield f"http://127.0.0.1:{port}/api-de-dados"


def test_it_serves_the_seeded_data_set_under_api_de_dados(served: str) -> None:
    response = httpx.get(f"{served}/orgaos-siafi", params={"pagina": 1}, headers={"chave-api-dados": TEST_KEY})
    assert response.status_code == 200 and response.headers["X-Vigia-Simulator"] == "1"
    assert {"codigo", "descricao"} <= set(response.json()[0])
    assert httpx.get(f"{served}/orgaos-siafi", params={"pagina": 1}).status_code == 401


def test_it_streams_a_huge_orgao_with_flat_client_memory(served: str) -> None:
    process = psutil.Process()
    seen = 0
    rss_after_warmup = 0
    with PortalClient(base_url=served, api_key=TEST_KEY, source=Source.SIMULATOR,
                      timeout=30.0, retry=RetryPolicy(max_retries=5), breaker=CircuitBreaker(failure_threshold=5, reset_seconds=120.0)) as client:
        for page in client.iter_contract_pages(BIG_ORGAO):
            seen += len(page.items)
            if page.number == 100:
                rss_after_warmup = process.memory_info().rss
        growth = process.memory_info().rss - rss_after_warmup
    assert seen == BIG_COUNT
    # Holding the contracts would cost ~100 MB here; the id set for dedup costs ~2 MB.
    assert growth < 20 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB while streaming"


def test_it_enforces_the_per_key_limit_it_was_started_with(served: str) -> None:
    with SimulatorAdmin(served) as admin:
        assert admin.config()["rate_limit"] == 100_000
        admin.configure(rate_limit=2, rate_window_seconds=30)
        try:
            statuses = [httpx.get(f"{served}/orgaos-siafi", params={"pagina": 1},
                                  headers={"chave-api-dados": "cli-limit-key-000"}) for _ in range(3)]
            assert [r.status_code for r in statuses] == [200, 200, 429]
            assert 1 <= int(statuses[2].headers["Retry-After"]) <= 30
        finally:
            admin.configure(rate_limit=100_000, rate_window_seconds=60)


def test_it_refuses_to_run_in_production() -> None:
    env = {**_env(), "ENVIRONMENT": "production"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "never runs with ENVIRONMENT=production" in result.stdout


def test_it_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    argv = [sys.executable, "-m", "services.cli", "simulator", "serve", "--port", str(port), "--scale", "0.05"]
    process = ManagedProcess("simulator", argv, _env())
    try:
        process.wait_for_line("Portal simulator listening", timeout=60)
        process.signal(15)
        wait_for(lambda: process.proc.poll() is not None, timeout=10, what="the simulator to exit")
        assert process.proc.returncode == 0
        process.wait_for_line("Portal simulator stopping", timeout=5)
    finally:
        process.stop()
