from shared.detection.indicators.benford_deviation import EXPECTED, SPEC, first_digit, mad
from shared.domain import Severity
from tests.unit.detection.helpers import contract, run

BENFORD_1000 = [301, 176, 125, 97, 79, 67, 58, 51, 46]


def contracts_with_digits(counts: list[int], orgao: str = "26201") -> list:
    return [contract(orgao_codigo=orgao, valor_inicial=(d + 1) * 1000 + 0.5) for d, n in enumerate(counts) for _ in range(n)]


def shifted(k: int) -> list[int]:
    """Benford counts with k values moved from digit 1 to digit 9: MAD ≈ 2k / 9000."""
    counts = list(BENFORD_1000)
    counts[0] -= k
    counts[8] += k
    return counts


def test_it_computes_nigrinis_mad_by_hand() -> None:
    uniform = [100] * 9
    expected = sum(abs(1 / 9 - e) for e in EXPECTED) / 9
    assert abs(mad(uniform) - expected) < 1e-12
    assert abs(expected - 0.05973) < 1e-4
    assert first_digit(0.0912) == 9 and first_digit(1000.0) == 1 and first_digit(99999.99) == 9


def test_it_flags_a_nonconforming_orgao_year_without_accusing_contracts() -> None:
    result = run(SPEC, contracts_with_digits(shifted(70)))  # MAD ≈ 0.0156
    assert result.contract_findings == []
    [finding] = result.orgao_findings
    assert finding.severity is Severity.MEDIUM and finding.value > 0.015
    assert finding.baseline["n"] == 1000 and finding.baseline["contagens"][0] == 231
    assert "nunca uma acusação" in finding.explanation


def test_it_reports_the_marginal_band_as_low_severity() -> None:
    [finding] = run(SPEC, contracts_with_digits(shifted(60))).orgao_findings  # MAD ≈ 0.0134
    assert finding.severity is Severity.LOW and 0.012 < finding.value <= 0.015


def test_it_does_not_flag_a_conforming_orgao_year() -> None:
    assert run(SPEC, contracts_with_digits(shifted(50))).orgao_findings == []  # MAD ≈ 0.0112
    assert run(SPEC, contracts_with_digits(BENFORD_1000)).orgao_findings == []


def test_it_needs_1000_values_and_counts_the_rest_as_insufficient() -> None:
    few = contracts_with_digits([334, 333, 333])  # 1000 values of digits 1-3 only: evaluated
    assert len(run(SPEC, few).orgao_findings) == 1
    too_few = contracts_with_digits([334, 333, 332])
    result = run(SPEC, [*too_few, contract(valor_inicial=None), contract(valor_inicial=5)])
    assert result.orgao_findings == [] and result.insufficient == 999 + 2
    assert result.reasons["orgao_ano_com_menos_de_n_valores"] == 999


def test_it_words_the_marginal_band_as_marginal_conformity_not_a_deviation() -> None:
    [finding] = run(SPEC, contracts_with_digits(shifted(60))).orgao_findings
    assert "conformidade marginal" in finding.explanation
    assert "afastam" not in finding.explanation and "desvio da" not in finding.explanation.lower()
    assert finding.score <= 0.05
