"""``created_from``/``created_to`` take a plain date: the start of that day, or the whole of it."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from fastapi.testclient import TestClient

from shared.store.base import Store
from tests.integration.api.conftest import seed_investigation

pytestmark = pytest.mark.integration


def _ids(client: TestClient, **params: str) -> set[str]:
    response = client.get("/api/v1/investigations", params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_it_reads_a_plain_date_as_the_whole_of_that_day(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao)
    assert seeded.investigation.created_at is not None
    day = seeded.investigation.created_at.astimezone(UTC).date()
    before, after = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
    mine = seeded.investigation.id
    assert mine in _ids(client, orgao=orgao, created_from=day.isoformat(), created_to=day.isoformat())
    assert mine not in _ids(client, orgao=orgao, created_to=before)
    assert mine not in _ids(client, orgao=orgao, created_from=after)
