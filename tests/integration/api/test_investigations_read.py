"""GET /api/v1/investigations and /{id} through the real app, real PostgreSQL and real Redis."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shared.domain import InvestigationStatus, Severity, Trigger
from shared.store.base import Store
from tests.integration.api.conftest import seed_investigation

pytestmark = pytest.mark.integration


def _ids(response_json: dict) -> list[str]:
    return [item["id"] for item in response_json["items"]]


def test_it_lists_an_orgaos_investigations_newest_first(client: TestClient, store: Store, orgao: str) -> None:
    seeded = [seed_investigation(store, orgao, risk=0.1 * i) for i in range(3)]
    response = client.get("/api/v1/investigations", params={"orgao": orgao, "include_total": True})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3 and body["total_capped"] is False
    # No count unless asked: a page costs what its rows cost.
    assert client.get("/api/v1/investigations", params={"orgao": orgao}).json()["total"] is None
    assert _ids(body) == [s.investigation.id for s in reversed(seeded)]
    first = body["items"][0]
    assert first["url"] == f"/api/v1/investigations/{first['id']}"
    assert first["status"] == "completed"
    assert first["findings_count"] == 1
    assert first["summary"] == "Resumo de teste."


def test_it_filters_by_indicator_severity_status_trigger_and_risk(client: TestClient, store: Store, orgao: str) -> None:
    low = seed_investigation(store, orgao, risk=0.2, findings=[("benford_deviation", Severity.LOW)])
    high = seed_investigation(store, orgao, risk=0.9, findings=[("sanctioned_supplier", Severity.CRITICAL)])
    pending = seed_investigation(store, orgao, trigger=Trigger.PRIORITY, complete=False)

    def ids(**params: object) -> set[str]:
        response = client.get("/api/v1/investigations", params={"orgao": orgao, **params})
        assert response.status_code == 200, response.text
        return set(_ids(response.json()))

    assert ids(indicator="sanctioned_supplier") == {high.investigation.id}
    assert ids(severity="high") == {high.investigation.id}
    assert ids(severity="low") == {low.investigation.id, high.investigation.id}
    assert ids(status="pending") == {pending.investigation.id}
    assert ids(trigger="priority") == {pending.investigation.id}
    assert ids(min_risk_score=0.5) == {high.investigation.id}
    assert ids(contract_id=low.contract.id) == {low.investigation.id}


def test_it_filters_by_creation_window(client: TestClient, store: Store, orgao: str) -> None:
    first = seed_investigation(store, orgao)
    second = seed_investigation(store, orgao)
    assert first.investigation.created_at and second.investigation.created_at
    start = second.investigation.created_at
    response = client.get("/api/v1/investigations", params={"orgao": orgao, "created_from": start.isoformat()})
    assert _ids(response.json()) == [second.investigation.id]
    before = (start - timedelta(microseconds=1)).isoformat()
    response = client.get("/api/v1/investigations", params={"orgao": orgao, "created_to": before})
    assert _ids(response.json()) == [first.investigation.id]


def test_it_refuses_a_creation_window_that_ends_before_it_starts(client: TestClient) -> None:
    response = client.get(
        "/api/v1/investigations", params={"created_from": "2025-02-01T00:00:00Z", "created_to": "2025-01-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == [{"field": "query.created_to", "problem": "must be at or after created_from"}]


def test_it_sorts_by_risk_score(client: TestClient, store: Store, orgao: str) -> None:
    seeded = [seed_investigation(store, orgao, risk=r) for r in (0.3, 0.9, 0.6)]
    response = client.get("/api/v1/investigations", params={"orgao": orgao, "sort": "-risk_score"})
    assert [i["risk_score"] for i in response.json()["items"]] == [0.9, 0.6, 0.3]
    response = client.get("/api/v1/investigations", params={"orgao": orgao, "sort": "risk_score"})
    assert _ids(response.json())[0] == seeded[0].investigation.id


def test_it_pages_by_number_and_by_cursor_without_repeating_items(client: TestClient, store: Store, orgao: str) -> None:
    seeded = [seed_investigation(store, orgao) for _ in range(5)]
    expected = [s.investigation.id for s in reversed(seeded)]

    pages = [client.get("/api/v1/investigations", params={"orgao": orgao, "page_size": 2, "page": n}).json()
             for n in (1, 2, 3)]
    assert [_ids(p) for p in pages] == [expected[0:2], expected[2:4], expected[4:5]]
    assert pages[0]["page"] == 1 and pages[2]["offset"] == 4

    walked: list[str] = []
    params: dict[str, object] = {"orgao": orgao, "page_size": 2}
    first = client.get("/api/v1/investigations", params=params).json()
    walked += _ids(first)
    # A row created while the client walks the list does not shift the later pages.
    late = seed_investigation(store, orgao)
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/v1/investigations", params={**params, "cursor": cursor}).json()
        assert page["page"] is None
        walked += _ids(page)
        cursor = page["next_cursor"]
    assert walked == expected
    assert late.investigation.id not in walked


def test_it_walks_a_risk_sort_by_cursor_with_unscored_rows_last(client: TestClient, store: Store, orgao: str) -> None:
    seeded = [seed_investigation(store, orgao, risk=r, complete=r is not None) for r in (0.3, None, 0.9, 0.3, None)]
    params: dict[str, object] = {"orgao": orgao, "page_size": 2, "sort": "-risk_score"}
    walked, scores = [], []
    page = client.get("/api/v1/investigations", params=params).json()
    while True:
        walked += _ids(page)
        scores += [item["risk_score"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        page = client.get("/api/v1/investigations", params={**params, "cursor": page["next_cursor"]}).json()
    assert sorted(walked) == sorted(s.investigation.id for s in seeded)
    assert scores == [0.9, 0.3, 0.3, None, None]
    other_sort = client.get("/api/v1/investigations", params={**params, "sort": "risk_score",
                                                               "cursor": client.get("/api/v1/investigations", params=params).json()["next_cursor"]})
    assert other_sort.status_code == 422 and other_sort.json()["fields"][0]["field"] == "query.cursor"


def test_it_sends_deep_numbered_pages_to_the_cursor(client: TestClient) -> None:
    response = client.get("/api/v1/investigations", params={"page": 300, "page_size": 50})
    assert response.status_code == 422
    field = response.json()["fields"][0]
    assert field["field"] == "query.page" and "next_cursor" in field["problem"]
    assert client.get("/api/v1/investigations", params={"page": 201, "page_size": 50}).status_code == 200


def test_it_refuses_a_cursor_with_other_filters_or_with_a_page(client: TestClient, store: Store, orgao: str) -> None:
    for _ in range(3):
        seed_investigation(store, orgao)
    first = client.get("/api/v1/investigations", params={"orgao": orgao, "page_size": 2}).json()
    other = client.get("/api/v1/investigations", params={"orgao": orgao, "page_size": 3, "cursor": first["next_cursor"]})
    assert other.status_code == 422
    assert other.json()["fields"][0]["field"] == "query.cursor"
    both = client.get(
        "/api/v1/investigations", params={"orgao": orgao, "page_size": 2, "cursor": first["next_cursor"], "page": 2}
    )
    assert both.status_code == 422
    assert both.json()["fields"][0] == {"field": "query.page", "problem": "give page or cursor, not both"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 51}, "query.page_size"),
        ({"page_size": 0}, "query.page_size"),
        ({"page": 0}, "query.page"),
        ({"orgao": "26 000"}, "query.orgao"),
        ({"severity": "huge"}, "query.severity"),
        ({"status": "done"}, "query.status"),
        ({"sort": "id"}, "query.sort"),
        ({"min_risk_score": "nan"}, "query.min_risk_score"),
        ({"min_risk_score": "-1"}, "query.min_risk_score"),
        ({"created_from": "yesterday"}, "query.created_from"),
        ({"created_to": "0.5"}, "query.created_to"),
        ({"created_to": "2025-02-30"}, "query.created_to"),
        ({"contract_id": str(2**63)}, "query.contract_id"),
        ({"indicator": "DROP TABLE"}, "query.indicator"),
    ],
)
def test_it_names_the_bad_query_parameter(client: TestClient, params: dict[str, object], field: str) -> None:
    response = client.get("/api/v1/investigations", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [f["field"] for f in body["fields"]] == [field]
    assert body["fields"][0]["problem"]


def test_it_serves_one_investigation_with_findings_contract_and_summary(client: TestClient, store: Store, orgao: str) -> None:
    seeded = seed_investigation(
        store, orgao, risk=0.75, findings=[("direct_award", Severity.HIGH), ("sanctioned_supplier", Severity.CRITICAL)]
    )
    response = client.get(f"/api/v1/investigations/{seeded.investigation.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == seeded.investigation.id
    assert body["status"] == InvestigationStatus.COMPLETED
    assert body["risk_score"] == 0.75
    assert body["summary"] == "Resumo de teste." and body["summary_source"] == "template"
    assert {f["indicator"] for f in body["findings"]} == {"direct_award", "sanctioned_supplier"}
    finding = next(f for f in body["findings"] if f["indicator"] == "direct_award")
    assert finding["id"] > 0 and finding["value"] == 3.5 and finding["threshold"] == 2.0
    assert finding["baseline"] == {"median": 1.2}
    assert body["contract"]["id"] == seeded.contract.id
    assert body["contract"]["source"] == "simulator"
    assert body["contract"]["fornecedor_nome"] == "Fornecedora Ltda"


def test_it_answers_404_for_an_unknown_id_and_422_for_a_malformed_one(client: TestClient) -> None:
    unknown = client.get(f"/api/v1/investigations/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    malformed = client.get("/api/v1/investigations/not-a-uuid")
    assert malformed.status_code == 422
    assert malformed.json()["fields"][0]["field"] == "path.investigation_id"
