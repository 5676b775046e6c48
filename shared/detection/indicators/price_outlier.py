"""price_outlier: a contract whose *value* is far above its peers', by a robust z-score of log value.

What it measures is the contract's total value (``valorInicialCompra``), not a unit price: the
Portal has no item quantities, and the explanation says "valor", never "preço".

Definition: the contract's value is extreme within its peer group: same object class (from the
normalised ``objeto``; classes are narrow rules in ``data/text.json`` so that unrelated objects
do not share one — road works are not cleaning), widened step by step until the group has at
least ``min_peers`` members *besides the contract*: (1) órgão + class + year, (2) órgão + class,
all years, (3) modality + class + year, (4) class + year, (5) class. Levels 3–5 span órgãos only
when the batch holds several órgãos (the quality run, a benchmark); the pipeline analyses one
órgão at a time and passes no stored cross-órgão baselines, so there the label says the group is
the órgão's own contracts and never claims a comparison across órgãos.

Formula: with ``x = ln(valorInicialCompra)`` and the median and MAD of the ``ln`` values of the
group *without the contract itself* (computed exactly for every candidate; a baseline
precomputed elsewhere cannot leave it out, which with n ≥ 20 moves M by a few percent at most),
the Iglewicz–Hoaglin modified z-score ``M = 0.6745 × (x − median) / MAD``; flag ``M > threshold``
(only expensive outliers; cheap ones are not a procurement risk of this kind). When MAD is 0
(more than half the peers share one value) the mean absolute deviation is used instead,
``M = (x − median) / (1.253314 × meanAD)``. A plain mean/standard-deviation z-score is not used:
public spending is heavy-tailed and the outliers themselves would inflate the deviation.

Legal basis: none specific; overpricing (sobrepreço) is what Lei 14.133/2021 art. 23 (valor
estimado compatível com o mercado) and TCU audits look for. Without item-level data (CATMAT/
CATSER) this compares whole contracts of one object class, so it is a screen, not a price audit.

Thresholds (settings, handbook defaults): ``threshold`` = 3.5, ``min_peers`` = 20. Severity
``medium``, ``high`` when M exceeds ``high_threshold`` = 7. Score ``0.4 + 0.6 × (M − 3.5) / 7``, in [0.4, 1].

Fields read: ``valorInicialCompra``, ``objeto``, ``unidadeGestora.orgaoVinculado.codigoSIAFI``,
``modalidadeCompra``/``fundamentoLegal`` (modality group), ``dataAssinatura`` (year).

Insufficient data: no positive value, no object class (empty ``objeto``), or fewer than
``min_peers`` peers even at the widest level, or a group with no spread at all.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.baselines import PeerGroups, PeerStats
from shared.detection.batch import Batch
from shared.detection.explain import brl, number
from shared.domain import Severity

CODE = "price_outlier"
VERSION = "2.0"
LEVELS = ("orgao+classe+ano", "orgao+classe", "modalidade+classe+ano", "classe+ano", "classe")
_LEVEL_PT = {
    "orgao+classe+ano": "mesmo órgão, mesma classe de objeto e mesmo ano",
    "orgao+classe": "mesmo órgão e mesma classe de objeto (todos os anos)",
    "modalidade+classe+ano": "mesma modalidade, mesma classe de objeto e mesmo ano",
    "classe+ano": "mesma classe de objeto e mesmo ano",
    "classe": "mesma classe de objeto (todos os anos)",
}
_CROSS = {"modalidade+classe+ano", "classe+ano", "classe"}
# Candidates get the exact leave-one-out score; far below the threshold it cannot cross it.
_CANDIDATE = 0.55


class Config(IndicatorConfig):
    threshold: float = Field(default=3.5, gt=0)
    min_peers: int = Field(default=20, ge=3)
    high_threshold: float = Field(default=7.0, gt=0)


def peer_keys(orgao: str | None, cls: str, year: int | None, modality: str) -> tuple[tuple[Hashable, ...] | None, ...]:
    """The contract's key at each level (None where a needed field is missing)."""
    return (
        (orgao, cls, year) if orgao and year is not None else None,
        (orgao, cls) if orgao else None,
        (modality, cls, year) if year is not None else None,
        (cls, year) if year is not None else None,
        (cls,),
    )


