"""POST /api/v1/investigations/{id}/feedback through the real app and database."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from services.api.auth import key_identity
from shared.store.base import Store
from tests.integration.api.conftest import WRITE_KEY, seed_investigation, write_headers

pytestmark = pytest.mark.integration


def _finding_ids(client: TestClient, investigation_id: str) -> list[int]:
    return [f["id"] for f in client.get(f"/api/v1/investigations/{investigation_id}").json()["findings"]]


def test_it_records_a_label_on_a_finding_with_a_note(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao)
    finding_id = _finding_ids(client, seeded.investigation.id)[0]
    response = client.post(
        f"/api/v1/investigations/{seeded.investigation.id}/feedback",
        json={"label": "false_positive", "finding_id": finding_id, "note": "Dispensa justificada: emergência."},
        headers=write_headers(),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["investigation_id"] == seeded.investigation.id
    assert body["finding_id"] == finding_id
    assert body["label"] == "false_positive"
    assert body["note"] == "Dispensa justificada: emergência."
    assert body["author"] == key_identity(WRITE_KEY)
    assert WRITE_KEY not in response.text


def test_it_records_a_label_on_the_whole_investigation(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao)
    response = client.post(
        f"/api/v1/investigations/{seeded.investigation.id}/feedback", json={"label": "true_positive"}, headers=write_headers()
    )
    assert response.status_code == 201
    assert response.json()["finding_id"] is None


def test_it_answers_404_for_an_unknown_investigation_or_a_finding_of_another(
    client: TestClient, store: Store, orgao: str
) -> None:
    unknown = client.post(f"/api/v1/investigations/{uuid.uuid4()}/feedback", json={"label": "uncertain"},
                          headers=write_headers())
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    one, other = seed_investigation(store, orgao), seed_investigation(store, orgao)
    foreign = _finding_ids(client, other.investigation.id)[0]
    response = client.post(
        f"/api/v1/investigations/{one.investigation.id}/feedback",
        json={"label": "uncertain", "finding_id": foreign},
        headers=write_headers(),
    )
    assert response.status_code == 404
    assert str(foreign) in response.json()["message"]


def test_it_needs_a_key_and_a_known_label(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(store, orgao)
    url = f"/api/v1/investigations/{seeded.investigation.id}/feedback"
    assert client.post(url, json={"label": "uncertain"}).status_code == 401
    bad = client.post(url, json={"label": "probably"}, headers=write_headers())
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "body.label"
    nul = client.post(url, json={"label": "uncertain", "note": "a\u0000b"}, headers=write_headers())
    assert nul.status_code == 422
    assert nul.json()["fields"][0]["field"] == "body.note"
    assert "control characters" in nul.json()["fields"][0]["problem"]
