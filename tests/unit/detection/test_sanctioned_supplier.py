from datetime import date

from shared.detection.indicators.sanctioned_supplier import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run, sanction


def test_it_flags_a_contract_signed_during_a_sanction() -> None:
    c = contract(data_assinatura=date(2024, 6, 10))
    result = run(SPEC, [c], sanctions=[sanction()])
    assert flagged_ids(result) == [c.id]
    finding = result.contract_findings[0]
    assert finding.severity is Severity.HIGH
    assert finding.baseline["sancoes"][0]["inicio"] == "2024-01-01"
    assert "CEIS" in finding.explanation and "10/06/2024" in finding.explanation
    assert "não prova" in finding.explanation


def test_it_flags_on_the_first_and_last_day_of_the_sanction() -> None:
    first = contract(data_assinatura=date(2024, 1, 1))
    last = contract(data_assinatura=date(2024, 12, 31))
    assert flagged_ids(run(SPEC, [first, last], sanctions=[sanction()])) == [first.id, last.id]


def test_it_does_not_flag_outside_the_period_or_another_supplier() -> None:
    before = contract(data_assinatura=date(2023, 12, 31))
    after = contract(data_assinatura=date(2025, 1, 1))
    other = contract(fornecedor_documento="99888777000166", data_assinatura=date(2024, 6, 1))
    result = run(SPEC, [before, after, other], sanctions=[sanction()])
    assert result.contract_findings == []
    assert result.insufficient == 0


def test_it_treats_an_open_ended_sanction_as_ongoing() -> None:
    c = contract(data_assinatura=date(2026, 5, 5))
    assert flagged_ids(run(SPEC, [c], sanctions=[sanction(data_fim=None)])) == [c.id]


def test_it_is_critical_when_nationwide_or_imposed_by_the_same_orgao() -> None:
    c = contract(data_assinatura=date(2024, 6, 10))
    national = run(SPEC, [c], sanctions=[sanction(nacional=True)]).contract_findings[0]
    own = run(SPEC, [c], sanctions=[sanction(orgao_sancionador="UNIVERSIDADE FEDERAL DO NORTE")]).contract_findings[0]
    assert national.severity is Severity.CRITICAL and own.severity is Severity.CRITICAL
    assert own.baseline["mesmo_orgao"] is True


def test_it_counts_missing_data_as_insufficient_never_as_a_pass() -> None:
    no_doc = contract(fornecedor_documento=None)
    no_date = contract(data_assinatura=None)
    assert run(SPEC, [no_doc, no_date], sanctions=[sanction()]).insufficient == 2
    # Without a sanction mirror nothing can be checked: every contract is insufficient.
    empty = run(SPEC, [contract()], sanctions=[])
    assert empty.insufficient == 1 and empty.contract_findings == []
    undated = run(SPEC, [contract()], sanctions=[sanction(data_inicio=None)])
    assert undated.insufficient == 1 and undated.contract_findings == []
