from datetime import date

from shared.detection.indicators.split_below_dispensa import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import DISPENSA_II, PREGAO, contract, flagged_ids, run

LIMIT_2024_II = 59_906.02  # Decreto 11.871/2023, art. 75 II


def dispensa(value: float, signed: date, **overrides: object) -> object:
    return contract(valor_inicial=value, valor_final=value, data_assinatura=signed, **{**DISPENSA_II, **overrides})


def test_it_flags_two_dispensas_just_under_the_limit_within_90_days() -> None:
    a, b = dispensa(50_000, date(2024, 2, 1)), dispensa(55_000, date(2024, 3, 1))
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]
    finding = result.contract_findings[0]
    assert finding.threshold == LIMIT_2024_II
    # 105 000 > 59 906.02, so the sum rule (stronger) is the one reported.
    assert finding.baseline["regra"] == "soma" and finding.baseline["contratos"] == [a.id, b.id]
    assert finding.severity is Severity.MEDIUM
    assert "R$ 59.906,02" in finding.explanation and "Decreto 11.871/2023" in finding.explanation


def test_it_flags_at_exactly_80_percent_and_exactly_90_days() -> None:
    # 80 % of the 8.666 limit (R$ 17 600): each R$ 14 080, 90 days apart; sum 28 160 > 17 600 as well.
    old = {"fundamento_legal": "Lei nº 8.666/1993, art. 24, inciso II"}
    a = dispensa(14_080, date(2023, 1, 2), **old)
    b = dispensa(14_080, date(2023, 4, 2), **old)
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]
    assert result.contract_findings[0].baseline["limite"] == 17_600.0


def test_it_flags_the_band_rule_alone_when_the_sum_stays_under_the_limit() -> None:
    # With a configured band of 40 %-100 %, two of R$ 25 000 (41.7 % each, sum 50 000 < 59 906.02).
    from shared.detection.indicators.split_below_dispensa import Config

    a, b = dispensa(25_000, date(2024, 5, 1)), dispensa(25_000, date(2024, 5, 20))
    result = run(SPEC, [a, b], Config(band_low=0.40))
    assert flagged_ids(result) == [a.id, b.id]
    assert result.contract_findings[0].baseline["regra"] == "faixa"


def test_it_does_not_flag_91_days_apart_other_suppliers_or_competitive_awards() -> None:
    far = [dispensa(50_000, date(2024, 1, 2)), dispensa(50_000, date(2024, 4, 2))]  # 91 days
    other_supplier = [dispensa(50_000, date(2024, 6, 1), fornecedor_documento="55444333000122"),
                      dispensa(50_000, date(2024, 6, 5), fornecedor_documento="99888777000166")]
    pregao = [contract(valor_inicial=50_000, data_assinatura=date(2024, 8, 1), **PREGAO),
              contract(valor_inicial=50_000, data_assinatura=date(2024, 8, 2), **PREGAO)]
    small = [dispensa(10_000, date(2024, 10, 1), ug_codigo="150002"), dispensa(12_000, date(2024, 10, 5), ug_codigo="150002")]
    assert run(SPEC, [*far, *other_supplier, *pregao, *small]).contract_findings == []


def test_it_ignores_dispensas_on_grounds_other_than_value() -> None:
    emergency = {"fundamento_legal": "Lei nº 14.133/2021, art. 75, inciso VIII"}
    result = run(SPEC, [dispensa(50_000, date(2024, 2, 1), **emergency), dispensa(55_000, date(2024, 2, 3), **emergency)])
    assert result.contract_findings == [] and result.insufficient == 0


def test_it_uses_the_works_limit_for_vehicle_maintenance() -> None:
    # art. 75 I in 2024: R$ 119 812,02; two of R$ 55 000 sum to 110 000, under it, and are < 80 % each.
    works = {"objeto": "Serviços de manutenção de veículos da frota", "fundamento_legal": "Dispensa, Lei 14.133/2021"}
    result = run(SPEC, [dispensa(55_000, date(2024, 2, 1), **works), dispensa(55_000, date(2024, 2, 3), **works)])
    assert result.contract_findings == []


def test_it_is_high_with_three_contracts() -> None:
    trio = [dispensa(52_000, date(2024, 2, d)) for d in (1, 8, 15)]
    result = run(SPEC, trio)
    assert {f.severity for f in result.contract_findings} == {Severity.HIGH}


def test_it_counts_dispensas_missing_data_as_insufficient() -> None:
    result = run(SPEC, [dispensa(50_000, date(2024, 2, 1), ug_codigo=None),
                        dispensa(50_000, date(2024, 2, 1), fornecedor_documento=None),
                        dispensa(50_000, None), contract(valor_inicial=None, **DISPENSA_II)])
    assert result.insufficient == 4 and result.contract_findings == []
