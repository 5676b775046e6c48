"""GET /api/v1/stats and /api/v1/orgaos reflect what the database holds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shared.domain import RunStatus, Severity
from shared.store.base import Store
from tests.integration.api.conftest import seed_investigation

pytestmark = pytest.mark.integration


def test_it_counts_by_status_indicator_and_orgao_and_shows_last_runs(client: TestClient, store: Store, orgao: str) -> None:
    before = client.get("/api/v1/stats").json()
    seed_investigation(store, orgao, findings=[("split_purchase", Severity.MEDIUM)])
    seed_investigation(store, orgao, complete=False)
    run = store.open_run("vigia.monitoring.monitor_new_contracts", {"lookback_hours": 6})
    store.close_run(run.id, status=RunStatus.SUCCEEDED, counters={"contracts_seen": 12})
    response = client.get("/api/v1/stats")
    assert response.status_code == 200
    after = response.json()
    assert after["investigations_by_orgao"][orgao] == 2
    assert after["findings_by_indicator"].get("split_purchase", 0) == before["findings_by_indicator"].get("split_purchase", 0) + 1
    assert after["investigations_by_status"]["pending"] == before["investigations_by_status"].get("pending", 0) + 1
    runs = [r for r in after["last_runs"] if r["id"] == run.id]
    assert runs and runs[0]["status"] == "succeeded" and runs[0]["counters"] == {"contracts_seen": 12}


def test_it_ranks_orgaos_by_risk(client: TestClient, store: Store, orgao: str) -> None:
    # Scores far above any other test's, so this órgão ranks first whatever else the database holds.
    seed_investigation(store, orgao, risk=4_000_000.0)
    seed_investigation(store, orgao, risk=8_000_000.0)
    response = client.get("/api/v1/orgaos", params={"limit": 50})
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) <= 50
    mine = next(row for row in rows if row["orgao_codigo"] == orgao)
    assert rows.index(mine) == 0
    assert mine["investigations"] == 2
    assert mine["max_risk_score"] == 8_000_000.0
    assert mine["orgao_nome"] == f"Órgão {orgao}"
    assert client.get("/api/v1/orgaos", params={"limit": 51}).status_code == 422