def _score(x: float, stats: PeerStats) -> float | None:
    if stats.mad > 0:
        return 0.6745 * (x - stats.median) / stats.mad
    if stats.mean_abs_dev > 0:
        return (x - stats.median) / (1.253314 * stats.mean_abs_dev)
    return None


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    groups = PeerGroups(len(LEVELS), context.price_baselines)
    orgaos = len({c.orgao_codigo for c in batch.contracts})
    logs: list[float | None] = [None] * len(batch)
    contracts, objs, years, awards = batch.contracts, batch.obj, batch.year, batch.award
    for i, value in enumerate(batch.value):
        cls = objs[i].object_class
        if value is None or value <= 0 or cls is None:
            if batch.reportable(i):
                result.lacking("sem_valor_ou_classe")
            continue
        log_value = logs[i] = math.log(value)
        groups.add(peer_keys(contracts[i].orgao_codigo, cls, years[i], awards[i].modality_group), log_value)
    # Second pass: keys are rebuilt rather than kept, which saves ~0.5 KB per contract at scale.
    for i, x in enumerate(logs):
        if x is None or not batch.reportable(i):
            continue
        cls = objs[i].object_class
        assert cls is not None
        keys = peer_keys(contracts[i].orgao_codigo, cls, years[i], awards[i].modality_group)
        level = next((lv for lv, key in enumerate(keys) if key is not None and groups.count(lv, key) > config.min_peers), None)
        if level is None:
            result.lacking("poucos_pares")
            continue
        key = keys[level]
        assert key is not None
        stats = groups.stats(level, key)
        m = _score(x, stats)
        if m is None:
            result.lacking("grupo_sem_dispersao")
            continue
        if m <= _CANDIDATE * config.threshold:
            continue
        without = groups.stats_without(level, key, x)
        if without is not None:
            stats = without
            m = _score(x, stats)
            if m is None:
                result.lacking("grupo_sem_dispersao")
                continue
        m = round(m, 4)
        if m <= config.threshold:
            continue
        amount = batch.value[i] or 0.0
        median_brl = math.exp(stats.median)
        label = _LEVEL_PT[LEVELS[level]]
        if LEVELS[level] in _CROSS:
            label += " (todos os órgãos analisados)" if orgaos > 1 else " (contratos deste órgão)"
        sentence = (
            f"O valor do contrato, {brl(amount)}, está muito acima do típico para contratos de "
            f"{label} (classe '{batch.obj[i].object_class}', {stats.n} outros contratos, mediana "
            f"{brl(median_brl)}, quartis {brl(math.exp(stats.q1))} a {brl(math.exp(stats.q3))}): escore robusto "
            f"{number(m, 1)} contra o limite de {number(config.threshold, 1)} (Iglewicz–Hoaglin, sobre o logaritmo do "
            f"valor), cerca de {number(amount / median_brl if amount else 0.0, 1)} vezes a mediana. Compara o valor total, não preços unitários."
        )
        result.flag(
            i, severity=Severity.HIGH if m > config.high_threshold else Severity.MEDIUM,
            score=clamp(0.4 + 0.6 * (m - config.threshold) / 7.0, 0.4, 1.0), value=round(m, 4),
            threshold=config.threshold,
            baseline={
                "nivel": LEVELS[level], "grupo": list(key), "n": stats.n,
                "mediana": round(median_brl, 2), "mad_log": round(stats.mad, 6),
                "q1": round(math.exp(stats.q1), 2), "q3": round(math.exp(stats.q3), 2),
                "razao_mediana": round(amount / median_brl, 1) if amount else 0.0,
                "orgaos_no_lote": orgaos, "contrato_fora_da_base": without is not None,
            },
            fields=("valorInicialCompra", "objeto", "unidadeGestora.orgaoVinculado.codigoSIAFI",
                    "modalidadeCompra", "dataAssinatura"),
            sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Valor fora do padrão dos pares", Config, evaluate, __doc__ or "")
