import math
from datetime import date

from shared.detection.indicators.price_outlier import SPEC, Config
from shared.domain import Severity
from tests.unit.detection.helpers import contract, flagged_ids, run

# 20 peers with ln(value) = 9.0 ×5, 9.5 ×5, 10.5 ×5, 11.0 ×5. The contract is left out of its own
# baseline, so the median is (9.5 + 10.5)/2 = 10.0, the absolute deviations are 0.5 ×10 and 1.0 ×10,
# the MAD is (0.5 + 1.0)/2 = 0.75 and M = 0.6745 × (x − 10) / 0.75.
PEER_LOGS = [9.0] * 5 + [9.5] * 5 + [10.5] * 5 + [11.0] * 5


def peers(**overrides: object) -> list:
    return [contract(valor_inicial=round(math.exp(x), 2), **overrides) for x in PEER_LOGS]


def target(log_value: float, **overrides: object):  # type: ignore[no-untyped-def]
    return contract(valor_inicial=round(math.exp(log_value), 2), **overrides)


def test_it_flags_a_value_with_robust_z_above_3_5() -> None:
    outlier = target(14.0)  # M = 0.6745 × 4.0 / 0.75 = 3.597
    result = run(SPEC, [*peers(), outlier])
    assert flagged_ids(result) == [outlier.id]
    finding = result.contract_findings[0]
    assert abs(finding.value - 3.5973) < 1e-3
    assert finding.baseline["n"] == 20 and finding.baseline["nivel"] == "orgao+classe+ano"
    assert finding.baseline["grupo"] == ["26201", "expediente", 2024]
    assert abs(finding.baseline["mad_log"] - 0.75) < 1e-6
    assert abs(finding.baseline["mediana"] - math.exp(10.0)) < 1.0
    assert finding.severity is Severity.MEDIUM
    assert finding.baseline["contrato_fora_da_base"] is True
    assert "20 outros contratos" in finding.explanation and "3,6" in finding.explanation
    assert "O valor do contrato" in finding.explanation and "preço" not in finding.explanation.split("não preços")[0]


def test_it_does_not_flag_just_under_the_threshold_nor_cheap_outliers() -> None:
    below = target(13.85)  # M = 0.6745 × 3.85 / 0.75 = 3.462
    assert run(SPEC, [*peers(), below]).contract_findings == []
    cheap = target(5.0)  # far below the median: not this indicator's concern
    assert run(SPEC, [*peers(), cheap]).contract_findings == []


def test_it_needs_20_peers_and_widens_the_group_to_find_them() -> None:
    outlier = target(14.0)
    exactly_20 = run(SPEC, [*peers(), outlier])
    assert exactly_20.insufficient == 0
    only_19 = run(SPEC, [*peers()[:-1], outlier])  # 19 peers + the outlier: each has 19 others
    assert only_19.insufficient == 20 and only_19.contract_findings == []
    # The same 19 peers spread over two years: the (órgão, class, year) group is too small, so the
    # indicator widens to (órgão, class) over all years and still finds 20 peers.
    spread = [contract(valor_inicial=c.valor_inicial, data_assinatura=date(2023, 5, 5)) for c in peers()[:9]] + peers()[9:]
    widened = run(SPEC, [*spread, outlier])
    assert flagged_ids(widened) == [outlier.id]
    assert widened.contract_findings[0].baseline["nivel"] == "orgao+classe"


def test_it_falls_back_to_the_mean_deviation_when_mad_is_zero() -> None:
    same = [contract(valor_inicial=1000) for _ in range(16)] + [contract(valor_inicial=2000) for _ in range(5)]
    outlier = contract(valor_inicial=1_000_000)
    result = run(SPEC, [*same, outlier])
    assert flagged_ids(result) == [outlier.id]


def test_it_counts_missing_value_or_object_as_insufficient() -> None:
    result = run(SPEC, [contract(valor_inicial=None), contract(objeto=None), contract(valor_inicial=0)])
    assert result.insufficient == 3 and result.contract_findings == []


def test_it_honours_a_configured_threshold() -> None:
    below = target(13.85)
    assert flagged_ids(run(SPEC, [*peers(), below], Config(threshold=3.4))) == [below.id]


def test_it_does_not_claim_other_orgaos_when_the_batch_holds_one() -> None:
    # Only the modality level reaches 20: it is labelled as this órgão's contracts.
    spread = [contract(valor_inicial=c.valor_inicial, data_assinatura=date(2020 + k % 5, 5, 5))
              for k, c in enumerate(peers())]
    outlier = target(14.0, modalidade_compra="Pregão")
    found = run(SPEC, [*spread, outlier]).contract_findings
    assert all("todos os órgãos" not in f.explanation for f in found)


def test_it_keeps_road_works_out_of_the_cleaning_class() -> None:
    from shared.detection.text import object_info

    assert object_info("Serviços de conservação de rodovias federais").object_class == "obras_rodoviarias"
    assert object_info("Serviços de limpeza e conservação").object_class == "limpeza"
