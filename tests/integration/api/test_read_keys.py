"""With API_READ_KEY_REQUIRED reads need a key too; health stays public for the platforms' probes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.integration.api.conftest import api_settings, write_headers

pytestmark = pytest.mark.integration

READ_KEY = "test-read-key-gamma-789"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def keyed_client(database_url: str, redis_url: str) -> Iterator[TestClient]:
    app = create_app(api_settings(database_url, redis_url, api_read_key_required=True, api_read_keys=[READ_KEY]))
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("path", ["/api/v1/investigations", "/api/v1/stats", "/api/v1/orgaos"])
def test_it_needs_a_key_for_reads_when_configured(keyed_client: TestClient, path: str) -> None:
    assert keyed_client.get(path).status_code == 401
    assert keyed_client.get(path, headers=write_headers()).status_code == 200
    assert keyed_client.get(path, headers={"X-API-Key": READ_KEY}).status_code == 200


def test_it_never_lets_a_read_key_write(keyed_client: TestClient) -> None:
    response = keyed_client.post("/api/v1/investigations", json={"contract_id": 1}, headers={"X-API-Key": READ_KEY})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden" and "only read" in response.json()["message"]
    unknown = keyed_client.post("/api/v1/investigations", json={"contract_id": 1}, headers={"X-API-Key": "nope-nope"})
    assert unknown.status_code == 401


def test_it_keeps_health_and_docs_public(keyed_client: TestClient) -> None:
    for path in ("/health", "/health/ready", "/openapi.json", "/docs"):
        assert keyed_client.get(path).status_code == 200, path


def test_it_declares_the_key_in_the_schema(keyed_client: TestClient) -> None:
    schema = keyed_client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert schema["paths"]["/api/v1/investigations"]["get"]["security"] == [{"ApiKey": []}]
    assert schema["paths"]["/api/v1/investigations"]["post"]["security"] == [{"ApiKey": []}]


def test_it_allows_configured_cors_origins_only(database_url: str, redis_url: str) -> None:
    app = create_app(api_settings(database_url, redis_url, cors_origins=["https://painel.example.org"]))
    with TestClient(app) as client:
        allowed = client.options(
            "/api/v1/investigations",
            headers={"Origin": "https://painel.example.org", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "X-API-Key"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://painel.example.org"
        other = client.get("/health", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
