"""Investigations, findings and feedback through Supabase's REST API.

State changes are one conditional ``PATCH`` (``?id=eq.<id>&status=in.(<allowed>)``): the rows it
returns say whether the change happened, as the PostgreSQL backend's ``UPDATE ... RETURNING``
does. Multi-table rules are the migrations' SQL functions, which the front calls (``rpc`` here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from postgrest.types import CountMethod

from shared.store import commands
from shared.store.models import InvestigationFilter
from shared.store.supabase.contracts import CONTRACT_SELECT
from shared.store.supabase.core import SupabaseCore, apply_conditions

# (column, descending) pairs, the same order as the PostgreSQL backend's ORDER BY
_ORDER: dict[str, list[tuple[str, bool]]] = {
    "-created_at": [("created_at", True), ("id", True)],
    "created_at": [("created_at", False), ("id", False)],
    "-risk_score": [("risk_score", True), ("id", True)],
    "risk_score": [("risk_score", False), ("id", False)],
}


def _quoted(value: datetime | float | None) -> str:
    """A keyset value inside a PostgREST ``or=(...)`` filter, double-quoted: timestamps carry
    ``:`` and ``.``, which that syntax reserves."""
    text = value.isoformat() if isinstance(value, datetime) else repr(float(value))  # type: ignore[arg-type]
    return '"' + text + '"'


def _apply_filters(query: Any, filters: InvestigationFilter) -> Any:
    return apply_conditions(query, commands.investigation_conditions(filters))


class InvestigationsMixin(SupabaseCore):
    def _status_of(self, operation: str, investigation_id: str) -> str | None:
        response = self._call(
            operation, investigation_id,
            lambda: self.table("investigations").select("status").eq("id", investigation_id).execute(),
        )
        return response.data[0]["status"] if response.data else None

    def _apply_transition(self, transition: commands.Transition) -> commands.TransitionOutcome:
        t = transition
        response = self._call(
            t.operation, t.investigation_id,
            lambda: self.table("investigations").update({"status": str(t.target), **t.extra})
            .eq("id", t.investigation_id).in_("status", t.allowed).execute(),
        )
        if response.data:
            return commands.TransitionOutcome(row=response.data[0], current=response.data[0]["status"])
        return commands.TransitionOutcome(row=None, current=self._status_of(t.operation, t.investigation_id))

    def _set_progress(self, investigation_id: str, progress: float, open_statuses: list[str]) -> bool:
        response = self._call(
            "set_progress", investigation_id,
            lambda: self.table("investigations").update({"progress": progress}).eq("id", investigation_id)
            .in_("status", open_statuses).execute(),
        )
        return bool(response.data) or self._status_of("set_progress", investigation_id) is not None

    def _detail_rows(self, investigation_id: str) -> commands.DetailRows | None:
        rows = self._call(
            "get_investigation", investigation_id,
            lambda: self.table("investigations").select("*").eq("id", investigation_id).execute(),
        ).data
        if not rows:
            return None
        findings = self._call(
            "get_investigation", investigation_id,
            lambda: self.table("findings").select("*").eq("investigation_id", investigation_id).order("id").execute(),
        ).data
        contract = None
        if rows[0].get("contract_id") is not None:
            contract_rows = self._call(
                "get_investigation", investigation_id,
                lambda: self.table("contracts").select(CONTRACT_SELECT).eq("id", rows[0]["contract_id"]).execute(),
            ).data
            contract = contract_rows[0] if contract_rows else None
        return commands.DetailRows(investigation=rows[0], findings=list(findings), contract=contract)

    def _investigation_page(self, query: commands.ListQuery) -> commands.PageRows:
        filters, sort, limit, offset, after = query.filters, query.sort, query.limit, query.offset, query.after
        descending = sort.startswith("-")
        op = "lt" if descending else "gt"

        def read(extra: Any, order: list[tuple[str, bool]], size: int, skip: int) -> list[commands.Row]:
            def request() -> Any:
                q = extra(_apply_filters(self.table("investigations").select("*"), filters))
                for column, desc in order:
                    q = q.order(column, desc=desc, nullsfirst=False if column == "risk_score" else None)
                return q.limit(size).offset(skip).execute()

            return list(self._call("list_investigations", "", request).data)

        column = sort.lstrip("-")
        if offset or column == "created_at":
            def keyset(q: Any) -> Any:
                if after is None:
                    return q
                value = _quoted(after.value)
                return q.or_(f"{column}.{op}.{value},and({column}.eq.{value},id.{op}.{after.id})")

            rows = read(keyset, _ORDER[sort], limit, offset)
        else:
            # Scored rows in score order, then the unscored ones by id (as the PostgreSQL backend).
            rows = []
            if after is None or after.value is not None:
                def scored(q: Any) -> Any:
                    q = q.not_.is_("risk_score", "null")
                    if after is None:
                        return q
                    value = _quoted(after.value)
                    return q.or_(f"risk_score.{op}.{value},and(risk_score.eq.{value},id.{op}.{after.id})")

                rows = read(scored, _ORDER[sort], limit, 0)
            if len(rows) < limit:
                def unscored(q: Any) -> Any:
                    q = q.is_("risk_score", "null")
                    if after is not None and after.value is None:
                        q = q.filter("id", op, after.id)
                    return q

                rows += read(unscored, [("id", descending)], limit - len(rows), 0)
        total = self._count(filters, query.count_limit) if query.with_total else None
        return commands.PageRows(rows=rows, total=total)

    def _count(self, filters: InvestigationFilter, count_limit: int | None) -> int:
        """Exact count; with a limit, the ids of at most limit + 1 rows are read and counted
        (count=exact would scan every matching row, and PostgREST has no capped count)."""
        if count_limit is None:
            response = self._call(
                "list_investigations", "count",
                lambda: _apply_filters(self.table("investigations").select("id", count=CountMethod.exact), filters)
                .limit(1).execute(),
            )
            return int(response.count or 0)
        response = self._call(
            "list_investigations", "count",
            lambda: _apply_filters(self.table("investigations").select("id"), filters).limit(count_limit + 1).execute(),
        )
        return len(response.data)

    def _fail_stuck(self, query: commands.StuckQuery, open_statuses: list[str]) -> list[str]:
        response = self._call(
            "fail_stuck_investigations", f"older_than={query.older_than.isoformat()}",
            lambda: self.table("investigations").update({"status": "failed", "error": query.reason})
            .in_("status", open_statuses).lt("updated_at", query.older_than.isoformat()).execute(),
        )
        return [str(r["id"]) for r in response.data]
