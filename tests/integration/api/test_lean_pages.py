"""The list's JSON written by PostgreSQL is, byte for byte, what the pydantic models write for the
same rows, on both store backends.

On PostgreSQL the route serves :mod:`shared.store.postgres.pages`' text; on Supabase (the
PostgREST stand-in) PostgREST answers rows and the models serialise them. Either way the body must
equal ``InvestigationPage`` built from ``PostgresStore.list_investigations`` of the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic_core import to_json

from services.api.app import create_app
from services.api.schemas.investigations import InvestigationPage, from_investigation
from shared.config import Settings
from shared.domain import InvestigationStatus, Trigger
from shared.store.base import InvestigationFilter, SortKey, Store
from shared.store.postgres.pages import _float, _timestamp
from tests.integration.api.conftest import api_settings
from tests.support.databases import temporary_database
from tests.support.postgrest import running_postgrest

pytestmark = pytest.mark.integration

# Every shape a value takes: nulls, integral and fractional floats, a real, timestamps with and
# without microseconds, dates, arrays, text needing escapes, an error holding a server address.
ROWS: list[dict[str, Any]] = [
    {"contract_id": 901, "status": "pending", "progress": 0, "created_at": "2026-01-02T03:04:05Z",
     "updated_at": "2026-01-02T03:04:05Z"},
    {"contract_id": None, "status": "completed", "progress": 0.3, "risk_score": 12.345,
     "window_start": "2025-01-01", "window_end": "2025-03-31", "findings_count": 2,
     "finding_indicators": ["price_outlier", "late_publication"], "max_severity": "high", "max_severity_rank": 2,
     "summary": 'Órgão "x"\n\tcom \\ barra\x01 e ç', "summary_source": "template", "indicators": ["price_outlier"],
     "created_at": "2026-01-03T00:00:00.123456Z", "started_at": "2026-01-03T00:00:00.5Z",
     "finished_at": "2026-01-03T00:01:00.000001Z", "updated_at": "2026-01-03T00:01:00.000001Z"},
    {"contract_id": 903, "status": "completed", "progress": 1, "risk_score": 100.0, "findings_count": 1,
     "created_at": "2026-01-04T10:00:00Z", "updated_at": "2026-01-04T10:00:00Z"},
    {"contract_id": 904, "status": "completed", "progress": 1, "risk_score": 1 / 3,
     "created_at": "2026-01-05T10:00:00.1Z", "updated_at": "2026-01-05T10:00:00.1Z"},
    {"contract_id": 905, "status": "completed", "progress": 1, "risk_score": 0.0,
     "created_at": "2026-01-06T10:00:00Z", "updated_at": "2026-01-06T10:00:00Z"},
    {"contract_id": 906, "status": "failed", "progress": 0.25,
     "error": "could not reach postgresql://vigia:s3cret@db.internal.example:5432/vigia (timeout)",  # pragma: allowlist secret
     "created_at": "2026-01-07T10:00:00Z", "updated_at": "2026-01-07T10:00:00Z"},
]


def _insert(database_url: str, orgao: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for n, row in enumerate(ROWS):
            values = {"orgao_codigo": orgao, "trigger": "scheduled", "detector_version": f"lean-{n}", **row}
            columns = ", ".join(values)
            marks = ", ".join(f"%({name})s" for name in values)
            conn.execute(f"INSERT INTO investigations ({columns}) VALUES ({marks})", values)


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of this module's own (conftest's ``store`` opens it too): its rows stay out of
    the other tests' counts."""
    with temporary_database(postgres_admin_url, prefix="vigia_lean", migrated=True) as url:
        yield url


@pytest.fixture(scope="module")
def seeded(database_url: str) -> str:
    orgao = "71717"
    _insert(database_url, orgao)
    return orgao


@pytest.fixture(scope="module", params=["postgres", "supabase"])
def backend_client(request: pytest.FixtureRequest, database_url: str, redis_url: str) -> Iterator[TestClient]:
    settings: Settings
    if request.param == "postgres":
        settings = api_settings(database_url, redis_url)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            assert client.app.state.resources.json_pages is not None  # type: ignore[attr-defined]
            yield client
        return
    with running_postgrest(database_url) as server:
        settings = api_settings(None, redis_url, supabase_url=server.url,  # type: ignore[arg-type]
                                supabase_service_role_key=server.service_key)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            assert client.app.state.resources.json_pages is None  # type: ignore[attr-defined]
            yield client


def _expected(store: Store, orgao: str, sort: SortKey, page_size: int, body: dict[str, Any]) -> bytes:
    rows = store.list_investigations(InvestigationFilter(orgao_codigo=orgao), sort=sort, limit=page_size,
                                     with_total=False)
    return InvestigationPage(
        items=[from_investigation(item) for item in rows.items], total=None, total_capped=False, page=1,
        page_size=page_size, offset=0, next_cursor=body["next_cursor"],
    ).model_dump_json().encode()


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "-risk_score", "risk_score"])
@pytest.mark.parametrize("page_size", [50, 3])
def test_it_serves_the_bytes_the_pydantic_models_write_for_the_same_rows(
    backend_client: TestClient, store: Store, seeded: str, sort: SortKey, page_size: int
) -> None:
    response = backend_client.get("/api/v1/investigations", params={"orgao": seeded, "sort": sort,
                                                                      "page_size": page_size})
    assert response.status_code == 200, response.text
    assert response.content == _expected(store, seeded, sort, page_size, response.json())
    assert len(response.json()["items"]) == min(page_size, len(ROWS))


