"""POST /api/v1/investigations: keyed, validated, queued on the real broker, deduplicated while pending."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.dev.embedded import free_port
from shared.domain import InvestigationStatus
from shared.store.base import Store
from tests.integration.api.conftest import (
    OTHER_KEY,
    api_settings,
    queued_tasks,
    remove_queued,
    write_headers,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def created_ids(redis_client: redis.Redis) -> Iterator[set[str]]:
    ids: set[str] = set()
    yield ids
    remove_queued(redis_client, ids)


def _queued_for(redis_client: redis.Redis, investigation_id: str) -> list[dict]:
    return [t for _, t in queued_tasks(redis_client) if t["kwargs"].get("investigation_id") == investigation_id]


def test_it_needs_a_valid_api_key(client: TestClient) -> None:
    missing = client.post("/api/v1/investigations", json={"contract_id": 1})
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert "X-API-Key" in missing.json()["message"]
    wrong = client.post("/api/v1/investigations", json={"contract_id": 1}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    assert "not a valid key" in wrong.json()["message"]


def test_it_queues_a_contract_and_answers_202_with_a_poll_url(
    client: TestClient, store: Store, redis_client: redis.Redis, created_ids: set[str]
) -> None:
    contract_id = random.randint(10**9, 10**12)
    response = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
    assert response.status_code == 202, response.text
    body = response.json()
    created_ids.add(body["id"])
    assert body["created"] is True
    assert body["status"] == "pending"
    assert body["poll_url"] == f"/api/v1/investigations/{body['id']}"
    assert response.headers["location"] == body["poll_url"]
    assert _queued_for(redis_client, body["id"]) == [
        {"task": "vigia.analysis.investigate", "kwargs": {"investigation_id": body["id"]}}
    ]
    detail = store.get_investigation(body["id"])
    assert detail is not None
    assert detail.investigation.contract_id == contract_id
    assert detail.investigation.trigger == "on_demand"
    polled = client.get(body["poll_url"])
    assert polled.status_code == 200 and polled.json()["status"] == "pending"


def test_it_returns_the_pending_investigation_for_the_same_request(
    client: TestClient, redis_client: redis.Redis, created_ids: set[str]
) -> None:
    contract_id = random.randint(10**9, 10**12)
    first = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
    second = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers(OTHER_KEY))
    created_ids.add(first.json()["id"])
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["created"] is False
    assert len(_queued_for(redis_client, first.json()["id"])) == 1


def test_it_queues_an_orgao_window(client: TestClient, store: Store, orgao: str, created_ids: set[str]) -> None:
    request = {"orgao_codigo": orgao, "window_start": "2024-01-01", "window_end": "2024-03-31"}
    first = client.post("/api/v1/investigations", json=request, headers=write_headers())
    assert first.status_code == 202, first.text
    created_ids.add(first.json()["id"])
    again = client.post("/api/v1/investigations", json=request, headers=write_headers())
    assert again.json()["id"] == first.json()["id"]
    other_window = client.post(
        "/api/v1/investigations", json={**request, "window_end": "2024-02-29"}, headers=write_headers()
    )
    created_ids.add(other_window.json()["id"])
    assert other_window.json()["id"] != first.json()["id"]
    detail = store.get_investigation(first.json()["id"])
    assert detail is not None
    assert str(detail.investigation.window_start) == "2024-01-01"
    assert str(detail.investigation.window_end) == "2024-03-31"


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({}, "body", "give contract_id, or orgao_codigo with window_start and window_end"),
        ({"contract_id": 5, "orgao_codigo": "26000"}, "body.orgao_codigo", "give contract_id alone"),
        ({"orgao_codigo": "26000", "window_start": "2024-01-01"}, "body.window_end", "is required"),
        ({"orgao_codigo": "26000", "window_start": "2024-03-01", "window_end": "2024-02-01"}, "body.window_end",
         "must be on or after window_start"),
        ({"orgao_codigo": "26000", "window_start": "2024-01-01", "window_end": "2024-12-31"}, "body.window_end",
         "the window spans 366 days; at most 92 are allowed"),
        ({"orgao_codigo": "26000", "window_start": "2024-02-30", "window_end": "2024-03-01"}, "body.window_start", "date"),
        ({"contract_id": "abc"}, "body.contract_id", "integer"),
        ({"contract_id": 0}, "body.contract_id", "greater than or equal to 1"),
        ({"contract_id": 1, "priority": 1}, "body.priority", "Extra inputs"),
    ],
)
def test_it_names_the_field_of_a_bad_request(
    client: TestClient, body: dict, field: str, problem: str
) -> None:
    response = client.post("/api/v1/investigations", json=body, headers=write_headers())
    assert response.status_code == 422, response.text
    fields = response.json()["fields"]
    assert fields[0]["field"] == field
    assert problem in fields[0]["problem"]


def test_it_answers_422_for_a_body_that_is_not_json(client: TestClient) -> None:
    response = client.post(
        "/api/v1/investigations", content=b'{"contract_id": ', headers={**write_headers(), "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "body"
    assert "not valid JSON" in response.json()["fields"][0]["problem"]


def test_it_fails_the_investigation_and_answers_503_when_the_broker_is_down(
    database_url: str, store: Store
) -> None:
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(api_settings(database_url, dead_broker))
    with TestClient(app, raise_server_exceptions=False) as client:
        contract_id = random.randint(10**9, 10**12)
        response = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
        assert response.status_code == 503
        assert response.json()["error"] == "unavailable"
        assert response.headers["retry-after"] == "10"
        listed = client.get("/api/v1/investigations", params={"contract_id": contract_id, "include_total": True}).json()
        assert listed["total"] == 1
        failed = listed["items"][0]
        assert failed["status"] == InvestigationStatus.FAILED
        assert "could not be queued" in failed["error"]
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"]["ok"] is False
        assert ready.json()["checks"]["redis"]["status"] == "unhealthy"
        assert "Connection" in ready.json()["checks"]["redis"]["detail"]
        assert ready.json()["checks"]["database"]["ok"] is True
