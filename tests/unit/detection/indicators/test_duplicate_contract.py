from datetime import date

from shared.detection.indicators.duplicate_contract import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run

WORDS = ("alfa bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec").split()


def test_it_flags_both_contracts_of_a_near_copy() -> None:
    a = contract(objeto="Aquisição de notebooks para a reitoria", valor_inicial=100_000, data_assinatura=date(2024, 5, 2))
    b = contract(objeto="AQUISICAO DE NOTEBOOKS PARA REITORIA", valor_inicial=104_000, data_assinatura=date(2024, 5, 12))
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]
    finding = result.contract_findings[0]
    assert finding.value == 1.0 and finding.baseline["duplicatas"][0]["id"] == b.id
    assert finding.baseline["duplicatas"][0]["dias"] == 10
    assert finding.severity is Severity.MEDIUM  # identical object but values 3.8 % apart


def test_it_flags_at_exactly_the_thresholds() -> None:
    # Jaccard 17/20 = 0.85, values 5 % apart (95 000 vs 100 000), 30 days apart.
    a = contract(objeto=" ".join(WORDS) + " romeo sierra tango", valor_inicial=100_000, data_assinatura=date(2024, 1, 10))
    b = contract(objeto=" ".join(WORDS), valor_inicial=95_000, data_assinatura=date(2024, 2, 9))
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]
    assert result.contract_findings[0].value == 0.85


def test_it_does_not_flag_beyond_any_threshold() -> None:
    base = {"objeto": "Aquisição de notebooks", "valor_inicial": 100_000}
    late = [contract(**base, data_assinatura=date(2024, 1, 1)), contract(**base, data_assinatura=date(2024, 2, 1))]  # 31 days
    other_ug = [contract(**base, data_assinatura=date(2024, 6, 1)), contract(**base, ug_codigo="150009", data_assinatura=date(2024, 6, 2))]
    pricier = [contract(objeto="Aquisição de mesas", valor_inicial=100_000, data_assinatura=date(2024, 9, 1)),
               contract(objeto="Aquisição de mesas", valor_inicial=106_000, data_assinatura=date(2024, 9, 2))]
    different = [contract(objeto="Aquisição de cadeiras giratórias", valor_inicial=100_000, data_assinatura=date(2024, 11, 1)),
                 contract(objeto="Aquisição de armários de aço", valor_inicial=100_000, data_assinatura=date(2024, 11, 2))]
    assert run(SPEC, [*late, *other_ug, *pricier, *different]).contract_findings == []


def test_it_is_high_for_identical_objects_and_values() -> None:
    a = contract(objeto="Serviço de limpeza", valor_inicial=50_000, data_assinatura=date(2024, 3, 1))
    b = contract(objeto="Serviço de limpeza", valor_inicial=50_000, data_assinatura=date(2024, 3, 1))
    assert {f.severity for f in run(SPEC, [a, b]).contract_findings} == {Severity.HIGH}


def test_it_counts_contracts_missing_data_as_insufficient() -> None:
    result = run(SPEC, [contract(objeto=None), contract(objeto="de para com"), contract(ug_codigo=None),
                        contract(fornecedor_documento=None), contract(data_assinatura=None), contract(valor_inicial=None)])
    assert result.insufficient == 6 and result.contract_findings == []


def test_it_does_not_call_two_lots_of_one_process_duplicates() -> None:
    from datetime import date

    from shared.detection.indicators.duplicate_contract import SPEC as DUP

    lot1 = contract(objeto="Aquisição de material de expediente - Lote 1", numero_processo="23000.000001/2024-11",
                    valor_inicial=50_000, data_assinatura=date(2024, 5, 6))
    lot2 = contract(objeto="Aquisição de material de expediente - Lote 2", numero_processo="23000.000001/2024-11",
                    valor_inicial=50_500, data_assinatura=date(2024, 5, 6))
    assert run(DUP, [lot1, lot2]).contract_findings == []
    # The same two objects under different processes still match.
    other = contract(objeto="Aquisição de material de expediente - Lote 2", numero_processo="23000.000999/2024-11",
                     valor_inicial=50_500, data_assinatura=date(2024, 5, 6))
    assert len(run(DUP, [lot1, other]).contract_findings) == 2
