"""Investigations, findings and feedback on PostgreSQL.

State changes are conditional UPDATEs (``... WHERE status IN (allowed)``) whose row count says
whether the change happened, so two workers racing on one investigation cannot both win; the
rules that span tables (create-or-get, replace findings and complete, feedback on a finding of
that investigation) are the SQL functions of the migrations, which the front calls for both backends.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from shared.store import commands
from shared.store.models import InvestigationFilter, Keyset
from shared.store.postgres.core import PostgresCore, sql_conditions, where

_ORDER_BY: dict[str, str] = {
    "-created_at": "created_at DESC, id DESC",
    "created_at": "created_at ASC, id ASC",
    "-risk_score": "risk_score DESC NULLS LAST, id DESC",
    "risk_score": "risk_score ASC NULLS LAST, id ASC",
}


def investigation_clauses(filters: InvestigationFilter) -> tuple[list[str], dict[str, Any]]:
    return sql_conditions(commands.investigation_conditions(filters))


Query = tuple[str, dict[str, Any]]


def count_query(filters: InvestigationFilter, count_limit: int | None) -> Query:
    """How many rows match; with a limit, at most ``count_limit + 1`` index entries are read (in
    created_at order, so even an unfiltered count walks an index rather than the table)."""
    clauses, params = investigation_clauses(filters)
    if count_limit is None:
        return f"SELECT count(*) AS n FROM investigations{where(clauses)}", params
    return (
        f"SELECT count(*) AS n FROM (SELECT 1 FROM investigations{where(clauses)} "
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
        if not offset:
            return [(f"SELECT * FROM investigations{where(clauses)} ORDER BY {_ORDER_BY[sort]} LIMIT %(limit)s", params)]
        # A numbered page skips ``offset`` rows: skip them in an index alone (an index-only scan
        # of ids, with the indicators in the created_at index), then read the page's rows by id.
        # Measured at a million rows, warm: page 40 by indicator 15.8 ms read whole, 2.8–3.5 ms so;
        # pages 1–40 sorted by risk 7.7 ms on average, 1.5 ms so.
        return [(
            f"SELECT * FROM investigations WHERE id IN (SELECT id FROM investigations{where(clauses)} "
            f"ORDER BY {_ORDER_BY[sort]} LIMIT %(limit)s OFFSET {int(offset)}) ORDER BY {_ORDER_BY[sort]}",
            params,
        )]
    queries: list[Query] = []
    if after is None or after.value is not None:
        scored, scored_params = [*clauses, "risk_score IS NOT NULL"], dict(params)
        if after is not None:
            scored.append(f"(risk_score, id) {op} (%(after_value)s, %(after_id)s::uuid)")
            scored_params.update(after_value=float(after.value), after_id=after.id)  # type: ignore[arg-type]
        queries.append((
            f"SELECT * FROM investigations{where(scored)} ORDER BY risk_score {direction}, id {direction} "
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
        f"SELECT * FROM investigations{where(unscored)} ORDER BY id {direction} LIMIT %(limit)s", unscored_params
    ))
    return queries


class InvestigationsMixin(PostgresCore):
    def _apply_transition(self, transition: commands.Transition) -> commands.TransitionOutcome:
        t = transition
        sets = ", ".join(["status = %(target)s", *(f"{column} = %({column})s" for column in t.extra)])
        with self._op(t.operation, t.investigation_id) as conn:
            row = conn.execute(
                f"UPDATE investigations SET {sets} WHERE id = %(id)s AND status = ANY(%(allowed)s::text[]) RETURNING *",
                {"target": str(t.target), "id": t.investigation_id, "allowed": t.allowed, **t.extra},
            ).fetchone()
            if row is not None:
                return commands.TransitionOutcome(row=row, current=row["status"])
            current = conn.execute("SELECT status FROM investigations WHERE id = %s", (t.investigation_id,)).fetchone()
        return commands.TransitionOutcome(row=None, current=None if current is None else current["status"])

    def _set_progress(self, investigation_id: str, progress: float, open_statuses: list[str]) -> bool:
        with self._op("set_progress", investigation_id) as conn:
            updated = conn.execute(
                "UPDATE investigations SET progress = %s WHERE id = %s AND status = ANY(%s::text[])",
                (progress, investigation_id, open_statuses),
            ).rowcount
            return bool(updated) or conn.execute(
                "SELECT 1 FROM investigations WHERE id = %s", (investigation_id,)
            ).fetchone() is not None

    def _detail_rows(self, investigation_id: str) -> commands.DetailRows | None:
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
        return commands.DetailRows(investigation=row, findings=findings, contract=contract)

    def _investigation_page(self, query: commands.ListQuery) -> commands.PageRows:
        q = query
        queries = page_queries(q.filters, sort=q.sort, offset=q.offset, after=q.after, limit=q.limit)
        with self._op("list_investigations", "") as conn:
            total = None
            if q.with_total:
                sql, params = count_query(q.filters, q.count_limit)
                total_row = conn.execute(sql, params).fetchone()
                assert total_row is not None
                total = int(total_row["n"])
            rows: list[commands.Row] = []
            for sql, params in queries:  # each part continues where the previous one ran out
                if len(rows) >= q.limit:
                    break
                rows += conn.execute(sql, {**params, "limit": q.limit - len(rows)}).fetchall()
        return commands.PageRows(rows=rows, total=total)

    def _fail_stuck(self, query: commands.StuckQuery, open_statuses: list[str]) -> list[str]:
        rows = self._all(
            "fail_stuck_investigations",
            f"older_than={query.older_than.isoformat()}",
            "UPDATE investigations SET status = 'failed', error = %s "
            "WHERE status = ANY(%s::text[]) AND updated_at < %s RETURNING id",
            (query.reason, open_statuses, query.older_than),
        )
        return [str(r["id"]) for r in rows]
