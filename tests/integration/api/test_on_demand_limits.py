"""What one write key can make the system do on demand: a daily quota, a Portal page cap for
órgão windows and, in the API-alone mode, a time budget per investigation.

Shifting a window by a day defeats deduplication (it is a new request), so the quota is what
bounds a key; the page cap keeps one wide window from spending the Portal budget the scheduled
monitoring needs.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.integration.api.conftest import OTHER_KEY, api_settings, write_headers
from tests.integration.api.test_api_alone import TERMINAL, alone_settings, dataset, portal_url  # noqa: F401
from tests.support.processes import RedisDb, redis_db, wait_for

pytestmark = pytest.mark.integration


def test_it_refuses_a_key_past_its_daily_quota_however_the_window_shifts(database_url: str, redis_url: str) -> None:
    import redis

    broker = redis_db(redis_url, RedisDb.API_ON_DEMAND_LIMITS)
    settings = api_settings(database_url, broker, api_on_demand_daily_quota=3)
    start = date(2024, 1, 1)
    try:
        with TestClient(create_app(settings)) as client:
            answers = [
                client.post("/api/v1/investigations", headers=write_headers(), json={
                    "orgao_codigo": "26999", "window_start": (start + timedelta(days=n)).isoformat(),
                    "window_end": (start + timedelta(days=n + 30)).isoformat()})
                for n in range(6)
            ]
            assert [a.status_code for a in answers] == [202, 202, 202, 429, 429, 429]
            assert all(a.json()["created"] for a in answers[:3])
            refused = answers[3]
            assert refused.json()["error"] == "quota_exceeded" and "API_ON_DEMAND_DAILY_QUOTA" in refused.json()["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
            # Another key has its own day.
            other = client.post("/api/v1/investigations", headers=write_headers(OTHER_KEY), json={
                "orgao_codigo": "26999", "window_start": "2024-03-01", "window_end": "2024-03-02"})
            assert other.status_code == 202
    finally:
        cleanup = redis.Redis.from_url(broker)
        cleanup.flushdb()
        cleanup.close()


def _year(text: str) -> int:
    return int(text[-4:] if "/" in text else text[:4])  # the simulator writes both date forms


def _busiest_orgao_year(data: Any) -> tuple[str, int, int]:
    counts = Counter((c["unidadeGestora"]["orgaoVinculado"]["codigoSIAFI"], _year(c["dataInicioVigencia"]))
                     for c in data.contracts if c.get("dataInicioVigencia"))
    (orgao, year), n = counts.most_common(1)[0]
    return orgao, year, n


def test_it_stops_an_orgao_window_at_the_page_cap_and_says_so(
    database_url: str, portal_url: str, dataset: Any  # noqa: F811
) -> None:
    orgao, year, contracts = _busiest_orgao_year(dataset)
    assert contracts > 15, "the simulated órgão fills less than one Portal page"
    settings = alone_settings(database_url, portal_url).model_copy(update={"api_on_demand_max_pages": 1})
    with TestClient(create_app(settings)) as client:
        accepted = client.post("/api/v1/investigations", headers=write_headers(), json={
            "orgao_codigo": orgao, "window_start": f"{year}-01-01", "window_end": f"{year}-12-31"})
        assert accepted.status_code == 202, accepted.text

        def finished() -> dict[str, Any] | None:
            current = client.get(accepted.json()["poll_url"]).json()
            return current if current["status"] in TERMINAL else None

        done = wait_for(finished, timeout=120, interval=0.2, what="the capped investigation to end")
    assert done["status"] == "failed"
    assert "API_ON_DEMAND_MAX_PAGES" in done["error"] and "1 páginas" in done["error"]


def test_it_fails_an_api_alone_investigation_past_its_time_budget(
    database_url: str, portal_url: str, dataset: Any  # noqa: F811
) -> None:
    contract_id = sorted(c["id"] for c in dataset.contracts)[3]
    with TestClient(create_app(alone_settings(database_url, portal_url))) as client:
        inline = client.app.state.resources.inline  # type: ignore[attr-defined]
        inline.budget_seconds = 0.0  # every step after the first read is past the budget
        accepted = client.post("/api/v1/investigations", headers=write_headers(), json={"contract_id": contract_id})
        assert accepted.status_code == 202, accepted.text

        def finished() -> dict[str, Any] | None:
            current = client.get(accepted.json()["poll_url"]).json()
            return current if current["status"] in TERMINAL else None

        done = wait_for(finished, timeout=60, interval=0.1, what="the over-budget investigation to end")
    assert done["status"] == "failed" and "API_INLINE_JOB_SECONDS" in done["error"]


def test_it_shares_one_portal_limiter_between_the_api_alone_investigations(database_url: str, portal_url: str) -> None:  # noqa: F811
    with TestClient(create_app(alone_settings(database_url, portal_url))) as client:
        inline = client.app.state.resources.inline  # type: ignore[attr-defined]
        first, second = inline._portal_client(), inline._portal_client()
        try:
            assert first.limiter is second.limiter is inline.portal_limiter
            assert inline.portal_limiter.share == 1 / inline.ctx.settings.web_concurrency
        finally:
            first.close()
            second.close()
