"""The access line is one valid JSON object whatever the path; bodies over the limit get 413."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings
from shared.logging import JsonFormatter, RedactingFilter


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("web"))
    handler.addFilter(RedactingFilter([]))
    logger = logging.getLogger("vigia.api.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@pytest.fixture
def client() -> TestClient:
    # No lifespan: these requests never reach a route that needs the database.
    return TestClient(create_app(Settings(_env_file=None, environment="test", api_max_body_bytes=1024)))


def test_it_logs_one_json_access_line_for_a_path_with_quotes_and_newlines(
    client: TestClient, access_lines: io.StringIO
) -> None:
    response = client.get('/api/v1/say%22hi%22%0A%7B%22x%22:1%7D?q="a"', headers={"X-Request-ID": "req-42"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-42"
    lines = access_lines.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["path"] == '/api/v1/say"hi"\n{"x":1}'
    assert record["query"] == "q=%22a%22" or record["query"] == 'q="a"'
    assert record["status"] == 404
    assert record["method"] == "GET"
    assert record["request_id"] == "req-42"
    assert record["logger"] == "vigia.api.access"
    assert isinstance(record["duration_ms"], float)


def test_it_replaces_a_request_id_that_could_forge_log_content(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": 'x" "level": "CRITICAL'})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != 'x" "level": "CRITICAL'
    assert len(response.headers["x-request-id"]) == 32


def test_it_answers_413_for_a_declared_body_over_the_limit(client: TestClient) -> None:
    response = client.post("/api/v1/investigations", content=b"{" + b" " * 2000 + b"}",
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "payload_too_large"
    assert "1024 bytes" in body["message"]
    assert body["fields"][0]["field"] == "body"


def test_it_answers_413_for_a_streamed_body_that_passes_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 512

    response = client.post("/api/v1/investigations", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_it_answers_400_for_a_content_length_that_is_not_a_number(client: TestClient) -> None:
    response = client.post("/api/v1/investigations", content=b"{}", headers={"content-length": "lots"})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "header.content-length"


def test_it_answers_unknown_paths_and_methods_in_the_json_error_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = client.delete("/health")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


def test_it_refuses_a_response_larger_than_the_cap_with_a_reason() -> None:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse, StreamingResponse

    from services.api.middleware import ResponseSizeLimitMiddleware

    app = FastAPI()

    @app.get("/big")
    def big() -> PlainTextResponse:
        return PlainTextResponse("x" * 5000)

    @app.get("/small")
    def small() -> PlainTextResponse:
        return PlainTextResponse("x" * 100)

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"y" * 1000] * 10), media_type="text/plain")

    app.add_middleware(ResponseSizeLimitMiddleware, max_bytes=2048)
    with TestClient(app) as client:
        refused = client.get("/big")
        assert refused.status_code == 500 and refused.json()["error"] == "response_too_large"
        assert "2048 bytes" in refused.json()["message"]
        assert client.get("/small").text == "x" * 100
        assert len(client.get("/stream").content) <= 2048


def test_it_gives_each_request_its_own_id(client: TestClient) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
