"""What every indicator shares: the batch's reportable rows, and findings that carry the code, contract and regime."""

from __future__ import annotations

from shared.detection.base import IndicatorResult
from shared.detection.batch import prepare
from shared.detection.explain import CAVEAT
from shared.domain import Severity
from tests.unit.detection.helpers import contract


def test_it_walks_every_contract_without_a_focus_and_only_the_focus_with_one() -> None:
    rows = [contract(), contract(), contract()]
    assert [c.id for _i, c in prepare(rows).rows()] == [c.id for c in rows]
    focused = prepare(rows, focus=[rows[2].id, rows[0].id])
    assert [(i, c.id) for i, c in focused.rows()] == [(0, rows[0].id), (2, rows[2].id)]


def test_it_fills_a_contract_finding_from_the_batch_row() -> None:
    other, c = contract(), contract(valor_inicial=500_000)
    batch = prepare([c, other])
    assert batch.contracts[1] is c and batch.contracts[0] is other
    result = IndicatorResult("some_code", batch)
    result.flag(1, severity=Severity.MEDIUM, score=1.7, value=2.0, threshold=1.0, baseline={"n": 3},
                fields=("valorInicialCompra", "dataAssinatura"), sentence="Frase.")
    [finding] = result.contract_findings
    regime = batch.regime[1]
    assert (finding.indicator, finding.subject_type, finding.subject_id, finding.contract_id) == (
        "some_code", "contract", str(c.id), c.id)
    assert finding.score == 1.0 and finding.orgao_codigo == c.orgao_codigo
    assert finding.explanation == f"Frase. {regime.sentence()} {CAVEAT}"
    assert finding.baseline == {"n": 3, **regime.as_baseline()}
    assert finding.fields == {"dataAssinatura": "2024-03-04", "valorInicialCompra": 500_000.0}


def test_it_keys_an_orgao_finding_by_orgao_and_year() -> None:
    result = IndicatorResult("some_code", prepare([contract()]))
    result.flag_orgao("26201", 2024, severity=Severity.LOW, score=-0.5, value=0.1, threshold=0.2, baseline={"n": 9},
                      sentence="Frase.")
    [finding] = result.orgao_findings
    assert (finding.subject_type, finding.subject_id, finding.orgao_codigo, finding.score) == ("orgao", "26201:2024", "26201", 0.0)
    assert finding.baseline == {"ano": 2024, "n": 9} and finding.explanation == f"Frase. {CAVEAT}"
    assert result.contract_findings == []
