"""End to end: POST /api/v1/investigations, a real worker (the Procfile's) runs
``vigia.analysis.investigate`` against the Portal simulator over HTTP, and polling the returned
URL shows the completed investigation with its findings, contract and summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings
from tests.integration.api.conftest import api_settings, write_headers
from tests.support.processes import RedisDb, redis_db, start, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def simulator() -> Iterator[Any]:
    from shared.portal.simulator.dataset import generate_dataset
    from shared.portal.simulator.server import running_simulator

    dataset = generate_dataset(seed=3, scale=0.04)
    with running_simulator(dataset) as server:
        yield server, dataset


@pytest.fixture
def on_demand_settings(database_url: str, redis_url: str) -> Iterator[Settings]:
    broker = redis_db(redis_url, RedisDb.API_ON_DEMAND)  # no other test's worker takes these tasks
    yield api_settings(database_url, broker)
    client = redis.Redis.from_url(broker)
    client.flushdb()
    client.close()


def test_it_completes_an_on_demand_contract_investigation_through_a_real_worker(
    service_env: dict[str, str], on_demand_settings: Settings, simulator: Any
) -> None:
    server, dataset = simulator
    env = {**service_env, "REDIS_URL": on_demand_settings.broker_url,
           "TRANSPARENCY_API_URL": server.base_url, "WORKER_CONCURRENCY": "1"}
    planted = sorted({cid for ids in dataset.ground_truth.contracts.values() for cid in ids})
    assert planted, "the simulated data set planted no anomalies"
    contract_id = planted[0]
    with start("worker", env) as worker, TestClient(create_app(on_demand_settings)) as client:
        worker.wait_for_line("worker ready", timeout=120)
        accepted = client.post("/api/v1/investigations", json={"contract_id": contract_id}, headers=write_headers())
        assert accepted.status_code == 202, accepted.text
        poll_url = accepted.json()["poll_url"]

        def finished() -> dict[str, Any] | None:
            body = client.get(poll_url).json()
            return body if body["status"] in ("completed", "failed", "cancelled") else None

        body = wait_for(finished, timeout=120, interval=0.2, what="the on-demand investigation to finish")
        assert body["status"] == "completed", body.get("error")
        assert body["contract"]["id"] == contract_id
        assert body["contract"]["source"] == "simulator"
        assert body["findings"], "a contract planted with an anomaly got no finding"
        assert body["summary"] and body["summary_source"] == "template"
        assert body["progress"] == 1.0
