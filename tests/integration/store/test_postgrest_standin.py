"""The PostgREST stand-in answers as PostgREST does, so the Supabase backend is tested against the real format.

These requests are raw HTTP (no client library), checking the wire: paths, filters, ``Prefer``
headers, ``Content-Range``, the error JSON and its status codes, and row level security by key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.postgrest import PostgrestStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def http(postgrest: PostgrestStandIn, db: psycopg.Connection[Any]) -> Iterator[httpx.Client]:
    headers = {"apikey": postgrest.service_key, "Authorization": f"Bearer {postgrest.service_key}"}
    with httpx.Client(base_url=f"{postgrest.url}/rest/v1", headers=headers, timeout=10) as client:
        yield client


def run_row(task: str) -> dict[str, Any]:
    return {"task": task, "parameters": {"n": 1}}


def test_it_inserts_and_returns_the_representation(http: httpx.Client) -> None:
    created = http.post("/monitor_runs", json=[run_row("a"), run_row("b")], headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    rows = created.json()
    assert [r["task"] for r in rows] == ["a", "b"] and rows[0]["status"] == "running" and rows[0]["parameters"] == {"n": 1}
    minimal = http.post("/monitor_runs", json=run_row("c"), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b""


def test_it_filters_orders_pages_and_counts(http: httpx.Client) -> None:
    http.post("/monitor_runs", json=[run_row(t) for t in ("a", "b", "c", "d")])
    page = http.get("/monitor_runs", params={"select": "task", "task": "in.(a,b,d)", "order": "task.desc", "limit": "2",
                                             "offset": "1"}, headers={"Prefer": "count=exact"})
    assert page.status_code == 200
    assert page.json() == [{"task": "b"}, {"task": "a"}]
    assert page.headers["Content-Range"] == "1-2/3"
    none = http.get("/monitor_runs", params={"task": "eq.zzz"}, headers={"Prefer": "count=exact"})
    assert none.json() == [] and none.headers["Content-Range"] == "*/0"
    negated = http.get("/monitor_runs", params={"select": "task", "task": "not.in.(a,b)", "order": "task.asc"})
    assert [r["task"] for r in negated.json()] == ["c", "d"]
    nulls = http.get("/monitor_runs", params={"select": "task", "error": "is.null", "finished_at": "is.null"})
    assert len(nulls.json()) == 4
    aliased = http.get("/monitor_runs", params={"select": "name:task,id::text", "task": "eq.a"})
    row = aliased.json()[0]
    assert row["name"] == "a" and isinstance(row["id"], str)


def test_it_upserts_with_on_conflict_by_merging_or_ignoring(http: httpx.Client) -> None:
    sanction = {"lista": "CEIS", "id": "1", "documento": "123", "nome": "A"}
    merge = {"Prefer": "resolution=merge-duplicates,return=representation"}
    assert http.post("/sanctions", params={"on_conflict": "lista,id"}, json=[sanction], headers=merge).status_code == 201
    updated = http.post("/sanctions", params={"on_conflict": "lista,id"}, json=[{**sanction, "nome": "B"}], headers=merge)
    assert updated.json()[0]["nome"] == "B"
    ignored = http.post("/sanctions", params={"on_conflict": "lista,id"}, json=[{**sanction, "nome": "C"}],
                        headers={"Prefer": "resolution=ignore-duplicates,return=representation"})
    assert ignored.status_code == 201 and ignored.json() == []
    assert http.get("/sanctions", params={"select": "nome"}).json() == [{"nome": "B"}]


def test_it_updates_only_the_filtered_rows(http: httpx.Client) -> None:
    http.post("/monitor_runs", json=[run_row("a"), run_row("b")])
    patched = http.patch("/monitor_runs", params={"task": "eq.a"}, json={"error": "x"},
                         headers={"Prefer": "return=representation"})
    assert patched.status_code == 200 and [r["task"] for r in patched.json()] == ["a"]
    assert http.patch("/monitor_runs", params={"task": "eq.zzz"}, json={"error": "y"}).status_code == 204


def test_it_calls_functions_with_named_arguments(http: httpx.Client) -> None:
    run = http.post("/monitor_runs", json=run_row("a"), headers={"Prefer": "return=representation"}).json()[0]
    added = http.post("/rpc/vigia_add_run_counters", json={"p_run_id": run["id"], "p_counters": {"pages": 2}})
    assert added.status_code == 200 and added.json()["counters"] == {"pages": 2}
    stats = http.post("/rpc/vigia_stats", json={})
    assert stats.status_code == 200 and set(stats.json()) == {"investigations_by_status", "findings_by_indicator",
                                                              "investigations_by_orgao"}
    missing = http.post("/rpc/vigia_nothing", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "PGRST202"
    wrong_args = http.post("/rpc/vigia_stats", json={"p_bogus": 1})
    assert wrong_args.status_code == 404 and wrong_args.json()["code"] == "PGRST202"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/no_such_table", {}, 404, "PGRST205"),
        ("GET", "/monitor_runs", {"params": {"bogus": "eq.1"}}, 400, "42703"),
        ("POST", "/monitor_runs", {"json": {"task": "t", "status": "ok"}}, 400, "23514"),
        ("POST", "/monitor_runs", {"json": {"status": "running"}}, 400, "23502"),
        ("POST", "/sanctions", {"json": [{"lista": "CEIS", "id": "1", "documento": "1"}] * 2}, 409, "23505"),
        ("POST", "/rpc/vigia_add_run_counters", {"json": {"p_run_id": 424242, "p_counters": {}}}, 500, "P0002"),
        ("GET", "/monitor_runs", {"params": {"order": "task.sideways"}}, 400, "PGRST100"),
    ],
)
def test_it_answers_errors_with_postgrests_json_and_status(
    http: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = http.request(method, path, **kwargs)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"} and body["code"] == code and body["message"]
    assert response.headers["Proxy-Status"] == f"PostgREST; error={code}"


def test_it_applies_row_level_security_by_key(postgrest: PostgrestStandIn, http: httpx.Client) -> None:
    http.post("/monitor_runs", json=run_row("secret"))
    http.post("/rpc/vigia_create_or_get_investigation",
              json={"p_contract_id": 1, "p_orgao_codigo": "1", "p_trigger": "scheduled", "p_detector_version": "d"})
    anon = {"apikey": postgrest.anon_key, "Authorization": f"Bearer {postgrest.anon_key}"}
    with httpx.Client(base_url=f"{postgrest.url}/rest/v1", headers=anon, timeout=10) as public:
        assert len(public.get("/investigations").json()) == 1
        runs = public.get("/monitor_runs")
        assert runs.status_code == 401 and runs.json()["code"] == "42501"
        write = public.post("/investigations", json={"contract_id": 2, "trigger": "scheduled", "detector_version": "d"})
        assert write.status_code == 401
        assert public.post("/rpc/vigia_stats", json={}).status_code == 401
    forged = http.get("/monitor_runs", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401 and json.loads(forged.content)["code"] == "PGRST301"
