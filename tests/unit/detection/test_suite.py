import random
from datetime import date

from shared.detection import (
    DETECTOR_VERSION,
    DetectionConfig,
    risk_score,
    run_suite,
    summarize_template,
)
from shared.detection.explain import CAVEAT
from shared.domain import Finding, Severity
from tests.unit.detection.helpers import INEXIGIBILIDADE, contract, sanction


def small_batch() -> list:
    amended = contract(valor_inicial=100_000, valor_final=140_000)
    sanctioned = contract(fornecedor_documento="55666777000188", data_assinatura=date(2024, 6, 1))
    direct_and_late = contract(valor_inicial=400_000, valor_final=600_000, data_publicacao_dou=date(2024, 6, 3), **INEXIGIBILIDADE)
    plain = [contract(fornecedor_documento=f"{k:014d}", valor_inicial=200_000 + k) for k in range(12)]
    return [amended, sanctioned, direct_and_late, *plain]


def finding(code: str, score: float) -> Finding:
    return Finding(indicator=code, severity=Severity.MEDIUM, score=score, subject_type="contract", subject_id="1", explanation="x")


def test_it_runs_every_indicator_and_groups_findings_by_contract() -> None:
    rows = small_batch()
    result = run_suite(rows, sanctions=[sanction("55666777000188")])
    assert result.detector_version == DETECTOR_VERSION and result.contracts_evaluated == len(rows)
    assert list(result.findings_by_contract) == sorted(result.findings_by_contract)
    codes = {cid: [f.indicator for f in fs] for cid, fs in result.findings_by_contract.items()}
    assert codes[rows[0].id] == ["amendment_over_limit"]
    assert codes[rows[1].id] == ["sanctioned_supplier"]
    assert codes[rows[2].id] == ["amendment_over_limit", "direct_award_high_value", "late_publication"]
    assert set(result.insufficient) == {spec for spec in DetectionConfig.model_fields if spec != "scoring"}
    assert set(result.risk_scores) == set(result.findings_by_contract)


def test_it_gives_the_same_output_in_the_same_order_for_shuffled_input() -> None:
    rows = small_batch()
    first = run_suite(rows, sanctions=[sanction("55666777000188")])
    random.Random(3).shuffle(rows)
    second = run_suite(rows, sanctions=[sanction("55666777000188")])
    assert first.findings_by_contract == second.findings_by_contract
    assert list(first.findings_by_contract) == list(second.findings_by_contract)
    assert first.risk_scores == second.risk_scores and first.insufficient == second.insufficient


def test_it_reports_only_on_focus_contracts_but_uses_the_rest_as_context() -> None:
    a = contract(objeto="Serviço de limpeza", valor_inicial=50_000, data_assinatura=date(2024, 3, 1))
    b = contract(objeto="Serviço de limpeza", valor_inicial=50_000, data_assinatura=date(2024, 3, 5))
    result = run_suite([a, b], focus=[b.id])
    assert list(result.findings_by_contract) == [b.id] and result.contracts_evaluated == 1
    assert result.insufficient["sanctioned_supplier"] == 1  # no mirror given: only the focus contract counts
    assert result.findings_by_contract[b.id][0].baseline["duplicatas"][0]["id"] == a.id


def test_it_skips_disabled_indicators() -> None:
    config = DetectionConfig.model_validate({"amendment_over_limit": {"enabled": False}})
    result = run_suite(small_batch(), config=config)
    assert "amendment_over_limit" not in result.insufficient
    assert all(f.indicator != "amendment_over_limit" for fs in result.findings_by_contract.values() for f in fs)


def test_it_combines_scores_as_a_probabilistic_union_boosted_by_a_direct_award() -> None:
    assert risk_score([]) == 0.0
    assert risk_score([finding("price_outlier", 0.5)]) == 0.5
    assert risk_score([finding("price_outlier", 0.5), finding("late_publication", 0.4)]) == 0.7  # 1 − 0.5 × 0.6
    # With a direct award (0.2): the others weigh 1.25×: 1 − (1 − 0.625)(1 − 0.5)(1 − 0.2) = 0.85
    assert risk_score([finding("price_outlier", 0.5), finding("late_publication", 0.4),
                       finding("direct_award_high_value", 0.2)]) == 0.85


def test_it_never_lets_concentration_lift_a_contract_above_a_barring_sanction_or_an_acrescimo() -> None:
    # The most a contract without either can reach from direct award + dominant supplier:
    worst = risk_score([finding("direct_award_high_value", 0.4), finding("supplier_concentration", 1.0)])
    sanction = risk_score([finding("sanctioned_supplier", 0.85)])
    acrescimo = risk_score([finding("amendment_over_limit", 0.5)])
    assert worst < acrescimo < sanction
    assert risk_score([finding("supplier_concentration", 0.1)]) < risk_score([finding("late_publication", 0.1)])


def test_it_writes_a_pt_br_summary_with_the_numbers_and_the_caveat_once() -> None:
    rows = small_batch()
    result = run_suite(rows)
    text = summarize_template(rows[2], result.findings_by_contract[rows[2].id])
    assert text.startswith(f"Contrato nº {rows[2].numero}")
    assert "3 alertas" in text and "R$ 600.000,00" in text and "50,0 %" in text
    assert text.count(CAVEAT) == 1 and text.endswith(CAVEAT)
    assert "Aumento de valor além do limite de acréscimos (gravidade" in text
    empty = summarize_template(rows[3], [])
    assert "nenhum indicador" in empty and "não certifica" in empty
