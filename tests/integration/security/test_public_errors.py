"""Public error texts (investigations.error, /health/ready, /stats) never name a server or carry a
secret: driver errors quote URLs, host names and addresses, and those fields are public."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.domain import RunStatus
from shared.store.base import Store
from tests.integration.api.conftest import api_settings, store, write_headers  # noqa: F401

pytestmark = pytest.mark.integration

DEAD_BROKER = "redis://:broker-secret-pw@127.0.0.1:1/0"  # nothing listens on port 1
DEAD_DATABASE = "postgresql://vigia:db-secret-pw@db-host.internal.example:1/vigia"  # pragma: allowlist secret


def test_it_stores_a_queueing_failure_without_the_brokers_address(database_url: str) -> None:
    settings = api_settings(database_url, DEAD_BROKER)
    contract_id = random.randint(10**9, 10**12)
    with TestClient(create_app(settings)) as client:
        refused = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
        assert refused.status_code == 503
        listed = client.get("/api/v1/investigations", params={"contract_id": contract_id}).json()
    error = listed["items"][0]["error"]
    assert error.startswith("could not be queued")
    for leak in ("127.0.0.1", "broker-secret-pw", ":1/0"):
        assert leak not in error, error


def test_it_answers_readiness_without_host_names_or_passwords(database_url: str) -> None:
    settings = api_settings(DEAD_DATABASE, DEAD_BROKER, db_statement_timeout_ms=1000)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    for leak in ("db-host.internal.example", "db-secret-pw", "broker-secret-pw", "127.0.0.1"):
        assert leak not in response.text, response.text


def test_it_shows_run_errors_in_stats_without_host_names(database_url: str, store: Store) -> None:  # noqa: F811
    run = store.open_run("vigia.maintenance.health_check", {})
    store.close_run(run.id, status=RunStatus.FAILED,
                    error='connection to server at "db.abcdefgh.supabase.co" (10.9.8.7), port 5432 failed',
                    result={"checks": {"redis": {"detail": "Error 111 connecting to cache.internal.example:6379."}}})
    with TestClient(create_app(api_settings(database_url, DEAD_BROKER))) as client:
        body = client.get("/api/v1/stats").text
    for leak in ("abcdefgh.supabase.co", "10.9.8.7", "cache.internal.example"):
        assert leak not in body
