from datetime import date

from shared.detection.indicators.late_publication import SPEC
from shared.detection.legal import art61_deadline, business_days_after, nth_business_day
from shared.domain import Severity
from tests.unit.detection.helpers import DISPENSA_II, contract, flagged_ids, run

SIGNED = date(2024, 3, 4)  # a Monday; Good Friday 2024 is 29 March
OLD_PREGAO = {"modalidade_compra": "Pregão", "fundamento_legal": "Lei nº 10.520/2002"}
OLD_DISPENSA = {"modalidade_compra": "Dispensa de Licitação", "fundamento_legal": "Lei nº 8.666/1993, art. 24, inciso II"}


def test_it_puts_the_art_61_deadline_on_the_next_business_day_after_5th_business_day_plus_20() -> None:
    # April 2023: 3, 4, 5, 6 are business days, 7 is Good Friday, so the 5th is Monday 10 April.
    assert nth_business_day(date(2023, 4, 1), 5) == date(2023, 4, 10)
    # 10 April + 20 consecutive days = Sunday 30 April; 1 May is a holiday: art. 110 sole paragraph
    # moves the end to the next day with expediente, Tuesday 2 May.
    assert art61_deadline(date(2023, 3, 10)) == date(2023, 5, 2)


def test_it_finds_a_lei_8666_contract_published_on_2023_04_20_on_time() -> None:
    c = contract(data_assinatura=date(2023, 3, 10), data_publicacao_dou=date(2023, 4, 20), **OLD_PREGAO)
    assert run(SPEC, [c]).contract_findings == []


def test_it_flags_a_lei_8666_contract_published_after_the_art_61_deadline_as_medium() -> None:
    on_deadline = contract(data_assinatura=date(2023, 3, 10), data_publicacao_dou=date(2023, 5, 2), **OLD_DISPENSA)
    late = contract(data_assinatura=date(2023, 3, 10), data_publicacao_dou=date(2023, 5, 3), **OLD_DISPENSA)
    result = run(SPEC, [on_deadline, late])
    assert flagged_ids(result) == [late.id]
    [finding] = result.contract_findings
    assert finding.severity is Severity.MEDIUM and finding.value == 1
    assert finding.baseline["prazo"] == "2023-05-02" and finding.baseline["regime"] == "lei_8666"
    assert "art. 61, parágrafo único" in finding.explanation and "art. 94" not in finding.explanation
    assert "Lei 8.666/1993, conforme o fundamento legal" in finding.explanation


def test_it_skips_carnival_when_counting_business_days() -> None:
    # Carnival 2023: Monday 20 and Tuesday 21 February (pontos facultativos treated as holidays).
    assert business_days_after(date(2023, 2, 17), date(2023, 2, 22)) == 1
    # February 2024: Carnival on 12-13; the 5th business day of the month is the 7th.
    assert nth_business_day(date(2024, 2, 1), 5) == date(2024, 2, 7)


def test_it_keeps_a_late_dou_date_under_lei_14133_at_low_and_names_the_pncp() -> None:
    # 5-8 Mar (4) + 11-15 (5) + 18-22 (5) + 25-28 (4, 29 is Good Friday) + 1-3 Apr (3) = 21
    c = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 4, 3))
    result = run(SPEC, [c])
    [finding] = result.contract_findings
    assert finding.value == 21 and finding.threshold == 20 and finding.severity is Severity.LOW
    assert "PNCP" in finding.explanation and "21 dias úteis" in finding.explanation
    assert "condição de eficácia" not in finding.explanation


def test_it_does_not_flag_exactly_20_business_days() -> None:
    assert run(SPEC, [contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 4, 2))]).contract_findings == []


def test_it_uses_10_business_days_for_direct_awards_under_lei_14133() -> None:
    at = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 3, 18), **DISPENSA_II)  # 10
    late = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 3, 19), **DISPENSA_II)  # 11
    assert flagged_ids(run(SPEC, [at, late])) == [late.id]


def test_it_presumes_lei_8666_from_the_date_when_nothing_names_the_law_and_says_so() -> None:
    c = contract(data_assinatura=date(2022, 6, 1), data_publicacao_dou=date(2022, 9, 1),
                 modalidade_compra="Pregão", fundamento_legal=None)
    [finding] = run(SPEC, [c]).contract_findings
    assert finding.baseline["regime_fonte"] == "dataAssinatura" and finding.baseline["regime_presumido"] is True
    assert "Regime presumido: Lei 8.666/1993, pela data de assinatura" in finding.explanation


def test_it_does_not_judge_lei_13303_contracts_against_a_dou_deadline() -> None:
    c = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 6, 3),
                 fundamento_legal="Lei nº 13.303/2016, art. 28")
    result = run(SPEC, [c])
    assert result.contract_findings == [] and result.reasons == {"regime_sem_prazo_dou": 1}


def test_it_counts_the_black_consciousness_holiday_only_from_2024() -> None:
    assert business_days_after(date(2024, 11, 19), date(2024, 11, 21)) == 1
    assert business_days_after(date(2023, 11, 20), date(2023, 11, 22)) == 2


def test_it_counts_missing_or_inverted_dates_as_insufficient() -> None:
    result = run(SPEC, [contract(data_publicacao_dou=None), contract(data_assinatura=None),
                        contract(data_assinatura=date(2024, 3, 10), data_publicacao_dou=date(2024, 3, 1))])
    assert result.insufficient == 3 and result.contract_findings == []
