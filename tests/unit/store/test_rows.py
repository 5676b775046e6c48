"""Rows to dataclasses and back: both backends' rows (native values or JSON text) read alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.domain import FeedbackLabel, Severity, Source
from shared.store.base import StoreError, TrainingSample
from shared.store.records import (
    dataset_payload,
    finding_to_json,
    investigation_from_row,
    run_from_row,
    training_sample_to_json,
)
from shared.store.rows import (
    contract_from_row,
    contract_values,
    dedupe_last,
    json_rows,
    without_nul,
)
from tests.integration.store.factories import make_contract, make_finding


def test_it_reads_a_json_row_and_a_native_row_to_the_same_contract() -> None:
    contract = make_contract(3, valor_inicial=Decimal("1234567.89"))
    native = contract_values(contract)
    as_json = {
        **native,
        "data_assinatura": native["data_assinatura"].isoformat(),
        "data_publicacao_dou": native["data_publicacao_dou"].isoformat(),
        "valor_inicial": "1234567.89",
        "valor_final": float(native["valor_final"]),
    }
    assert contract_from_row(native) == contract_from_row(as_json) == contract
    assert contract_from_row(as_json).valor_final == contract.valor_final


def test_it_reads_investigation_timestamps_from_postgrest_text() -> None:
    row = {"id": "a", "contract_id": "5", "orgao_codigo": None, "trigger": "on_demand", "status": "running",
           "detector_version": "d", "created_at": "2025-01-02T03:04:05.123456+00:00", "max_severity": "high",
           "indicators": None, "progress": 0.25}
    inv = investigation_from_row(row)
    assert inv.contract_id == 5 and inv.max_severity is Severity.HIGH and inv.indicators == []
    assert inv.created_at == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_it_refuses_numbers_json_cannot_carry_naming_the_finding() -> None:
    with pytest.raises(StoreError, match="finding price_outlier/contract/1 value is inf"):
        finding_to_json(make_finding(value=float("inf")))
    with pytest.raises(StoreError, match="baseline holds a value JSON cannot carry"):
        finding_to_json(make_finding(baseline={"mad": float("nan")}))
    assert finding_to_json(make_finding(baseline={"when": date(2024, 1, 1)}))["baseline"] == {"when": "2024-01-01"}


def test_it_sums_counters_as_integers() -> None:
    run = run_from_row({"id": 1, "task": "t", "status": "running", "started_at": "2025-01-01T00:00:00+00:00",
                        "counters": {"pages": 3.0}})
    assert run.counters == {"pages": 3} and run.parameters == {} and run.result == {}


def test_it_keeps_the_last_of_repeated_keys_in_first_seen_order() -> None:
    assert dedupe_last([(1, "a"), (2, "b"), (1, "c")], key=lambda item: item[0]) == [(1, "c"), (2, "b")]


def test_it_checksums_a_dataset_independently_of_key_order() -> None:
    sample = TrainingSample(feedback_id=1, investigation_id="i", finding_id=None, indicator="x",
                            label=FeedbackLabel.TRUE_POSITIVE, features={"b": 1, "a": 2})
    reordered = TrainingSample(feedback_id=1, investigation_id="i", finding_id=None, indicator="x",
                               label=FeedbackLabel.TRUE_POSITIVE, features={"a": 2, "b": 1})
    first = dataset_payload([training_sample_to_json(sample)])
    second = dataset_payload([training_sample_to_json(reordered)])
    assert first.checksum == second.checksum and (first.positive, first.negative) == (1, 0)


def test_it_removes_nul_characters_only_where_they_are() -> None:
    clean = [{"a": "x"}]
    assert without_nul(clean) is clean
    assert without_nul([{"a": "x\x00y", "b": {"c": ["\x00"]}}]) == [{"a": "xy", "b": {"c": [""]}}]
    assert json_rows([{"v": Decimal("1.10"), "d": date(2024, 2, 3), "s": "a\x00"}]) == '[{"v":"1.10","d":"2024-02-03","s":"a"}]'
    assert contract_values(make_contract(1, source=Source.PORTAL))["source"] == "portal"
