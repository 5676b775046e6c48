from datetime import date

import pytest

from shared.detection.legal import (
    LAW_8666,
    LAW_14133,
    _easter,
    award_info,
    business_days_after,
    dispensa_limit,
    national_holidays,
)


@pytest.mark.parametrize(
    ("modalidade", "fundamento", "kind", "law", "inciso"),
    [
        ("Dispensa de Licitação", "Lei nº 14.133/2021, art. 75, inciso II", "dispensa", LAW_14133, "II"),
        (None, "LEI 14133/2021 - ART. 75, I", "dispensa", LAW_14133, "I"),
        (None, "Art. 24, II da Lei 8.666/93", "dispensa", LAW_8666, "II"),
        ("Inexigibilidade de Licitação", "Lei nº 14.133/2021, art. 74, inciso III", "inexigibilidade", LAW_14133, "III"),
        (None, "Lei 8.666/1993, art. 25", "inexigibilidade", LAW_8666, None),
        ("Pregão", "Lei nº 10.520/2002", "competitive", LAW_8666, None),
        ("Não se aplica", None, None, None, None),
        (None, None, None, None, None),
    ],
)
def test_it_reads_how_a_contract_was_awarded(modalidade, fundamento, kind, law, inciso) -> None:  # type: ignore[no-untyped-def]
    info = award_info(modalidade, fundamento)
    assert (info.kind, info.law, info.inciso) == (kind, law, inciso)


def test_it_only_treats_incisos_i_and_ii_as_dispensa_by_value() -> None:
    assert award_info("Dispensa de Licitação", "Lei 14.133/2021, art. 75, inciso II").value_based_dispensa
    assert award_info("Dispensa de Licitação", None).value_based_dispensa
    assert not award_info(None, "Lei 14.133/2021, art. 75, inciso VIII").value_based_dispensa


def test_it_reads_dispensa_limits_from_the_table() -> None:
    new = award_info("Dispensa", "Lei 14.133/2021, art. 75, II")
    assert dispensa_limit(new, date(2022, 5, 1), works=False).value == 54_020.41  # type: ignore[union-attr]
    assert dispensa_limit(new, date(2026, 5, 1), works=True).value == 65_492.11  # type: ignore[union-attr]  # inciso named
    old = award_info("Dispensa", "Lei 8.666/1993, art. 24, I")
    assert dispensa_limit(old, date(2019, 1, 1), works=False).value == 33_000.0  # type: ignore[union-attr]
    assert dispensa_limit(old, date(2018, 6, 18), works=False).value == 15_000.0  # type: ignore[union-attr]
    unnamed = award_info("Dispensa de Licitação", None)
    before = dispensa_limit(unnamed, date(2021, 3, 31), works=True)
    after = dispensa_limit(unnamed, date(2024, 2, 1), works=True)
    assert before is not None and before.law == LAW_8666 and before.value == 33_000.0 and before.law_assumed
    assert after is not None and after.law == LAW_14133 and after.value == 119_812.02
    assert dispensa_limit(new, date(2031, 1, 1), works=False) is None


def test_it_knows_easter_and_national_holidays() -> None:
    assert _easter(2024) == date(2024, 3, 31) and _easter(2025) == date(2025, 4, 20)
    assert date(2025, 4, 18) in national_holidays(2025)  # Good Friday
    assert date(2023, 11, 20) not in national_holidays(2023) and date(2024, 11, 20) in national_holidays(2024)


def test_it_counts_business_days_after_a_date() -> None:
    assert business_days_after(date(2024, 3, 1), date(2024, 3, 1)) == 0
    assert business_days_after(date(2024, 3, 1), date(2024, 3, 4)) == 1  # Friday -> Monday
    assert business_days_after(date(2024, 12, 24), date(2024, 12, 26)) == 1  # Christmas skipped
    assert business_days_after(date(1980, 1, 1), date(2024, 1, 1)) is None


def test_it_decides_the_regime_from_the_fundamento_then_the_modality_then_the_date() -> None:
    from datetime import date

    from shared.detection.legal import LAW_13303, regime_of

    def regime(mod: str | None, fund: str | None, signed: date | None) -> tuple[str, str, bool]:
        r = regime_of(award_info(mod, fund), mod, signed)
        return r.law, r.source, r.presumed

    assert regime("Pregão", "Lei nº 10.520/2002", date(2024, 5, 1)) == (LAW_8666, "fundamentoLegal", False)
    assert regime(None, "Lei 13.303/2016, art. 29, II", date(2024, 5, 1)) == (LAW_13303, "fundamentoLegal", False)
    assert regime("Tomada de Preços", None, date(2022, 5, 1)) == (LAW_8666, "modalidadeCompra", False)
    assert regime("Diálogo Competitivo", None, date(2022, 5, 1)) == (LAW_14133, "modalidadeCompra", False)
    assert regime("Pregão", None, date(2021, 3, 31)) == (LAW_8666, "dataAssinatura", True)
    assert regime("Pregão", None, date(2023, 12, 30)) == (LAW_8666, "dataAssinatura", True)
    assert regime("Pregão", None, date(2024, 1, 1)) == (LAW_14133, "dataAssinatura", True)


def test_it_applies_decreto_9412_limits_from_2018_07_19() -> None:
    from datetime import date

    old = award_info("Dispensa", "Lei 8.666/1993, art. 24, II")
    before = dispensa_limit(old, date(2018, 7, 18), works=False)
    after = dispensa_limit(old, date(2018, 7, 19), works=False)
    assert before is not None and after is not None and (before.value, after.value) == (8_000.0, 17_600.0)
