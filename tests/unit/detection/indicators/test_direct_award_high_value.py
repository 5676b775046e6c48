from shared.detection.indicators.direct_award_high_value import SPEC, Config
from shared.domain import Severity
from tests.unit.detection.helpers import DISPENSA_II, INEXIGIBILIDADE, PREGAO, contract, flagged_ids, run


def test_it_flags_a_direct_award_above_100_thousand() -> None:
    c = contract(valor_inicial=150_000, **INEXIGIBILIDADE)
    result = run(SPEC, [c])
    assert flagged_ids(result) == [c.id]
    finding = result.contract_findings[0]
    assert finding.severity is Severity.LOW and finding.value == 5.0
    assert "inexigibilidade" in finding.explanation and "R$ 150.000,00" in finding.explanation


def test_it_does_not_flag_exactly_100_thousand_but_does_one_cent_more() -> None:
    at = contract(valor_inicial=100_000, **DISPENSA_II)
    above = contract(valor_inicial=100_000.01, **DISPENSA_II)
    assert flagged_ids(run(SPEC, [at, above])) == [above.id]


def test_it_does_not_flag_competitive_awards_or_small_direct_ones() -> None:
    result = run(SPEC, [contract(valor_inicial=5_000_000, **PREGAO), contract(valor_inicial=20_000, **DISPENSA_II)])
    assert result.contract_findings == []


def test_it_reads_the_award_from_the_legal_basis_when_the_modality_is_missing() -> None:
    c = contract(valor_inicial=300_000, modalidade_compra=None, fundamento_legal="Lei 14.133/2021, Art. 75, VIII")
    assert flagged_ids(run(SPEC, [c])) == [c.id]


def test_it_counts_unknown_modality_or_value_as_insufficient() -> None:
    unknown = contract(modalidade_compra=None, fundamento_legal=None, valor_inicial=500_000)
    no_value = contract(valor_inicial=None, **DISPENSA_II)
    result = run(SPEC, [unknown, no_value])
    assert result.insufficient == 2 and result.contract_findings == []


def test_it_follows_the_literal_prescreen_reading_when_configured() -> None:
    # score >= 3: the modality alone (3 points) flags a small dispensa.
    c = contract(valor_inicial=20_000, **DISPENSA_II)
    assert flagged_ids(run(SPEC, [c], Config(min_score=3))) == [c.id]
