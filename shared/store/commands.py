"""What the store's front hands a backend once it has checked a call: typed commands and conditions.

:class:`shared.store.base.Store` validates every argument once and turns it into the values here;
a backend (SQL or PostgREST) only renders them as its requests and hands rows back. The rules that span rows or tables are SQL
functions of the migrations, which the front calls by name with named arguments. A filter
becomes a list of :class:`Condition` (column, operator, value), already in the column's type, so
both backends read one list instead of each walking the filter's fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.domain import InvestigationStatus, RunStatus, Severity, Trigger, UpsertResult
from shared.store.models import ContractFilter, InvestigationFilter, Keyset, SortKey

Row = dict[str, Any]

# What a SQL function of the migrations returns: "row" for a table's row type (it comes back as
# that row's columns), "value" for anything else (jsonb, a number).
Returns = Literal["row", "value"]

# eq/gt/gte/lte compare the column with the value; "in" keeps rows whose column is one of the
# values; "has" keeps rows whose array column holds the value.
Operator = Literal["eq", "gt", "gte", "lte", "in", "has"]


@dataclass(frozen=True, slots=True)
class Json:
    """An argument a SQL function takes as ``jsonb`` (PostgreSQL needs to be told; JSON carries it as is)."""

    value: Any


def json_arg(value: Any) -> Json | None:
    return None if value is None else Json(value)


@dataclass(frozen=True, slots=True)
class Condition:
    column: str
    op: Operator
    value: Any


def _equal(pairs: Sequence[tuple[str, Any]]) -> list[Condition]:
    return [Condition(column, "eq", value) for column, value in pairs if value is not None]


def contract_conditions(filters: ContractFilter) -> list[Condition]:
    """Every field of ``filters`` but ``ids`` (which a backend may need in several requests)."""
    conditions = _equal([
        ("orgao_codigo", filters.orgao_codigo),
        ("ug_codigo", filters.ug_codigo),
        ("fornecedor_documento", filters.fornecedor_documento),
        ("modalidade_compra", filters.modalidade_compra),
        ("source", None if filters.source is None else str(filters.source)),
    ])
    if filters.signed_from is not None:
        conditions.append(Condition("data_assinatura", "gte", filters.signed_from))
    if filters.signed_to is not None:
        conditions.append(Condition("data_assinatura", "lte", filters.signed_to))
    return conditions


def investigation_conditions(filters: InvestigationFilter) -> list[Condition]:
    conditions = _equal([
        ("orgao_codigo", filters.orgao_codigo),
        ("status", None if filters.status is None else str(InvestigationStatus(filters.status))),
        ("trigger", None if filters.trigger is None else str(Trigger(filters.trigger))),
        ("contract_id", None if filters.contract_id is None else int(filters.contract_id)),
    ])
    if filters.indicator is not None:
        conditions.append(Condition("finding_indicators", "has", filters.indicator))
    if filters.severity is not None:
        # the column holds the rank of the worst severity among the findings
        conditions.append(Condition("max_severity_rank", "gte", Severity(filters.severity).rank))
    if filters.created_from is not None:
        conditions.append(Condition("created_at", "gte", filters.created_from))
    if filters.created_to is not None:
        conditions.append(Condition("created_at", "lte", filters.created_to))
    if filters.min_risk_score is not None:
        conditions.append(Condition("risk_score", "gte", float(filters.min_risk_score)))
    return conditions


# ---------------------------------------------------------------------------------------------
# contracts


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What one upsert writes, given the hashes stored before it."""

    to_write: list[Row]  # new and changed rows, in id order (concurrent batches then cannot deadlock)
    unchanged: list[int]  # ids whose stored hash is the same, in id order
    changed: set[int]  # ids stored before with another hash


@dataclass(frozen=True, slots=True)
class ContractBatch:
    """A checked batch: one row of columns per contract id (the last of repeats), in first-seen order."""

    values: list[Row]

    @property
    def ids(self) -> list[int]:
        return [v["id"] for v in self.values]

    def against(self, previous: Mapping[int, str]) -> BatchPlan:
        to_write = sorted((v for v in self.values if previous.get(v["id"]) != v["content_hash"]), key=lambda v: v["id"])
        unchanged = sorted(v["id"] for v in self.values if previous.get(v["id"]) == v["content_hash"])
        return BatchPlan(to_write=to_write, unchanged=unchanged, changed={v["id"] for v in to_write if v["id"] in previous})

    def result(self, *, new: Set[int], changed: Set[int]) -> UpsertResult:
        """Each id of the batch as new, changed or (neither) unchanged."""
        result = UpsertResult()
        for contract_id in self.ids:
            if contract_id in new:
                result.new.append(contract_id)
            elif contract_id in changed:
                result.changed.append(contract_id)
            else:
                result.unchanged.append(contract_id)
        return result


# ---------------------------------------------------------------------------------------------
# investigations


@dataclass(frozen=True, slots=True)
class Transition:
    """Set ``target`` (and ``extra`` columns) on an investigation whose status is one of ``allowed``."""

    operation: str
    investigation_id: str
    target: InvestigationStatus
    allowed: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransitionOutcome:
    row: Row | None  # the updated row; None when the status allowed no change
    current: str | None  # the status found instead (None: no such investigation)


@dataclass(frozen=True, slots=True)
class DetailRows:
    """The rows :meth:`~shared.store.base.Store.get_investigation` shapes: the investigation, its
    findings in id order and its contract (None for an órgão investigation or a contract not stored)."""

    investigation: Row
    findings: list[Row]
    contract: Row | None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One checked page request of ``list_investigations``."""

    filters: InvestigationFilter
    sort: SortKey
    limit: int
    offset: int
    after: Keyset | None
    with_total: bool
    count_limit: int | None


@dataclass(frozen=True, slots=True)
class PageRows:
    """The rows of one ``list_investigations`` page, in its order, and the count asked for."""

    rows: list[Row]
    total: int | None  # None when not asked for


# ---------------------------------------------------------------------------------------------
# runs


@dataclass(frozen=True, slots=True)
class RunQuery:
    task: str | None
    status: RunStatus | None
    limit: int


@dataclass(frozen=True, slots=True)
class StuckQuery:
    older_than: datetime
    reason: str
