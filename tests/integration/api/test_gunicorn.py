"""The web process as the Procfile starts it: gunicorn, uvicorn workers, JSON logs, graceful stop."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.integration.api.conftest import WebServer
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def test_it_serves_the_api_and_is_ready(web_server: WebServer) -> None:
    ready = httpx.get(f"{web_server.base_url}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    docs = httpx.get(f"{web_server.base_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_it_logs_every_line_as_json_even_for_a_path_with_quotes(web_server: WebServer) -> None:
    response = httpx.get(f'{web_server.base_url}/api/v1/investigations/%22quoted%22%20%7Bx%7D', timeout=10)
    assert response.status_code == 422
    request_id = response.headers["x-request-id"]

    def access_record() -> dict | None:
        for record in web_server.process.json_lines():
            if record.get("logger") == "vigia.api.access" and record.get("request_id") == request_id:
                return record
        return None

    record = wait_for(access_record, timeout=10, what="the access line of the request")
    assert record["path"] == '/api/v1/investigations/"quoted" {x}'
    assert record["status"] == 422 and record["method"] == "GET" and record["process"] == "web"
    lines = [line for line in web_server.process.lines if line.strip()]
    assert lines, "gunicorn printed nothing"
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    # Exactly one access line per request: gunicorn's and uvicorn's own access logs are off.
    assert sum(1 for r in web_server.process.json_lines() if r.get("request_id") == request_id
               and r.get("logger") == "vigia.api.access") == 1
    assert not [r for r in web_server.process.json_lines() if r.get("logger") in ("gunicorn.access", "uvicorn.access")]


def test_it_closes_its_connections_and_exits_cleanly_on_sigterm(web_server: WebServer) -> None:
    # Last in this module: it stops the shared server.
    web_server.process.signal(signal.SIGTERM)
    code = web_server.process.proc.wait(timeout=30)
    assert code == 0
    messages = [r.get("message", "") for r in web_server.process.json_lines()]
    assert "API resources closed" in messages
