"""The commands the store's front hands its backends: filters as conditions, a batch's write plan."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.domain import InvestigationStatus, Severity, Source, Trigger
from shared.store.base import ContractFilter, InvestigationFilter
from shared.store.commands import Condition, ContractBatch, contract_conditions, investigation_conditions
from shared.store.postgres.core import sql_conditions


def test_it_turns_a_contract_filter_into_the_conditions_of_the_fields_given() -> None:
    filters = ContractFilter(orgao_codigo="26000", source=Source.PORTAL, signed_from=date(2024, 1, 1),
                             signed_to=date(2024, 12, 31), ids=[1, 2])

    assert contract_conditions(filters) == [
        Condition("orgao_codigo", "eq", "26000"),
        Condition("source", "eq", "portal"),
        Condition("data_assinatura", "gte", date(2024, 1, 1)),
        Condition("data_assinatura", "lte", date(2024, 12, 31)),
    ]
    assert contract_conditions(ContractFilter()) == []


def test_it_turns_an_investigation_filter_into_conditions_on_the_stored_columns() -> None:
    created = datetime(2024, 5, 1, tzinfo=UTC)
    filters = InvestigationFilter(indicator="sanctioned_supplier", severity=Severity.HIGH,
                                  status=InvestigationStatus.COMPLETED, trigger=Trigger.SCHEDULED,
                                  created_to=created, min_risk_score=1, contract_id=7)

    assert investigation_conditions(filters) == [
        Condition("status", "eq", "completed"),
        Condition("trigger", "eq", "scheduled"),
        Condition("contract_id", "eq", 7),
        Condition("finding_indicators", "has", "sanctioned_supplier"),
        Condition("max_severity_rank", "gte", Severity.HIGH.rank),
        Condition("created_at", "lte", created),
        Condition("risk_score", "gte", 1.0),
    ]


def test_it_renders_conditions_as_sql_with_one_parameter_each() -> None:
    clauses, params = sql_conditions([
        Condition("created_at", "gte", 1), Condition("created_at", "lte", 2),
        Condition("id", "in", [3]), Condition("finding_indicators", "has", "x"),
    ])

    assert clauses == ["created_at >= %(c0)s", "created_at <= %(c1)s", "id = ANY(%(c2)s::bigint[])",
                       "finding_indicators @> ARRAY[%(c3)s]::text[]"]
    assert params == {"c0": 1, "c1": 2, "c2": [3], "c3": "x"}


def test_it_plans_to_write_only_new_and_changed_rows_in_id_order() -> None:
    batch = ContractBatch([
        {"id": 5, "content_hash": "new"}, {"id": 3, "content_hash": "same"}, {"id": 1, "content_hash": "other"},
    ])

    plan = batch.against({3: "same", 1: "before"})
    assert [row["id"] for row in plan.to_write] == [1, 5]
    assert plan.unchanged == [3]
    assert plan.changed == {1}


def test_it_reports_each_id_of_the_batch_once_in_batch_order() -> None:
    batch = ContractBatch([{"id": 5, "content_hash": "a"}, {"id": 3, "content_hash": "b"}, {"id": 1, "content_hash": "c"}])

    result = batch.result(new={5}, changed={1})
    assert (result.new, result.changed, result.unchanged) == ([5], [1], [3])
