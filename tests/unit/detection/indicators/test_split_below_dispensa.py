from datetime import date

from shared.detection.indicators.split_below_dispensa import SPEC, Config
from shared.domain import Severity
from tests.unit.detection.helpers import DISPENSA_II, PREGAO, contract, flagged_ids, run

LIMIT_2024_II = 59_906.02  # Decreto 11.871/2023, art. 75 II
OLD = {"fundamento_legal": "Lei nº 8.666/1993, art. 24, inciso II"}


def dispensa(value: float, signed: date | None, **overrides: object) -> object:
    return contract(valor_inicial=value, valor_final=value, data_assinatura=signed, **{**DISPENSA_II, **overrides})


def test_it_flags_two_dispensas_just_under_the_limit_within_90_days() -> None:
    a, b = dispensa(50_000, date(2024, 2, 1)), dispensa(55_000, date(2024, 3, 1))
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]
    finding = result.contract_findings[0]
    assert finding.threshold == LIMIT_2024_II and finding.baseline["regra"] == "faixa"
    assert finding.severity is Severity.MEDIUM
    assert "R$ 59.906,02" in finding.explanation and "Decreto 11.871/2023" in finding.explanation


def test_it_applies_art_75_paragraph_1_annual_sum_per_unit_and_object_class() -> None:
    # Three suppliers, R$ 25 000 each in 2024 for office supplies at one UG: sum 75 000 > 59 906,02.
    # The third contract is signed once the sum has passed the limit (medium); the first two form it (low).
    trio = [dispensa(25_000, date(2024, m, 3), fornecedor_documento=doc)
            for m, doc in ((2, "11222333000181"), (5, "55444333000122"), (9, "99888777000166"))]
    other_ug = dispensa(25_000, date(2024, 10, 1), ug_codigo="150002")
    result = run(SPEC, [*trio, other_ug])
    assert flagged_ids(result) == [c.id for c in trio]  # type: ignore[attr-defined]
    assert [f.severity for f in result.contract_findings] == [Severity.LOW, Severity.LOW, Severity.MEDIUM]
    last = result.contract_findings[-1]
    assert last.baseline["regra"] == "soma_anual" and last.value == 75_000 and "art. 75, §1º" in last.explanation


def test_it_leaves_vehicle_maintenance_up_to_8000_out_of_the_annual_sum() -> None:
    works = {"objeto": "Serviços de manutenção de veículos da frota"}
    small = [dispensa(8_000, date(2024, m, 3), fornecedor_documento=f"1122233300{m:02d}81", **works) for m in range(1, 13)]
    assert run(SPEC, small).contract_findings == []


def test_it_updates_the_vehicle_maintenance_exemption_with_the_year_s_decree() -> None:
    # Decreto 12.807/2025 sets art. 75 §7º at R$ 10 478,74 for 2026: twelve such services stay out of
    # the sum; at R$ 10 500 each (above it) they count and pass the works limit of R$ 130 984,20.
    works = {"objeto": "Serviços de manutenção de veículos da frota"}
    within = [dispensa(10_478.74, date(2026, m, 3), fornecedor_documento=f"1122233300{m:02d}81", **works)
              for m in range(1, 13)]
    assert run(SPEC, within).contract_findings == []
    above = [dispensa(10_500, date(2026, m, 3), fornecedor_documento=f"1122233300{m:02d}81", **works)
             for m in range(1, 13)]
    assert {f.baseline["regra"] for f in run(SPEC, above).contract_findings} == {"soma_anual"}


def test_it_flags_old_law_dispensas_of_one_supplier_summing_above_the_limit_in_90_days() -> None:
    a, b = dispensa(10_000, date(2023, 1, 2), **OLD), dispensa(9_000, date(2023, 3, 1), **OLD)  # 19 000 > 17 600
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]  # type: ignore[attr-defined]
    assert result.contract_findings[0].baseline["regra"] == "soma_janela"
    assert "Lei 8.666/1993, art. 24" in result.contract_findings[0].explanation


def test_it_flags_at_exactly_80_percent_and_exactly_90_days() -> None:
    a = dispensa(14_080, date(2023, 1, 2), **OLD)  # 80 % of R$ 17 600
    b = dispensa(14_080, date(2023, 4, 2), **OLD)
    result = run(SPEC, [a, b])
    assert flagged_ids(result) == [a.id, b.id]  # type: ignore[attr-defined]
    assert result.contract_findings[0].baseline["limite"] == 17_600.0


def test_it_never_flags_two_emergency_dispensas() -> None:
    emergency = {"fundamento_legal": "Lei nº 14.133/2021, art. 75, inciso VIII"}
    result = run(SPEC, [dispensa(50_000, date(2024, 2, 1), **emergency), dispensa(55_000, date(2024, 2, 3), **emergency)])
    old_emergency = {"fundamento_legal": "Lei nº 8.666/1993, art. 24, inciso IV"}
    old = run(SPEC, [dispensa(15_000, date(2022, 2, 1), **old_emergency), dispensa(16_000, date(2022, 2, 3), **old_emergency)])
    assert result.contract_findings == [] and old.contract_findings == [] and result.insufficient == 0


def test_it_never_calls_a_dispensa_above_the_limit_below_it() -> None:
    unknown = {"fundamento_legal": "Dispensa de licitação"}
    above = [dispensa(70_000, date(2024, 2, 1), **unknown), dispensa(80_000, date(2024, 2, 9), **unknown)]
    assert run(SPEC, above).contract_findings == []


def test_it_states_a_presumed_inciso() -> None:
    unknown = {"fundamento_legal": "Dispensa de licitação, Lei 14.133/2021"}
    a, b = dispensa(50_000, date(2024, 2, 1), **unknown), dispensa(55_000, date(2024, 2, 9), **unknown)
    finding = run(SPEC, [a, b]).contract_findings[0]
    assert finding.baseline["inciso_presumido"] is True
    assert "Inciso não informado; presumido Lei 14.133/2021, art. 75, II." in finding.explanation


def test_it_does_not_flag_91_days_apart_other_units_or_competitive_awards() -> None:
    far = [dispensa(50_000, date(2024, 1, 2), ug_codigo="1"), dispensa(50_000, date(2024, 4, 2), ug_codigo="1",
                                                                       objeto="Aquisição de mobiliário")]
    other_units = [dispensa(50_000, date(2024, 6, 1), ug_codigo="2"), dispensa(50_000, date(2024, 6, 5), ug_codigo="3")]
    pregao = [contract(valor_inicial=50_000, data_assinatura=date(2024, 8, 1), **PREGAO),
              contract(valor_inicial=50_000, data_assinatura=date(2024, 8, 2), **PREGAO)]
    small = [dispensa(10_000, date(2024, 10, 1), ug_codigo="4"), dispensa(12_000, date(2024, 10, 5), ug_codigo="4")]
    assert run(SPEC, [*far, *other_units, *pregao, *small]).contract_findings == []


def test_it_flags_the_band_rule_with_a_configured_band() -> None:
    a, b = dispensa(25_000, date(2024, 5, 1)), dispensa(25_000, date(2024, 5, 20), objeto="Aquisição de mobiliário")
    result = run(SPEC, [a, b], Config(band_low=0.40))
    assert flagged_ids(result) == [a.id, b.id]  # type: ignore[attr-defined]
    assert result.contract_findings[0].baseline["regra"] == "faixa"


def test_it_uses_the_works_limit_for_vehicle_maintenance() -> None:
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
