from datetime import date

from shared.detection.indicators.late_publication import SPEC
from shared.domain import Severity
from tests.unit.detection.helpers import DISPENSA_II, contract, flagged_ids, run

SIGNED = date(2024, 3, 4)  # a Monday; Good Friday 2024 is 29 March


def test_it_flags_publication_after_20_business_days() -> None:
    # 5-8 Mar (4) + 11-15 (5) + 18-22 (5) + 25-28 (4, 29 is Good Friday) + 1-3 Apr (3) = 21
    c = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 4, 3))
    result = run(SPEC, [c])
    assert flagged_ids(result) == [c.id]
    finding = result.contract_findings[0]
    assert finding.value == 21 and finding.threshold == 20 and finding.severity is Severity.MEDIUM
    assert "21 dias úteis" in finding.explanation


def test_it_does_not_flag_exactly_20_business_days() -> None:
    assert run(SPEC, [contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 4, 2))]).contract_findings == []


def test_it_uses_10_business_days_for_direct_awards() -> None:
    at = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 3, 18), **DISPENSA_II)  # 10
    late = contract(data_assinatura=SIGNED, data_publicacao_dou=date(2024, 3, 19), **DISPENSA_II)  # 11
    assert flagged_ids(run(SPEC, [at, late])) == [late.id]


def test_it_counts_the_black_consciousness_holiday_only_from_2024() -> None:
    # Tuesday 19 Nov -> Thursday 21 Nov: 20 Nov is a holiday from 2024 on.
    from shared.detection.legal import business_days_after

    assert business_days_after(date(2024, 11, 19), date(2024, 11, 21)) == 1
    assert business_days_after(date(2023, 11, 20), date(2023, 11, 22)) == 2


def test_it_counts_missing_or_inverted_dates_as_insufficient() -> None:
    result = run(SPEC, [contract(data_publicacao_dou=None), contract(data_assinatura=None),
                        contract(data_assinatura=date(2024, 3, 10), data_publicacao_dou=date(2024, 3, 1))])
    assert result.insufficient == 3 and result.contract_findings == []
