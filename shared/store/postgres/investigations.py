"""Investigations, findings and feedback on PostgreSQL.

State changes are conditional UPDATEs (``... WHERE status IN (allowed)``) whose row count says
whether the change happened, so two workers racing on one investigation cannot both win; the
rules that span tables (create-or-get, replace findings and complete, feedback on a finding of
that investigation) are the SQL functions of the migrations, shared with the Supabase backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.domain import FeedbackLabel, Finding, Severity, Trigger
from shared.store.base import (
    Feedback,
    Investigation,
    InvestigationDetail,
    InvestigationFilter,
    Keyset,
    NotFound,
    Page,
    SortKey,
    StoreError,
)
from shared.store.postgres.core import PostgresCore
from shared.store.records import (
    feedback_from_row,
    finding_to_json,
    investigation_from_row,
    stored_finding_from_row,
)
from shared.store.rows import (
    contract_from_row,
    is_uuid,
)
from shared.store.rules import (
    OPEN_STATUSES,
    TRANSITIONS,
    check_progress,
    refused_transition,
)

_ORDER_BY: dict[str, str] = {
    "-created_at": "created_at DESC, id DESC",
    "created_at": "created_at ASC, id ASC",
    "-risk_score": "risk_score DESC NULLS LAST, id DESC",
    "risk_score": "risk_score ASC NULLS LAST, id ASC",
}


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def investigation_clauses(filters: InvestigationFilter) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.orgao_codigo is not None:
        where.append("orgao_codigo = %(orgao)s")
        params["orgao"] = filters.orgao_codigo
    if filters.indicator is not None:
        where.append("finding_indicators @> ARRAY[%(indicator)s]::text[]")
        params["indicator"] = filters.indicator
    if filters.severity is not None:
        where.append("max_severity_rank >= %(severity_rank)s")
        params["severity_rank"] = Severity(filters.severity).rank
    if filters.status is not None:
        where.append("status = %(status)s")
        params["status"] = str(filters.status)
    if filters.trigger is not None:
        where.append("trigger = %(trigger)s")
        params["trigger"] = str(filters.trigger)
    if filters.created_from is not None:
        where.append("created_at >= %(created_from)s")
        params["created_from"] = filters.created_from
    if filters.created_to is not None:
        where.append("created_at <= %(created_to)s")
        params["created_to"] = filters.created_to
    if filters.min_risk_score is not None:
        where.append("risk_score >= %(min_risk)s")
        params["min_risk"] = float(filters.min_risk_score)
    if filters.contract_id is not None:
        where.append("contract_id = %(contract_id)s")
        params["contract_id"] = int(filters.contract_id)
    return where, params


Query = tuple[str, dict[str, Any]]


def count_query(filters: InvestigationFilter, count_limit: int | None) -> Query:
    """How many rows match; with a limit, at most ``count_limit + 1`` index entries are read (in
    created_at order, so even an unfiltered count walks an index rather than the table)."""
    clauses, params = investigation_clauses(filters)
    if count_limit is None:
        return f"SELECT count(*) AS n FROM investigations{_where(clauses)}", params
    return (
        f"SELECT count(*) AS n FROM (SELECT 1 FROM investigations{_where(clauses)} "
        f"ORDER BY created_at, id LIMIT {int(count_limit) + 1}) AS matching",
        params,
    )


def _one_created_bound(
    filters: InvestigationFilter, after: Keyset, descending: bool
) -> tuple[InvestigationFilter, bool]:
    """Keep one of a created_at bound and the keyset when one implies the other; returns the
    filters and whether the keyset condition is still needed.

    Given both ``created_at <= t`` and ``(created_at, id) < (v, i)``, PostgreSQL keeps both as
    index conditions and may start the scan at the looser one, walking every entry in between
    (measured: 744 buffers for a page 150 000 rows deep instead of 5). A cursor's snapshot time
    is such a bound on every page after the first.
    """
    value = after.value
    if not isinstance(value, datetime):
        return filters, True
    bound = filters.created_to if descending else filters.created_from
    if bound is None:
        return filters, True
    if (bound >= value) if descending else (bound <= value):  # the keyset is the tighter one
        field = "created_to" if descending else "created_from"
        return dataclasses.replace(filters, **{field: None}), True
    return filters, False  # the bound is strictly tighter: it implies the keyset


def page_queries(
    filters: InvestigationFilter, *, sort: str, offset: int, after: Keyset | None, limit: int
) -> list[Query]:
    """The SELECTs of one page, run in order until ``limit`` rows (each takes ``%(limit)s``).

    Created-at sorts and numbered (OFFSET) pages are one query. A risk walk is two: scored rows by
    (risk_score, id), then unscored ones by id (last in both directions), each one index range
    whether the page is the first or a million rows deep.
    """
    if sort not in _ORDER_BY:
        raise StoreError(f"list_investigations: sort must be one of {sorted(_ORDER_BY)}, not {sort!r}")
    if limit < 0 or offset < 0:
        raise StoreError(f"list_investigations: limit and offset must be >= 0 (got {limit}, {offset})")
    if offset and after is not None:
        raise StoreError("list_investigations: give offset or after, not both")
    descending = sort.startswith("-")
    direction, op = ("DESC", "<") if descending else ("ASC", ">")
    keyset_needed = True
    if after is not None and sort.lstrip("-") == "created_at":
        filters, keyset_needed = _one_created_bound(filters, after, descending)
    clauses, params = investigation_clauses(filters)
    if offset or sort.lstrip("-") == "created_at":
        if after is not None and keyset_needed:
            # A row comparison is one range condition on the (created_at, id) index.
            clauses = [*clauses, f"(created_at, id) {op} (%(after_value)s, %(after_id)s::uuid)"]
            params = {**params, "after_value": after.value, "after_id": after.id}
        return [(
            f"SELECT * FROM investigations{_where(clauses)} ORDER BY {_ORDER_BY[sort]} "
            f"LIMIT %(limit)s OFFSET {int(offset)}",
            params,
        )]
    queries: list[Query] = []
    if after is None or after.value is not None:
        scored, scored_params = [*clauses, "risk_score IS NOT NULL"], dict(params)
        if after is not None:
            scored.append(f"(risk_score, id) {op} (%(after_value)s, %(after_id)s::uuid)")
            scored_params.update(after_value=float(after.value), after_id=after.id)  # type: ignore[arg-type]
        queries.append((
            f"SELECT * FROM investigations{_where(scored)} ORDER BY risk_score {direction}, id {direction} "
            "LIMIT %(limit)s",
            scored_params,
        ))
    if filters.min_risk_score is not None:
        return queries  # no unscored row has a score above anything
    unscored, unscored_params = [*clauses, "risk_score IS NULL"], dict(params)
    if after is not None and after.value is None:
        unscored.append(f"id {op} %(after_id)s::uuid")
        unscored_params["after_id"] = after.id
    queries.append((
        f"SELECT * FROM investigations{_where(unscored)} ORDER BY id {direction} LIMIT %(limit)s", unscored_params
    ))
    return queries


class InvestigationsMixin(PostgresCore):
    def create_or_get_investigation(
        self,
        *,
        contract_id: int | None,
        orgao_codigo: str | None,
        trigger: Trigger,
        detector_version: str,
        indicators: Sequence[str] = (),
        window_start: date | None = None,
        window_end: date | None = None,
    ) -> tuple[Investigation, bool]:
        if contract_id is None and not orgao_codigo:
            raise StoreError("create_or_get_investigation: give a contract id or an órgão code")
        detail = f"contract={contract_id}" if contract_id is not None else f"orgao={orgao_codigo}"
        row = self._one(
            "create_or_get_investigation",
            detail,
            "SELECT vigia_create_or_get_investigation(%s, %s, %s, %s, %s::text[], %s, %s) AS r",
            (contract_id, orgao_codigo, str(Trigger(trigger)), detector_version, list(indicators),
             window_start, window_end),
        )
        assert row is not None
        return investigation_from_row(row["r"]["investigation"]), bool(row["r"]["created"])

    def _transition(self, operation: str, investigation_id: str, extra: dict[str, Any]) -> Investigation:
        target, allowed = TRANSITIONS[operation]
        if not is_uuid(investigation_id):
            raise NotFound(f"{operation}({investigation_id}): no such investigation")
        sets = ", ".join(["status = %(target)s", *(f"{column} = %({column})s" for column in extra)])
        with self._op(operation, investigation_id) as conn:
            row = conn.execute(
                f"UPDATE investigations SET {sets} WHERE id = %(id)s AND status = ANY(%(allowed)s::text[]) RETURNING *",
                {"target": str(target), "id": investigation_id, "allowed": [str(s) for s in allowed], **extra},
            ).fetchone()
            if row is None:
                current = conn.execute("SELECT status FROM investigations WHERE id = %s", (investigation_id,)).fetchone()
                raise refused_transition(operation, investigation_id, None if current is None else current["status"])
        return investigation_from_row(row)

    def mark_running(self, investigation_id: str) -> Investigation:
        return self._transition("mark_running", investigation_id, {})

    def fail_investigation(self, investigation_id: str, *, error: str) -> Investigation:
        return self._transition("fail_investigation", investigation_id, {"error": error})

    def cancel_investigation(self, investigation_id: str, *, reason: str) -> Investigation:
        return self._transition("cancel_investigation", investigation_id, {"error": reason})

    def complete_investigation(
        self,
        investigation_id: str,
        *,
        findings: Sequence[Finding],
        risk_score: float | None,
        summary: str | None,
        summary_source: str | None,
    ) -> Investigation:
        if not is_uuid(investigation_id):
            raise NotFound(f"complete_investigation({investigation_id}): no such investigation")
        payload = [finding_to_json(f) for f in findings]
        row = self._one(
            "complete_investigation",
            f"{investigation_id}, {len(payload)} findings",
            "SELECT * FROM vigia_complete_investigation(%s, %s, %s, %s, %s)",
            (investigation_id, Jsonb(payload), risk_score, summary, summary_source),
        )
        assert row is not None
        return investigation_from_row(row)

    def set_progress(self, investigation_id: str, progress: float) -> None:
        value = check_progress(investigation_id, progress)
        if not is_uuid(investigation_id):
            raise NotFound(f"set_progress({investigation_id}): no such investigation")
        with self._op("set_progress", investigation_id) as conn:
            updated = conn.execute(
                "UPDATE investigations SET progress = %s WHERE id = %s AND status = ANY(%s::text[])",
                (value, investigation_id, [str(s) for s in OPEN_STATUSES]),
            ).rowcount
            if not updated and conn.execute("SELECT 1 FROM investigations WHERE id = %s", (investigation_id,)).fetchone() is None:
                raise NotFound(f"set_progress({investigation_id}): no such investigation")

    def get_investigation(self, investigation_id: str) -> InvestigationDetail | None:
        if not is_uuid(investigation_id):
            return None
        with self._op("get_investigation", investigation_id) as conn:
            row = conn.execute("SELECT * FROM investigations WHERE id = %s", (investigation_id,)).fetchone()
            if row is None:
                return None
            findings = conn.execute(
                "SELECT * FROM findings WHERE investigation_id = %s ORDER BY id", (investigation_id,)
            ).fetchall()
            contract = None
            if row["contract_id"] is not None:
                contract = conn.execute("SELECT * FROM contracts WHERE id = %s", (row["contract_id"],)).fetchone()
        return InvestigationDetail(
            investigation=investigation_from_row(row),
            findings=[stored_finding_from_row(f) for f in findings],
            contract=None if contract is None else contract_from_row(contract),
        )

    def list_investigations(
        self,
        filters: InvestigationFilter = InvestigationFilter(),
        *,
        sort: SortKey = "-created_at",
        limit: int = 50,
        offset: int = 0,
        after: Keyset | None = None,
        with_total: bool = True,
        count_limit: int | None = None,
    ) -> Page:
        queries = page_queries(filters, sort=sort, offset=offset, after=after, limit=limit)
        with self._op("list_investigations", "") as conn:
            total = None
            if with_total:
                sql, params = count_query(filters, count_limit)
                total_row = conn.execute(sql, params).fetchone()
                assert total_row is not None
                total = int(total_row["n"])
            rows: list[Any] = []
            for sql, params in queries:  # each part continues where the previous one ran out
                if len(rows) >= limit:
                    break
                rows += conn.execute(sql, {**params, "limit": limit - len(rows)}).fetchall()
        return Page(items=[investigation_from_row(r) for r in rows], total=total, limit=limit, offset=offset)

    def fail_stuck_investigations(self, *, older_than: datetime, reason: str) -> list[str]:
        rows = self._all(
            "fail_stuck_investigations",
            f"older_than={older_than.isoformat()}",
            "UPDATE investigations SET status = 'failed', error = %s "
            "WHERE status = ANY(%s::text[]) AND updated_at < %s RETURNING id",
            (reason, [str(s) for s in OPEN_STATUSES], older_than),
        )
        return sorted(str(r["id"]) for r in rows)

    # -- feedback --------------------------------------------------------------------------------
    def record_feedback(
        self,
        investigation_id: str,
        *,
        label: FeedbackLabel,
        finding_id: int | None = None,
        note: str | None = None,
        author: str | None = None,
    ) -> Feedback:
        if not is_uuid(investigation_id):
            raise NotFound(f"record_feedback({investigation_id}): no such investigation")
        row = self._one(
            "record_feedback",
            investigation_id,
            "SELECT * FROM vigia_record_feedback(%s, %s, %s, %s, %s)",
            (investigation_id, str(FeedbackLabel(label)), finding_id, note, author),
        )
        assert row is not None
        return feedback_from_row(row)
