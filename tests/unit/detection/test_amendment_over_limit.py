from shared.detection.indicators.amendment_over_limit import SPEC, Config
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run


def test_it_flags_an_increase_above_25_percent() -> None:
    c = contract(valor_inicial=100_000, valor_final=130_000)
    result = run(SPEC, [c])
    assert flagged_ids(result) == [c.id]
    finding = result.contract_findings[0]
    assert finding.value == 0.3 and finding.threshold == 0.25
    assert finding.severity is Severity.MEDIUM
    assert "30,0 %" in finding.explanation and "R$ 130.000,00" in finding.explanation


def test_it_does_not_flag_exactly_at_the_cap() -> None:
    assert run(SPEC, [contract(valor_inicial=100_000, valor_final=125_000)]).contract_findings == []


def test_it_does_not_flag_small_increases_or_decreases() -> None:
    result = run(SPEC, [contract(valor_inicial=100_000, valor_final=110_000), contract(valor_inicial=100_000, valor_final=90_000)])
    assert result.contract_findings == [] and result.insufficient == 0


def test_it_uses_the_50_percent_cap_for_renovation() -> None:
    within = contract(objeto="Reforma e adequação do edifício sede", valor_inicial=100_000, valor_final=140_000)
    beyond = contract(objeto="REFORMA do prédio anexo", valor_inicial=100_000, valor_final=155_000)
    result = run(SPEC, [within, beyond])
    assert flagged_ids(result) == [beyond.id]
    assert result.contract_findings[0].threshold == 0.5


def test_it_is_high_above_twice_the_cap() -> None:
    finding = run(SPEC, [contract(valor_inicial=100_000, valor_final=151_000)]).contract_findings[0]
    assert finding.severity is Severity.HIGH


def test_it_counts_missing_or_zero_values_as_insufficient() -> None:
    result = run(SPEC, [contract(valor_final=None), contract(valor_inicial=None), contract(valor_inicial=0, valor_final=10)])
    assert result.insufficient == 3 and result.contract_findings == []


def test_it_honours_a_configured_cap() -> None:
    c = contract(valor_inicial=100_000, valor_final=115_000)
    assert flagged_ids(run(SPEC, [c], Config(cap=0.10))) == [c.id]
