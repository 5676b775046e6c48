from shared.detection.indicators.supplier_concentration import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run


def supplier(n: int) -> str:
    return f"{n:014d}"


def test_it_flags_an_orgao_year_with_a_dominant_supplier_and_attaches_to_its_contracts() -> None:
    # A: 6 × 100 = 600 of 1 000 (60 %); four others 100 each. HHI = 60² + 4 × 10² = 4 000.
    dominant = [contract(fornecedor_documento=supplier(1), valor_inicial=100) for _ in range(6)]
    others = [contract(fornecedor_documento=supplier(k), valor_inicial=100) for k in range(2, 6)]
    result = run(SPEC, [*dominant, *others])
    assert len(result.orgao_findings) == 1
    orgao = result.orgao_findings[0]
    assert orgao.subject_type == "orgao" and orgao.subject_id == "26201:2024"
    assert abs(orgao.value - 4000.0) < 1e-6 and orgao.baseline["participacao_dominante"] == 0.6
    assert orgao.severity is Severity.MEDIUM
    assert flagged_ids(result) == [c.id for c in dominant]
    assert "4.000" in orgao.explanation and "60,0 %" in orgao.explanation


def test_it_does_not_flag_an_hhi_of_exactly_2500() -> None:
    # Four suppliers with 25 % each: HHI = 4 × 25² = 2 500 (not above), top share 25 %.
    rows = [contract(fornecedor_documento=supplier(k), valor_inicial=250) for k in (1, 2, 3)]
    rows += [contract(fornecedor_documento=supplier(4), valor_inicial=v) for v in (50, 50, 50, 25, 25, 25, 25)]
    result = run(SPEC, rows)
    assert result.orgao_findings == [] and result.contract_findings == []


def test_it_does_not_flag_a_spread_out_orgao_year() -> None:
    rows = [contract(fornecedor_documento=supplier(k), valor_inicial=1000 + k) for k in range(20)]
    assert run(SPEC, rows).orgao_findings == []


def test_it_needs_ten_contracts_and_counts_the_rest_as_insufficient() -> None:
    monopoly = [contract(fornecedor_documento=supplier(1), valor_inicial=100) for _ in range(9)]
    missing = [contract(fornecedor_documento=None), contract(orgao_codigo=None), contract(valor_inicial=None)]
    result = run(SPEC, [*monopoly, *missing])
    assert result.orgao_findings == [] and result.insufficient == 12
