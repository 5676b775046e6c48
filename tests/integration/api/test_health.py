"""/health and /health/ready against the real Redis and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shared.domain import RunStatus
from shared.store.base import Store

pytestmark = pytest.mark.integration


def test_it_is_live(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_is_ready_with_redis_and_the_database_and_reports_the_last_health_check(
    client: TestClient, store: Store
) -> None:
    run = store.open_run("vigia.maintenance.health_check", {})
    store.close_run(
        run.id, status=RunStatus.SUCCEEDED, result={"status": "degraded", "checks": {"portal": {"ok": False}}}
    )
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"] | {"latency_ms": None} == {
        "ok": True, "status": "ok", "detail": "PING answered", "latency_ms": None
    }
    assert body["checks"]["database"]["ok"] is True and body["checks"]["database"]["status"] == "ok"
    assert body["last_health_check"]["status"] == "degraded"
    assert body["last_health_check"]["checks"] == {"portal": {"ok": False}}
