"""late_publication: the contract was published long after it was signed.

Definition: business days from ``dataAssinatura`` to ``dataPublicacaoDOU`` above the deadline:
``max_business_days`` for contracts from a licitação, ``max_business_days_direct`` for direct
awards (dispensa, inexigibilidade).

Formula: business days in (signature, publication]: weekdays that are not national holidays
(fixed holidays and Good Friday, from ``data/legal.json``), counted with a cumulative table.
Flag ``days > limit``. When the text does not say how the contract was awarded, the longer
(licitação) deadline applies, which can only under-flag.

Legal basis: Lei 14.133/2021 art. 94 (publication in the PNCP is a condition of the contract's
effect, within 20 business days of signature for licitações and 10 for direct contracting);
Lei 8.666/1993 art. 61 sole paragraph required the extract in the official press as well.

Thresholds (settings, handbook defaults): ``max_business_days`` = 20,
``max_business_days_direct`` = 10. Severity ``medium``; ``high`` beyond ``high_multiple`` (3) ×
the limit. Score ``0.3 + 0.5 × (days − limit) / (2 × limit)``, in [0.3, 0.8].

Fields read: ``dataAssinatura``, ``dataPublicacaoDOU``, ``modalidadeCompra``, ``fundamentoLegal``.

Insufficient data: either date missing, a publication dated before the signature (an error in the
record, not a delay), or dates outside the calendar table (1990–2040).
"""

from __future__ import annotations

from pydantic import Field

from shared.detection.base import (
    Context,
    IndicatorConfig,
    IndicatorResult,
    IndicatorSpec,
    clamp,
    contract_finding,
)
from shared.detection.batch import Batch
from shared.detection.explain import day
from shared.detection.legal import business_days_after, publication_deadlines
from shared.domain import Severity

CODE = "late_publication"
VERSION = "1.0"
_DEFAULT, _DIRECT = publication_deadlines()


class Config(IndicatorConfig):
    max_business_days: int = Field(default=_DEFAULT, ge=1)
    max_business_days_direct: int = Field(default=_DIRECT, ge=1)
    high_multiple: float = Field(default=3.0, gt=1)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult()
    for i, contract in enumerate(batch.contracts):
        if not batch.reportable(i):
            continue
        signed, published = contract.data_assinatura, contract.data_publicacao_dou
        if signed is None or published is None or published < signed:
            result.insufficient += 1
            continue
        days = business_days_after(signed, published)
        if days is None:
            result.insufficient += 1
            continue
        direct = batch.award[i].direct
        limit = config.max_business_days_direct if direct else config.max_business_days
        if days <= limit:
            continue
        sentence = (
            f"Assinado em {day(signed)} e publicado no DOU em {day(published)}: {days} dias úteis depois, acima do prazo "
            f"de {limit} dias úteis para {'contratação direta' if direct else 'contratos de licitação'} "
            "(Lei 14.133/2021, art. 94); a publicação é condição de eficácia do contrato."
        )
        result.contract_findings.append(
            contract_finding(
                CODE,
                contract,
                severity=Severity.HIGH if days > config.high_multiple * limit else Severity.MEDIUM,
                score=clamp(0.3 + 0.5 * (days - limit) / (2 * limit), 0.3, 0.8),
                value=float(days),
                threshold=float(limit),
                baseline={"dias_uteis": days, "prazo": limit, "contratacao_direta": direct,
                          "base_legal": "Lei 14.133/2021, art. 94"},
                fields=("dataAssinatura", "dataPublicacaoDOU", "modalidadeCompra", "fundamentoLegal"),
                sentence=sentence,
            )
        )
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Publicação atrasada", Config, evaluate, __doc__ or "")
