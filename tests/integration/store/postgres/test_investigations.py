"""The investigation list at scale: PostgreSQL's own plan for every list query reads an index.

200 000 investigations are enough that reading the table costs the planner less than walking an
index that does not fit the query, so a missing index shows up as a Seq Scan here. The planner
settings are the server's defaults (nothing is switched off); the statements are exactly those
the PostgreSQL store runs (:func:`page_queries`, :func:`count_query`), with the API's filters,
each sort, a first page, a keyset page deep in the walk, a numbered page near the OFFSET bound
and the capped count.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.domain import InvestigationStatus, Severity, Trigger
from shared.store.base import InvestigationFilter, Keyset
from shared.store.postgres.investigations import count_query, page_queries
from tests.support.databases import temporary_database

pytestmark = pytest.mark.integration

ROWS = 200_000
# Filters whose pages follow an index in the sort's order at any depth. The others (an indicator,
# a severity, a status or trigger sorted by risk...) narrow a walk of the sort's index or sort
# their own index's matches: no table scan, but a page's cost depends on how many rows match.
WALKED_BY_THEIR_INDEX = {
    "created": {"none", "orgao", "status", "trigger", "created", "contract"},
    "risk": {"none", "orgao", "contract"},
}
# Buffers one keyset page may touch: its index pages and the heap pages of its 50 rows, plus the
# rows a filter skips (the sparsest filter here keeps 1 row in 10).
MAX_PAGE_BLOCKS = 600
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SORTS = ["-created_at", "created_at", "-risk_score", "risk_score"]
FILTERS: dict[str, InvestigationFilter] = {
    "none": InvestigationFilter(),
    "orgao": InvestigationFilter(orgao_codigo="26017"),
    "indicator": InvestigationFilter(indicator="late_publication"),
    "severity": InvestigationFilter(severity=Severity.HIGH),
    "status": InvestigationFilter(status=InvestigationStatus.PENDING),
    "trigger": InvestigationFilter(trigger=Trigger.ON_DEMAND),
    "contract": InvestigationFilter(contract_id=123_456),
    "created": InvestigationFilter(created_from=NOW - timedelta(days=3), created_to=NOW - timedelta(days=1)),
    "min_risk": InvestigationFilter(min_risk_score=0.9),
}


@pytest.fixture(scope="module")
def scale_db(postgres_admin_url: str) -> Iterator[psycopg.Connection[Any]]:
    with temporary_database(postgres_admin_url, prefix="vigia_plans", migrated=True) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            # The embedded server runs with synchronous_commit=off, and VACUUM cannot mark a page
            # all-visible while its rows' commit may still be lost: commit this one to disk.
            conn.execute("SET synchronous_commit = on")
            conn.execute(
                """
                INSERT INTO investigations (contract_id, orgao_codigo, trigger, status, detector_version, risk_score,
                                            findings_count, finding_indicators, max_severity, max_severity_rank,
                                            created_at)
                SELECT g, (26000 + mod(g, 50))::text,
                       CASE WHEN mod(g, 97) = 0 THEN 'on_demand' ELSE 'scheduled' END,
                       CASE WHEN mod(g, 10) = 0 THEN 'pending' ELSE 'completed' END,
                       'plans',
                       CASE WHEN mod(g, 10) = 0 THEN NULL ELSE mod(g, 1000) / 1000.0 END,
                       CASE WHEN mod(g, 10) = 0 THEN 0 ELSE 1 END,
                       CASE WHEN mod(g, 10) = 0 THEN '{}'::text[]
                            ELSE ARRAY[(ARRAY['price_outlier', 'late_publication', 'direct_award_high_value',
                                              'benford_deviation'])[mod(g, 4) + 1]] END,
                       CASE WHEN mod(g, 10) = 0 THEN NULL ELSE (ARRAY['low', 'medium', 'high', 'critical'])[mod(g, 4) + 1] END,
                       CASE WHEN mod(g, 10) = 0 THEN NULL ELSE mod(g, 4) END,
                       %s - g * interval '1 minute'
                FROM generate_series(1, %s) AS g
                """,
                (NOW, ROWS),
            )
            # As autovacuum leaves a table at rest: the visibility map lets index-only scans skip it.
            conn.execute("VACUUM ANALYZE investigations")
            yield conn


def _seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "investigations":
        found.append(plan.get("Filter", "(no filter)"))
    for child in plan.get("Plans", []):
        found += _seq_scans(child)
    return found


def _blocks(plan: dict[str, Any]) -> int:
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


def _explain(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any], *, analyze: bool = False) -> dict[str, Any]:
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    row = conn.execute(f"EXPLAIN ({options}) " + sql, params).fetchone()
    assert row is not None
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return plan[0]["Plan"]  # type: ignore[no-any-return]


def _deep_keyset(conn: psycopg.Connection[Any], sort: str, *, unscored: bool = False) -> Keyset:
    """The keyset of a row about 150 000 rows into the walk (or among the unscored rows)."""
    row = conn.execute(
        "SELECT id::text, created_at, risk_score FROM investigations WHERE contract_id = %s", (150_001 if not unscored else 150_000,)
    ).fetchone()
    assert row is not None
    return Keyset(value=row[1] if "created" in sort else row[2], id=row[0])


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("name", list(FILTERS))
def test_it_reads_every_list_page_through_an_index(scale_db: psycopg.Connection[Any], name: str, sort: str) -> None:
    base = FILTERS[name]
    snapshot = InvestigationFilter(**{**{f: getattr(base, f) for f in base.__slots__}, "created_to": base.created_to or NOW})
    pages: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "first page": page_queries(base, sort=sort, offset=0, after=None, limit=50),
        "deep cursor": page_queries(snapshot, sort=sort, offset=0, after=_deep_keyset(scale_db, sort), limit=50),
        "numbered page at the bound": page_queries(base, sort=sort, offset=9_950, after=None, limit=50),
    }
    if "risk" in sort:
        pages["cursor among unscored"] = page_queries(
            snapshot, sort=sort, offset=0, after=_deep_keyset(scale_db, sort, unscored=True), limit=50
        )
    problems = []
    for what, queries in pages.items():
        for sql, params in queries:
            scans = _seq_scans(_explain(scale_db, sql, {**params, "limit": 50}))
            if scans:
                problems.append(f"{what}: Seq Scan on investigations ({scans[0]}) in {sql}")
            if "cursor" in what and name in WALKED_BY_THEIR_INDEX["risk" if "risk" in sort else "created"]:
                # An index scan can still walk most of the index when the scan starts at the wrong
                # bound; a page deep in the walk must cost what the first page costs.
                blocks = _blocks(_explain(scale_db, sql, {**params, "limit": 50}, analyze=True))
                if blocks > MAX_PAGE_BLOCKS:
                    problems.append(f"{what}: {blocks} buffers read for one page in {sql}")
    assert problems == []


@pytest.mark.parametrize("name", list(FILTERS))
def test_it_counts_a_capped_total_through_an_index(scale_db: psycopg.Connection[Any], name: str) -> None:
    sql, params = count_query(FILTERS[name], 10_000)
    assert _seq_scans(_explain(scale_db, sql, params)) == []


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize(("name", "sort", "offset"), [
    ("indicator", "-created_at", 9_950), ("indicator", "created_at", 9_950), ("none", "-risk_score", 9_950),
    ("orgao", "-created_at", 3_950),  # an órgão has 4 000 rows here
])
def test_a_numbered_page_skips_its_offset_in_an_index_alone(scale_db: psycopg.Connection[Any], name: str,
                                                              sort: str, offset: int) -> None:
    ((sql, params),) = page_queries(FILTERS[name], sort=sort, offset=offset, after=None, limit=50)
    plan = _explain(scale_db, sql, {**params, "limit": 50}, analyze=True)
    skipping = [node for node in _nodes(plan) if node["Node Type"] == "Index Only Scan"]
    assert skipping, f"no index-only scan in {sql}"
    assert skipping[0]["Actual Rows"] >= offset + 50 and skipping[0]["Heap Fetches"] == 0, skipping[0]
    table_reads = [node for node in _nodes(plan) if node["Node Type"] in {"Index Scan", "Seq Scan", "Bitmap Heap Scan"}]
    # Only the page's own 50 rows are read from the table, by id.
    assert all(node.get("Index Name") == "investigations_pkey" for node in table_reads), table_reads
    assert sum(node["Actual Rows"] * node.get("Actual Loops", 1) for node in table_reads) == 50


def test_it_would_see_a_seq_scan_where_no_index_fits(scale_db: psycopg.Connection[Any]) -> None:
    """The check itself can fail: a filter on an unindexed column reads the table."""
    plan = _explain(scale_db, "SELECT * FROM investigations WHERE summary = %(s)s ORDER BY progress LIMIT 50", {"s": "x"})
    assert _seq_scans(plan) != []
