"""Every number an explanation states is one of the finding's own fields, and no explanation states illegality as fact.

Run over the simulator's data set (every indicator fires there): each ``R$`` amount and each
percentage in an explanation must equal, as formatted, a number the finding carries (its value,
threshold, baseline or the contract fields it read); the regime it names is the one stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from shared.detection.explain import brl, number, pct
from shared.detection.legal import LAW_LABEL
from shared.detection.suite import SuiteResult
from shared.domain import Finding
from shared.evaluation.quality import evaluate_dataset
from shared.portal.simulator.dataset import generate_dataset

MONEY = re.compile(r"R\$ \d{1,3}(?:\.\d{3})*,\d{2}")
PERCENT = re.compile(r"(?<![\d,.])(\d{1,3}(?:\.\d{3})*(?:,\d+)?) %")
ACCUSATIONS = ("é ilegal", "é irregular", "houve fraude", "fraudou", "impede contratar com quem está sancionado")


@cache
def suite() -> SuiteResult:
    return evaluate_dataset(generate_dataset(5, scale=0.3))[1]


def findings() -> Iterator[Finding]:
    result = suite()
    for found in result.findings_by_contract.values():
        yield from found
    for found in result.orgao_findings.values():
        yield from found


def leaves(value: Any) -> Iterator[float]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)


def formatted(finding: Finding) -> tuple[set[str], set[str]]:
    numbers = [*leaves(finding.value), *leaves(finding.threshold), *leaves(finding.baseline), *leaves(finding.fields)]
    money = {brl(v) for v in numbers}
    percents = {pct(v, d).removesuffix(" %") for v in numbers for d in (0, 1)}
    percents |= {number(v, d) for v in numbers for d in (0, 1)}
    return money, percents


def test_it_states_only_numbers_the_finding_carries() -> None:
    checked = 0
    for finding in findings():
        money, percents = formatted(finding)
        for amount in MONEY.findall(finding.explanation):
            assert amount in money, f"{finding.indicator}: {amount} is not a field of the finding\n{finding.explanation}"
            checked += 1
        for share in PERCENT.findall(finding.explanation):
            if share == "100":
                continue  # the top of the 80-100 % band, a constant of the rule
            assert share in percents, f"{finding.indicator}: {share} % is not a field of the finding\n{finding.explanation}"
            checked += 1
    assert checked > 100


def test_it_names_the_stored_regime_and_never_states_illegality_as_fact() -> None:
    seen = set()
    for finding in findings():
        text = finding.explanation.lower()
        assert not any(word in text for word in ACCUSATIONS), finding.explanation
        assert "não prova de irregularidade" in text
        if finding.subject_type == "contract":
            assert LAW_LABEL[finding.baseline["regime"]] in finding.explanation
            assert finding.baseline["regime_fonte"] in {"fundamentoLegal", "modalidadeCompra", "dataAssinatura", "desconhecido"}
            seen.add(finding.indicator)
    assert len(seen) >= 7