def test_it_masks_the_error_text_on_the_lean_path_too(backend_client: TestClient, seeded: str) -> None:
    items = backend_client.get("/api/v1/investigations", params={"orgao": seeded, "status": "failed"}).json()["items"]
    assert len(items) == 1 and "s3cret" not in items[0]["error"] and "db.internal.example" not in items[0]["error"]


def test_it_walks_the_same_pages_by_cursor_on_both_paths(backend_client: TestClient, store: Store, seeded: str) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"orgao": seeded, "sort": "-risk_score", "page_size": 2}
    while True:
        body = backend_client.get("/api/v1/investigations", params=params).json()
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    everything = store.list_investigations(InvestigationFilter(orgao_codigo=seeded), sort="-risk_score", limit=50)
    assert seen == [item.id for item in everything.items]


FLOATS = [0.0, 1.0, 0.5, 0.1, 12.345, 1 / 3, 100.0, 2.5e-4, 1e-4, 123456.789, 99999999999999.9, 1e15 - 1]


@pytest.mark.parametrize("value", FLOATS)
def test_it_writes_a_float_as_pydantic_does(database_url: str, value: float) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT {_float('x')} FROM (SELECT %s::float8 AS x) AS v", (value,)).fetchone()
    assert row is not None and row[0].encode() == to_json(value)


@pytest.mark.parametrize("value", [1e-5, 1.5e-7, 1e16, 1e300])
def test_it_writes_a_float_outside_the_plain_range_as_the_same_number(database_url: str, value: float) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT {_float('x')} FROM (SELECT %s::float8 AS x) AS v", (value,)).fetchone()
    assert row is not None and json.loads(row[0]) == value


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_it_writes_a_float_that_json_cannot_hold_as_null(database_url: str, value: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT {_float('x')} FROM (SELECT %s::float8 AS x) AS v", (value,)).fetchone()
    # pydantic models write non-finite floats as null (their default ser_json_inf_nan)
    assert row is not None and row[0] == "null" == to_json(float(value), inf_nan_mode="null").decode()


@pytest.mark.parametrize("micro", [0, 1, 500000, 123456, 999999])
def test_it_writes_a_timestamp_as_pydantic_does(database_url: str, micro: int) -> None:
    moment = datetime(2026, 2, 3, 4, 5, 6, micro, tzinfo=UTC)
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TIME ZONE 'America/Sao_Paulo'")  # the text is UTC whatever the session says
        row = conn.execute(f"SELECT {_timestamp('t')} FROM (SELECT %s::timestamptz AS t) AS v", (moment,)).fetchone()
    assert row is not None and row[0].encode() == to_json(moment)


def test_it_serves_a_detail_with_the_bytes_the_pydantic_models_write(
    backend_client: TestClient, store: Store, database_url: str, seeded: str
) -> None:
    from services.api.schemas.investigations import from_detail
    from shared.domain import Contract, Finding, Severity, Source

    other = "71718"  # the list tests count the seeded órgão's rows
    contract = Contract(id=990001, source=Source.SIMULATOR, numero="7/2026", objeto="Obra \"grande\"",
                        orgao_codigo=other, valor_inicial=Decimal("1234.50"), valor_final=Decimal("0.10"),
                        data_assinatura=date(2026, 1, 2))
    store.upsert_contracts([contract])
    investigation, _ = store.create_or_get_investigation(
        contract_id=contract.id, orgao_codigo=other, trigger=Trigger.SCHEDULED, detector_version="lean-detail")
    finding = Finding(indicator="price_outlier", severity=Severity.HIGH, score=0.75, subject_type="contract",
                      subject_id=str(contract.id), explanation="Preço 3× a mediana.", contract_id=contract.id,
                      orgao_codigo=other, value=3.0, threshold=2.0, baseline={"median": 1.5, "n": 12},
                      fields={"valor_inicial": "1234.50"})
    store.complete_investigation(investigation.id, findings=[finding], risk_score=7.5, summary="Um sinal.",
                                 summary_source="template")
    for investigation_id in (investigation.id, store.list_investigations(
            InvestigationFilter(orgao_codigo=seeded, status=InvestigationStatus.FAILED)).items[0].id):
        response = backend_client.get(f"/api/v1/investigations/{investigation_id}")
        assert response.status_code == 200, response.text
        detail = store.get_investigation(investigation_id)
        assert detail is not None
        assert response.content == from_detail(detail).model_dump_json().encode()
    missing = backend_client.get("/api/v1/investigations/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
