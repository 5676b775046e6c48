"""The API alone (``ENABLE_CELERY_WORKERS=false``, the reference deployment's Hugging Face Space):
the real app on the real PostgreSQL, the Portal simulator over HTTP, and no Redis anywhere.

An on-demand request answers 202 as always and runs in the web process; readiness rests on the
database alone; stopping the app fails what it could not finish, with a reason.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.schemas.reports import ReadyOut
from shared.config import Settings
from shared.portal.simulator.faults import FaultConfig
from shared.store.base import Store
from tests.integration.api.conftest import WRITE_KEY, write_headers
from tests.support.processes import wait_for

pytestmark = [pytest.mark.integration]

TERMINAL = ("completed", "failed", "cancelled")


def alone_settings(database_url: str, portal_url: str) -> Settings:
    return Settings(
        _env_file=None, environment="test", enable_celery_workers=False, database_url=database_url,
        redis_url=None, api_keys=[WRITE_KEY], transparency_api_url=portal_url, db_pool_max_size=4,
        portal_max_retries=0,
    )


@pytest.fixture(scope="module")
def dataset() -> Any:
    from shared.portal.simulator.dataset import generate_dataset

    # A seed no other on-demand test uses: a pending request of theirs for the same contract
    # would be returned instead of a new one.
    return generate_dataset(seed=11, scale=0.04)


@pytest.fixture
def portal_url(dataset: Any) -> Iterator[str]:
    from shared.portal.simulator.server import running_simulator

    with running_simulator(dataset) as server:
        yield server.base_url


@pytest.fixture
def slow_portal_url(dataset: Any) -> Iterator[str]:
    """Every answer takes 6 s: investigations are still running when the app stops."""
    from shared.portal.simulator.server import running_simulator

    with running_simulator(dataset, faults=FaultConfig(slow_ratio=1.0, slow_seconds=6.0)) as server:
        yield server.base_url


def test_it_investigates_on_demand_inside_the_api_process_without_redis(
    database_url: str, portal_url: str, dataset: Any
) -> None:
    planted = sorted({cid for ids in dataset.ground_truth.contracts.values() for cid in ids})
    assert planted, "the simulated data set planted no anomalies"
    contract_id = planted[0]
    with TestClient(create_app(alone_settings(database_url, portal_url))) as client:
        resources = client.app.state.resources  # type: ignore[attr-defined]
        assert resources.broker is None and resources.redis is None, "the API opened a broker or Redis"
        assert resources.inline is not None and resources.inline.max_workers == 2

        accepted = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        assert body["created"] is True and body["status"] == "pending"
        assert accepted.headers["Location"] == body["poll_url"]

        def finished() -> dict[str, Any] | None:
            current = client.get(body["poll_url"]).json()
            return current if current["status"] in TERMINAL else None

        done = wait_for(finished, timeout=120, interval=0.2, what="the investigation to finish in the API process")
        assert done["status"] == "completed", done.get("error")
        assert done["contract"]["id"] == contract_id and done["contract"]["source"] == "simulator"
        assert done["findings"], "a contract planted with an anomaly got no finding"
        assert done["summary"] and done["summary_source"] == "template"
        assert done["progress"] == 1.0
        assert resources.inline.in_progress() == []


def test_it_is_ready_on_the_database_alone_with_redis_skipped(database_url: str, portal_url: str) -> None:
    with TestClient(create_app(alone_settings(database_url, portal_url))) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = ReadyOut.model_validate(response.json())
    assert body.status == "ready"
    assert body.checks["redis"].status == "skipped" and body.checks["redis"].ok
    assert "ENABLE_CELERY_WORKERS=false" in body.checks["redis"].detail
    assert body.checks["database"].status == "ok"


def test_it_fails_what_it_cannot_finish_when_the_api_stops(
    database_url: str, slow_portal_url: str, dataset: Any, store: Store
) -> None:
    ids = [int(c["id"]) for c in dataset.contracts[-4:]]
    with TestClient(create_app(alone_settings(database_url, slow_portal_url))) as client:
        inline = client.app.state.resources.inline  # type: ignore[attr-defined]
        inline.max_backlog, inline.grace_seconds = 3, 0.5  # small, so the test sees both limits quickly
        accepted = []
        for contract_id in ids[:3]:
            response = client.post("/api/v1/investigations", json={"contract_id": contract_id},
                                   headers=write_headers())
            assert response.status_code == 202, response.text
            accepted.append(response.json()["id"])

        refused = client.post("/api/v1/investigations", json={"contract_id": ids[3]}, headers=write_headers())
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "unavailable" and refused.headers["Retry-After"] == "30"
        listed = client.get("/api/v1/investigations", params={"contract_id": ids[3]}).json()["items"]
        assert [item["status"] for item in listed] == ["failed"], "a refused request was left open"

        def two_running() -> bool:
            statuses = [client.get(f"/api/v1/investigations/{i}").json()["status"] for i in accepted]
            return statuses.count("running") == 2 and statuses.count("pending") == 1

        wait_for(two_running, timeout=30, interval=0.1, what="two investigations running, the third waiting")
    # The lifespan has ended: nothing it accepted is left pending or running.
    reasons = {}
    for investigation_id in accepted:
        detail = store.get_investigation(investigation_id)
        assert detail is not None
        assert detail.investigation.status == "failed", investigation_id
        reasons[investigation_id] = detail.investigation.error or ""
    assert sum("antes de começar" in r for r in reasons.values()) == 1, reasons
    assert sum("antes do fim" in r for r in reasons.values()) == 2, reasons


def test_it_serves_the_procfile_web_in_production_without_redis_url(
    database_url: str, portal_url: str, dataset: Any
) -> None:
    """The Space's container: gunicorn as the Procfile starts it, ENVIRONMENT=production, no REDIS_URL:
    it starts, is ready, and runs an on-demand request in its own process to a terminal state."""
    from services.dev.embedded import free_port
    from tests.support.processes import start

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "REDIS_", "TEST_REDIS"))}
    env.update(
        ENVIRONMENT="production", ENABLE_CELERY_WORKERS="false", VIGIA_ENV_FILE="", DATABASE_URL=database_url,
        API_KEYS=WRITE_KEY, TRANSPARENCY_API_URL=portal_url, TRANSPARENCY_API_KEY="alone-test-key-1",  # pragma: allowlist secret
        PORT=str(free_port()), WEB_CONCURRENCY="1", LOG_FORMAT="json", PYTHONUNBUFFERED="1",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}",
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    contract_id = int(dataset.contracts[0]["id"])
    with start("web", env) as web:
        wait_for(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, timeout=60,
                 what="gunicorn to answer /health")
        ready = httpx.get(f"{base}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["redis"]["status"] == "skipped"
        accepted = httpx.post(f"{base}/api/v1/investigations", json={"contract_id": contract_id},
                              headers=write_headers(), timeout=10)
        assert accepted.status_code == 202, accepted.text

        def finished() -> dict[str, Any] | None:
            body: dict[str, Any] = httpx.get(f"{base}{accepted.json()['poll_url']}", timeout=10).json()
            return body if body["status"] in TERMINAL else None

        done = wait_for(finished, timeout=120, interval=0.2, what="the investigation to end in gunicorn")
        # It ran in the web process, which is production: the simulator's answer is refused and the
        # investigation ends failed with that reason (the completed path is the first test's).
        assert done["status"] == "failed"
        assert "simulator, which this client refuses" in done["error"]
        messages = [r.get("message", "") for r in web.json_lines()]
        assert any(m.startswith("ENABLE_CELERY_WORKERS=false: no broker opened") for m in messages)
        assert "on-demand investigation failed" in messages
