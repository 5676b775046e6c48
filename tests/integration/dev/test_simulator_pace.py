"""With the simulator, `vigia dev` paces its workers by the machine, not by the real Portal's budget."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from services.dev.embedded import free_port
from services.dev.runner import SIMULATOR_RATE_PER_MIN, DevOptions, DevStack
from shared.config import Settings
from shared.portal.ratelimit import RateSchedule

pytestmark = pytest.mark.integration


def test_it_lifts_the_portal_rate_for_the_local_simulator_only(tmp_path: Path, redis_url: str, database_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSPARENCY_API_KEY", raising=False)
    port = free_port()
    settings = Settings(_env_file=None, redis_url=redis_url, database_url=database_url)
    stack = DevStack(DevOptions(simulator_port=port, data_dir=tmp_path), settings=settings, out=io.StringIO())
    try:
        env = stack.start_servers()
        assert env["TRANSPARENCY_API_URL"] == f"http://127.0.0.1:{port}/api-de-dados"
        assert httpx.get(f"http://127.0.0.1:{port}/api-de-dados/orgaos-siafi", params={"pagina": 1},
                         headers={"chave-api-dados": "any-key"}, timeout=10).status_code == 200
        children = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()
                                               if k.startswith("PORTAL_RATE_")})
        schedule = RateSchedule.from_settings(children)
        assert schedule.day_per_min == schedule.night_per_min == int(SIMULATOR_RATE_PER_MIN)
    finally:
        stack.stop()
