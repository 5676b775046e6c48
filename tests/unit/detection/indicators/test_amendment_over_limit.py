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


# --- prorrogações of continuous services and the regime's article ------------------------------
from datetime import date  # noqa: E402

from shared.detection.base import Context  # noqa: E402
from shared.detection.batch import prepare  # noqa: E402

CLEANING = "Prestação de serviços continuados de limpeza e conservação"


def test_it_gives_no_finding_for_a_3_year_prorrogued_cleaning_contract_at_3_1_times() -> None:
    # 36 months of vigência, first term presumed 12: per year 3.1 / 3 = 1.033, growth 3.3 % <= 25 %.
    c = contract(objeto=CLEANING, valor_inicial=600_000, valor_final=1_860_000,
                 data_inicio_vigencia=date(2021, 3, 1), data_fim_vigencia=date(2024, 3, 1))
    assert run(SPEC, [c]).contract_findings == []


def test_it_flags_a_continuous_service_whose_growth_outruns_its_term() -> None:
    # 730 days = 24.0 months (to 0.1), first term presumed 12, value ×2.8: 2.8 × 12 / 24 = 1.4, +40 % > 25 %.
    c = contract(objeto=CLEANING, valor_inicial=100_000, valor_final=280_000,
                 data_inicio_vigencia=date(2022, 1, 1), data_fim_vigencia=date(2024, 1, 1))
    [finding] = run(SPEC, [c]).contract_findings
    assert finding.severity is Severity.MEDIUM and abs(finding.value - 0.4) < 1e-6
    assert finding.baseline["primeira_vigencia_presumida"] is True
    assert "presumida" in finding.explanation


def test_it_uses_the_earliest_stored_vigencia_when_there_is_one() -> None:
    # First term 6 months, now 24: value ×4 is ×1 per period.
    c = contract(objeto=CLEANING, valor_inicial=100_000, valor_final=400_000,
                 data_inicio_vigencia=date(2022, 1, 1), data_fim_vigencia=date(2024, 1, 1))
    context = Context(first_vigencia={c.id: (date(2022, 1, 1), date(2022, 7, 2))})
    assert SPEC.evaluate(prepare([c]), context, Config()).contract_findings == []
    assert flagged_ids(run(SPEC, [c])) == [c.id]  # presumed 12 months: ×4 / 2 = ×2


def test_it_is_low_with_the_doubt_stated_when_a_continuous_service_has_no_vigencia() -> None:
    c = contract(objeto=CLEANING, valor_inicial=100_000, valor_final=200_000)
    [finding] = run(SPEC, [c]).contract_findings
    assert finding.severity is Severity.LOW and "vigência não foi informada" in finding.explanation


def test_it_cites_the_article_of_the_contract_regime() -> None:
    old = contract(valor_inicial=100_000, valor_final=130_000, fundamento_legal="Lei nº 10.520/2002")
    new = contract(valor_inicial=100_000, valor_final=130_000)
    state = contract(valor_inicial=100_000, valor_final=130_000, fundamento_legal="Lei 13.303/2016, art. 28")
    found = {f.contract_id: f for f in run(SPEC, [old, new, state]).contract_findings}
    assert "Lei 8.666/1993, art. 65, §1º" in found[old.id].explanation and "art. 125" not in found[old.id].explanation
    assert "Lei 14.133/2021, art. 125" in found[new.id].explanation
    assert "Lei 13.303/2016, art. 81, §1º" in found[state.id].explanation


def test_it_reads_termos_aditivos_and_degrades_to_unknown() -> None:
    c = contract(valor_inicial=100_000, valor_final=160_000)
    batch = prepare([c])
    only_term = SPEC.evaluate(batch, Context(amendments={c.id: ("Prorrogação da vigência por 12 meses", "Reajuste anual")}), Config())
    increase = SPEC.evaluate(batch, Context(amendments={c.id: ("Acréscimo quantitativo de 30 %",)}), Config())
    unknown = SPEC.evaluate(batch, Context(amendments={c.id: None}), Config())
    assert only_term.contract_findings[0].severity is Severity.LOW
    assert increase.contract_findings[0].severity is Severity.HIGH
    assert unknown.contract_findings[0].baseline["termos_aditivos"] == "desconhecido"
    assert "não puderam ser consultados" in unknown.contract_findings[0].explanation
