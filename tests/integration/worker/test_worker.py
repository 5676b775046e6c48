"""A real Celery worker process, on real Redis, runs a task sent through the broker."""

from __future__ import annotations

import pytest

from tests.support.processes import start

pytestmark = pytest.mark.integration


def test_it_runs_a_task_sent_through_the_real_broker(service_env: dict[str, str]) -> None:
    from services.celery_app import create_app
    from shared.config import Settings

    with start("worker", service_env) as worker:
        worker.wait_for_line("worker ready", timeout=60)
        client = create_app(Settings(redis_url=service_env["REDIS_URL"]), process="cli")
        result = client.send_task("vigia.system.ping", kwargs={"payload": "hello"})
        value = result.get(timeout=30)
        assert value["payload"] == "hello"
        assert value["pid"] != 0
        worker.wait_for_line('"task_name": "vigia.system.ping"', timeout=10)
        records = [r for r in worker.json_lines() if r.get("message") == "ping received"]
        assert records and records[0]["task_id"] == result.id
