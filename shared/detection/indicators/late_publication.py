"""late_publication: the contract's extract appeared in the DOU after the deadline of its regime.

Definition: by the regime of the contract (:func:`shared.detection.legal.regime_of`); Legal basis per regime:

* **Lei 8.666/1993**, art. 61 parágrafo único: the summary of the contract must be arranged for
  publication in the imprensa oficial "até o quinto dia útil do mês seguinte ao de sua assinatura,
  para ocorrer no prazo de vinte dias daquela data". The deadline is the 5th business day of the
  month after signature plus 20 days, counted as consecutive days with the end moved to the next
  day with expediente (art. 110 and its parágrafo único). ``dataPublicacaoDOU`` after it →
  **medium** (**high** beyond ``high_multiple`` × 20 days late). Example: signed 2023-03-10; 5th
  business day of April 2023 is 04-10 (Good Friday 04-07 is not one); +20 days = 04-30, a Sunday,
  so the deadline is 05-02 (05-01 is a holiday); a publication on 04-20 is on time.
  Source: https://www.planalto.gov.br/ccivil_03/leis/l8666cons.htm (arts. 61 and 110).
* **Lei 14.133/2021**: the condition of efficacy is publication in the **PNCP** (art. 94: 20
  business days after signature for a licitação, 10 for contratação direta), not in the DOU. The
  Portal gives only the DOU date, so a DOU date past those business days is at most **low**, and
  the explanation says that the legal deadline concerns the PNCP.
  Source: https://www.planalto.gov.br/ccivil_03/_ato2019-2022/2021/lei/l14133.htm (art. 94).
* **Lei 13.303/2016** sets no DOU deadline for contract extracts: not evaluated (reason
  ``regime_sem_prazo_dou``).

Formula: Lei 8.666, ``dataPublicacaoDOU > art61_deadline(dataAssinatura)``; Lei 14.133, business
days in (signature, publication] above the art. 94 count. Business days exclude weekends, national holidays and Good Friday, and Carnival Monday and Tuesday
(pontos facultativos in the federal administration, treated as days without expediente), from
``data/legal.json``. When the regime was presumed from the date, the explanation says so.

Thresholds (settings, handbook defaults): ``max_business_days`` = 20, ``max_business_days_direct``
= 10 (Lei 14.133 art. 94), ``high_multiple`` = 3. Scores: Lei 8.666 ``0.3 + 0.5 × days_late /
40`` in [0.3, 0.8]; Lei 14.133 0.1.

Fields read: ``dataAssinatura``, ``dataPublicacaoDOU``, ``modalidadeCompra``, ``fundamentoLegal``.

Insufficient data: either date missing, a publication dated before the signature (an error in the
record, not a delay), or dates outside the calendar table (1990–2040).
"""

from __future__ import annotations

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import day
from shared.detection.legal import (
    LAW_8666,
    LAW_13303,
    art61_deadline,
    business_days_after,
    publication_deadlines,
)
from shared.domain import Severity

CODE = "late_publication"
VERSION = "2.0"
_DEFAULT, _DIRECT = publication_deadlines()
_FIELDS = ("dataAssinatura", "dataPublicacaoDOU", "modalidadeCompra", "fundamentoLegal")


class Config(IndicatorConfig):
    max_business_days: int = Field(default=_DEFAULT, ge=1)
    max_business_days_direct: int = Field(default=_DIRECT, ge=1)
    high_multiple: float = Field(default=3.0, gt=1)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    for i, contract in batch.rows():
        signed, published = contract.data_assinatura, contract.data_publicacao_dou
        if signed is None or published is None or published < signed:
            result.lacking("datas_ausentes_ou_incoerentes")
            continue
        regime = batch.regime[i]
        if regime.law == LAW_13303:
            result.lacking("regime_sem_prazo_dou")
            continue
        if regime.law == LAW_8666:
            deadline = art61_deadline(signed)
            if deadline is None:
                result.lacking("fora_do_calendario")
                continue
            if published <= deadline:
                continue
            late = (published - deadline).days
            sentence = (f"Assinado em {day(signed)} e publicado no DOU em {day(published)}, {late} dias depois do prazo de "
                        f"{day(deadline)}: o extrato deve ser providenciado até o 5º dia útil do mês seguinte à assinatura, "
                        "para publicação em 20 dias dessa data (Lei 8.666/1993, art. 61, parágrafo único, com a contagem do "
                        "art. 110); a publicação é condição de eficácia do contrato.")
            result.flag(
                i, severity=Severity.HIGH if late > config.high_multiple * 20 else Severity.MEDIUM,
                score=clamp(0.3 + 0.5 * late / 40, 0.3, 0.8), value=float(late), threshold=0.0,
                baseline={"prazo": deadline.isoformat(), "dias_de_atraso": late,
                          "base_legal": "Lei 8.666/1993, art. 61, parágrafo único"},
                fields=_FIELDS, sentence=sentence)
            continue
        days = business_days_after(signed, published)
        if days is None:
            result.lacking("fora_do_calendario")
            continue
        direct = batch.award[i].direct
        limit = config.max_business_days_direct if direct else config.max_business_days
        if days <= limit:
            continue
        sentence = (f"Assinado em {day(signed)} e publicado no DOU em {day(published)}, {days} dias úteis depois. Na Lei "
                    f"14.133/2021 o prazo legal (art. 94: {limit} dias úteis para "
                    f"{'contratação direta' if direct else 'contratos de licitação'}) é o da divulgação no Portal Nacional "
                    "de Contratações Públicas (PNCP), que estes dados não trazem; a data do DOU só sugere conferir o PNCP.")
        result.flag(i, severity=Severity.LOW, score=0.1, value=float(days), threshold=float(limit),
                    baseline={"dias_uteis": days, "prazo": limit, "contratacao_direta": direct,
                              "base_legal": "Lei 14.133/2021, art. 94 (prazo no PNCP)"},
                    fields=_FIELDS, sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Publicação no DOU após o prazo de referência", Config, evaluate, __doc__ or "")
