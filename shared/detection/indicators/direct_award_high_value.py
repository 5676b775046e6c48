"""direct_award_high_value: a high-value contract awarded without competition.

Definition: a direct award (dispensa or inexigibilidade, read from ``modalidadeCompra`` or
``fundamentoLegal``) whose value is above ``value_threshold``.

Formula: the handbook's pre-screen score, ``score = value_weight × [value > value_threshold] +
direct_weight × [direct award]``; flag when ``score >= min_score``. With the defaults (2, 3) a
score of 5 means exactly "direct award above R$ 100 000". The handbook's literal "score >= 3"
would flag every direct award of any value (3 points come from the modality alone), turning the
indicator into a count of dispensas, so ``min_score`` defaults to 5; set it to 3 to get the
literal reading.

Legal basis: Lei 14.133/2021 art. 72 (the direct-contracting process must justify price and the
choice of supplier), art. 74 (inexigibilidade) and art. 75 (dispensa). Direct awards are lawful;
a large one without competition simply deserves a look.

Thresholds (settings, handbook defaults): ``value_threshold`` = R$ 100 000, ``value_weight`` = 2,
``direct_weight`` = 3, ``min_score`` = 5. Severity ``low`` alone (the risk score raises the weight
of the contract's other flags when this one is present). Score ``0.2 + 0.1 × log10(value /
value_threshold)``, in [0.2, 0.4].

Fields read: ``modalidadeCompra``, ``fundamentoLegal``, ``valorInicialCompra``.

Modality text such as "Não se aplica" or "Sem informação" is unknown, not competitive
(:func:`shared.detection.legal.award_info`).

Insufficient data: no value, or neither ``modalidadeCompra`` nor ``fundamentoLegal`` says how the
contract was awarded.
"""

from __future__ import annotations

import math

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import brl
from shared.detection.legal import LAW_8666, LAW_13303, LAW_14133
from shared.domain import Severity

CODE = "direct_award_high_value"
VERSION = "2.0"
_ARTICLES = {LAW_14133: "Lei 14.133/2021, arts. 72 a 75", LAW_8666: "Lei 8.666/1993, arts. 24 a 26",
             LAW_13303: "Lei 13.303/2016, arts. 29 e 30"}


class Config(IndicatorConfig):
    value_threshold: float = Field(default=100_000.0, gt=0)
    value_weight: int = Field(default=2, ge=0)
    direct_weight: int = Field(default=3, ge=0)
    min_score: int = Field(default=5, ge=1)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    for i, _ in batch.rows():
        value, award = batch.value[i], batch.award[i]
        if value is None or award.kind is None:
            result.lacking("sem_valor_ou_modalidade")
            continue
        high_value = value > config.value_threshold
        points = config.value_weight * high_value + config.direct_weight * award.direct
        if points < config.min_score:
            continue
        label = "dispensa de licitação" if award.kind == "dispensa" else (
            "inexigibilidade de licitação" if award.kind == "inexigibilidade" else "modalidade competitiva")
        sentence = (
            f"Contrato de {brl(value)} firmado por {label}"
            + (f", acima de {brl(config.value_threshold)}" if high_value else "")
            + f" (pontuação de triagem {points}, mínimo {config.min_score}); contratações diretas são legais "
            f"({_ARTICLES[batch.regime[i].law]}), mas as de valor alto pedem conferir a justificativa de preço e da escolha do fornecedor."
        )
        result.flag(
            i, severity=Severity.LOW,
            score=clamp(0.2 + 0.1 * math.log10(max(value, 1.0) / config.value_threshold), 0.2, 0.4),
            value=float(points), threshold=float(config.min_score),
            baseline={"valor": value, "limite_valor": config.value_threshold, "tipo": award.kind,
                      "pontos_valor": config.value_weight * high_value, "pontos_direta": config.direct_weight * award.direct},
            fields=("modalidadeCompra", "fundamentoLegal", "valorInicialCompra"), sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Contratação direta de valor alto", Config, evaluate, __doc__ or "")
