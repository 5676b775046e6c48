"""Investigations, findings and feedback through Supabase's REST API.

State changes are one conditional ``PATCH`` (``?id=eq.<id>&status=in.(<allowed>)``): the rows it
returns say whether the change happened, as the PostgreSQL backend's ``UPDATE ... RETURNING``
does. Multi-table rules are the migrations' SQL functions, called through ``rpc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from postgrest.types import CountMethod

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
from shared.store.supabase.contracts import CONTRACT_SELECT
from shared.store.supabase.core import SupabaseCore

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
    if filters.orgao_codigo is not None:
        query = query.eq("orgao_codigo", filters.orgao_codigo)
    if filters.indicator is not None:
        query = query.contains("finding_indicators", [filters.indicator])
    if filters.severity is not None:
        query = query.gte("max_severity_rank", Severity(filters.severity).rank)
    if filters.status is not None:
        query = query.eq("status", str(filters.status))
    if filters.trigger is not None:
        query = query.eq("trigger", str(filters.trigger))
    if filters.created_from is not None:
        query = query.gte("created_at", filters.created_from.isoformat())
    if filters.created_to is not None:
        query = query.lte("created_at", filters.created_to.isoformat())
    if filters.min_risk_score is not None:
        query = query.gte("risk_score", float(filters.min_risk_score))
    if filters.contract_id is not None:
        query = query.eq("contract_id", int(filters.contract_id))
    return query


class InvestigationsMixin(SupabaseCore):
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
        data = self._rpc("create_or_get_investigation", detail, "vigia_create_or_get_investigation", {
            "p_contract_id": contract_id,
            "p_orgao_codigo": orgao_codigo,
            "p_trigger": str(Trigger(trigger)),
            "p_detector_version": detector_version,
            "p_indicators": list(indicators),
            "p_window_start": None if window_start is None else window_start.isoformat(),
            "p_window_end": None if window_end is None else window_end.isoformat(),
        })
        return investigation_from_row(data["investigation"]), bool(data["created"])

    def _status_of(self, operation: str, investigation_id: str) -> str | None:
        response = self._call(
            operation, investigation_id,
            lambda: self.table("investigations").select("status").eq("id", investigation_id).execute(),
        )
        return response.data[0]["status"] if response.data else None

    def _transition(self, operation: str, investigation_id: str, extra: dict[str, Any]) -> Investigation:
        target, allowed = TRANSITIONS[operation]
        if not is_uuid(investigation_id):
            raise NotFound(f"{operation}({investigation_id}): no such investigation")
        response = self._call(
            operation, investigation_id,
            lambda: self.table("investigations").update({"status": str(target), **extra})
            .eq("id", investigation_id).in_("status", sorted(str(s) for s in allowed)).execute(),
        )
        if not response.data:
            raise refused_transition(operation, investigation_id, self._status_of(operation, investigation_id))
        return investigation_from_row(response.data[0])

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
        data = self._rpc(
            "complete_investigation", f"{investigation_id}, {len(payload)} findings", "vigia_complete_investigation",
            {"p_id": investigation_id, "p_findings": payload, "p_risk_score": risk_score, "p_summary": summary,
             "p_summary_source": summary_source},
        )
        return investigation_from_row(data)

    def set_progress(self, investigation_id: str, progress: float) -> None:
        value = check_progress(investigation_id, progress)
        if not is_uuid(investigation_id):
            raise NotFound(f"set_progress({investigation_id}): no such investigation")
        response = self._call(
            "set_progress", investigation_id,
            lambda: self.table("investigations").update({"progress": value}).eq("id", investigation_id)
            .in_("status", [str(s) for s in OPEN_STATUSES]).execute(),
        )
        if not response.data and self._status_of("set_progress", investigation_id) is None:
            raise NotFound(f"set_progress({investigation_id}): no such investigation")

    def get_investigation(self, investigation_id: str) -> InvestigationDetail | None:
        if not is_uuid(investigation_id):
            return None
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
            contract = contract_from_row(contract_rows[0]) if contract_rows else None
        return InvestigationDetail(
            investigation=investigation_from_row(rows[0]),
            findings=[stored_finding_from_row(f) for f in findings],
            contract=contract,
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
        if sort not in _ORDER:
            raise StoreError(f"list_investigations: sort must be one of {sorted(_ORDER)}, not {sort!r}")
        if limit < 0 or offset < 0:
            raise StoreError(f"list_investigations: limit and offset must be >= 0 (got {limit}, {offset})")
        if offset and after is not None:
            raise StoreError("list_investigations: give offset or after, not both")
        descending = sort.startswith("-")
        op = "lt" if descending else "gt"

        def read(extra: Any, order: list[tuple[str, bool]], size: int, skip: int) -> list[dict[str, Any]]:
            def request() -> Any:
                query = extra(_apply_filters(self.table("investigations").select("*"), filters))
                for column, desc in order:
                    query = query.order(column, desc=desc, nullsfirst=False if column == "risk_score" else None)
                return query.limit(size).offset(skip).execute()

            return list(self._call("list_investigations", "", request).data)

        column = sort.lstrip("-")
        if offset or column == "created_at":
            def keyset(query: Any) -> Any:
                if after is None:
                    return query
                value = _quoted(after.value)
                return query.or_(f"{column}.{op}.{value},and({column}.eq.{value},id.{op}.{after.id})")

            rows = read(keyset, _ORDER[sort], limit, offset)
        else:
            # Scored rows in score order, then the unscored ones by id (as the PostgreSQL backend).
            rows = []
            if after is None or after.value is not None:
                def scored(query: Any) -> Any:
                    query = query.not_.is_("risk_score", "null")
                    if after is None:
                        return query
                    value = _quoted(after.value)
                    return query.or_(f"risk_score.{op}.{value},and(risk_score.eq.{value},id.{op}.{after.id})")

                rows = read(scored, _ORDER[sort], limit, 0)
            if len(rows) < limit:
                def unscored(query: Any) -> Any:
                    query = query.is_("risk_score", "null")
                    if after is not None and after.value is None:
                        query = query.filter("id", op, after.id)
                    return query

                rows += read(unscored, [("id", descending)], limit - len(rows), 0)
        total = None
        if with_total:
            total = self._count(filters, count_limit)
        return Page(items=[investigation_from_row(r) for r in rows], total=total, limit=limit, offset=offset)

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

    def fail_stuck_investigations(self, *, older_than: datetime, reason: str) -> list[str]:
        response = self._call(
            "fail_stuck_investigations", f"older_than={older_than.isoformat()}",
            lambda: self.table("investigations").update({"status": "failed", "error": reason})
            .in_("status", [str(s) for s in OPEN_STATUSES]).lt("updated_at", older_than.isoformat()).execute(),
        )
        return sorted(str(r["id"]) for r in response.data)

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
        data = self._rpc("record_feedback", investigation_id, "vigia_record_feedback", {
            "p_investigation_id": investigation_id, "p_label": str(FeedbackLabel(label)), "p_finding_id": finding_id,
            "p_note": note, "p_author": author,
        })
        return feedback_from_row(data)
