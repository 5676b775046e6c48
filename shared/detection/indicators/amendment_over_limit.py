"""amendment_over_limit: the contract's value grew beyond the cap on acréscimos, and the term does not explain it.

Definition: the cap on acréscimos (quantitative or qualitative changes) is 25 % of the updated
initial value, 50 % for the reforma of buildings or equipment: Lei 14.133/2021 art. 125
(https://www.planalto.gov.br/ccivil_03/_ato2019-2022/2021/lei/l14133.htm), Lei 8.666/1993 art.
65 §1º (https://www.planalto.gov.br/ccivil_03/leis/l8666cons.htm), Lei 13.303/2016 art. 81 §1º;
the finding cites the one of the contract's regime.

Legal basis: the articles above. The cap does **not** apply to prorrogações of
continuous services (Lei 14.133 arts. 106–107, up to ten years; Lei 8.666 art. 57 II, up to 60
months), whose value grows with the term, nor to reajuste or repactuação.
``valorFinalCompra / valorInicialCompra`` alone cannot tell these apart, so:

Formula: ``r = valorFinalCompra / valorInicialCompra − 1``; nothing when ``r <= cap``. For a
continuous service (object class or the word "continuado"), growth is compared per year of
vigência: with ``T`` the current vigência in months and ``T0`` the first term (the earliest stored
version's vigência when there is one, else *assumed* to be at most 12 months, the usual first
term — an assumption that can only under-flag), ``g = (final / T) / (initial / T0) − 1``.
``g <= cap`` means the growth is explained by the term: no finding. A continuous service without
vigência dates is uncertain: **low**, with the doubt stated. Otherwise (growth not explained by
the term) **medium**, **high** when the growth is above ``high_multiple`` × cap.

Termos aditivos: for a candidate contract the pipeline may pass the Portal's termos aditivos
(``/contratos/termo-aditivo``, texts in ``objetoAditivo``). When every termo names only
prorrogação, reajuste or repactuação, the growth may come from them: the finding drops to **low**
with that said. When the endpoint did not answer, the baseline records ``termos_aditivos`` =
``desconhecido`` and the finding stands as computed.

Thresholds (settings, handbook defaults): ``cap`` = 0.25, ``renovation_cap`` = 0.50 (from the legal
table), ``high_multiple`` = 2, ``first_term_months`` = 12. Score: unexplained ``0.5 + 0.4 × (g −
cap) / cap`` in [0.5, 1]; uncertain 0.2.

Fields read: ``valorInicialCompra``, ``valorFinalCompra``, ``objeto``, ``dataInicioVigencia``,
``dataFimVigencia`` (and the earliest stored version's vigência when the pipeline has one).

Insufficient data: either value missing, or an initial value of zero or less (no ratio exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import brl, number, pct
from shared.detection.legal import LAW_8666, LAW_13303, amendment_caps
from shared.detection.text import fold, object_info
from shared.domain import Contract, Severity

CODE = "amendment_over_limit"
VERSION = "2.0"
_CAP, _RENOVATION_CAP = amendment_caps()
_MONTH = 30.4375
_ARTICLE = {LAW_8666: "Lei 8.666/1993, art. 65, §1º", LAW_13303: "Lei 13.303/2016, art. 81, §1º"}
_TERM_WORDS = ("prorroga", "vigencia", "reajust", "repactua", "prazo")
_INCREASE_WORDS = ("acresc", "quantitativ", "qualitativ", "inclusao de ite", "aumento")


class Config(IndicatorConfig):
    cap: float = Field(default=_CAP, gt=0)
    renovation_cap: float = Field(default=_RENOVATION_CAP, gt=0)
    high_multiple: float = Field(default=2.0, gt=1)
    first_term_months: float = Field(default=12.0, gt=0)


def _months(start: date | None, end: date | None) -> float | None:
    if start is None or end is None or end <= start:
        return None
    return (end - start).days / _MONTH


def candidates(contracts: Sequence[Contract], config: Config | None = None) -> list[int]:
    """Ids whose value grew past the plain cap: the contracts whose termos aditivos are worth reading."""
    config = config or Config()
    out = []
    for c in contracts:
        if c.valor_inicial is None or c.valor_final is None or c.valor_inicial <= 0:
            continue
        cap = config.renovation_cap if object_info(c.objeto).renovation else config.cap
        if float(c.valor_final) / float(c.valor_inicial) - 1 > cap:
            out.append(c.id)
    return out


def _termos(texts: tuple[str, ...]) -> str:
    """"prazo" when every termo names only term/price adjustments, "acrescimo" when one names an increase."""
    folded = [fold(t) for t in texts]
    if any(any(w in t for w in _INCREASE_WORDS) for t in folded):
        return "acrescimo"
    if folded and all(any(w in t for w in _TERM_WORDS) for t in folded):
        return "prazo"
    return "indeterminado"


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    first = context.first_vigencia or {}
    termos = context.amendments or {}
    for i, contract in batch.rows():
        initial, final = batch.value[i], contract.valor_final
        if initial is None or final is None or initial <= 0:
            result.lacking("sem_valor_inicial_ou_final")
            continue
        ratio = float(final) / initial - 1
        obj = batch.obj[i]
        cap = config.renovation_cap if obj.renovation else config.cap
        if ratio <= cap:
            continue
        ratio = round(ratio, 6)  # the stored figure is the one the sentence states
        regime = batch.regime[i]
        article = _ARTICLE.get(regime.law, "Lei 14.133/2021, art. 125")
        kind = f"de reforma (limite de {pct(cap, 0)})" if obj.renovation else f"(limite de {pct(cap, 0)})"
        growth_text = (f"O valor do contrato passou de {brl(initial)} para {brl(float(final))}, aumento de {pct(ratio)}, "
                       f"acima do limite de acréscimos {kind} do {article}")
        baseline: dict[str, object] = {"limite": cap, "reforma": obj.renovation, "base_legal": article,
                                       "aumento_total": round(ratio, 6), "servico_continuo": obj.continuous}
        fields = ("valorInicialCompra", "valorFinalCompra", "objeto")
        measured, severity, score = ratio, Severity.MEDIUM, 0.0
        doubt = ""
        if obj.continuous:
            term = _months(contract.data_inicio_vigencia, contract.data_fim_vigencia)
            stored = first.get(contract.id)
            first_term = _months(*stored) if stored else None
            assumed = first_term is None
            if term is None:
                severity, score = Severity.LOW, 0.2
                doubt = (" Por ser serviço contínuo, o aumento pode vir de prorrogações (que não se sujeitam a esse limite), "
                         "mas a vigência não foi informada: não é possível comparar por ano.")
            else:
                term = round(term, 1)
                base_term = round(first_term if first_term is not None else min(config.first_term_months, term), 1)
                per_year = round((float(final) / max(term, base_term)) / (initial / base_term) - 1, 6)
                baseline.update({"vigencia_meses": round(term, 1), "primeira_vigencia_meses": round(base_term, 1),
                                 "primeira_vigencia_presumida": assumed, "aumento_por_periodo": round(per_year, 6)})
                if per_year <= cap:
                    continue  # the growth follows the term: prorrogação, not acréscimo
                measured = per_year
                doubt = (f" Mesmo comparando por período de vigência ({number(term, 1)} meses de vigência, primeira vigência "
                         f"de {number(base_term, 1)} meses{' presumida' if assumed else ''}), o aumento é de {pct(per_year)}"
                         ", o que a prorrogação de serviço contínuo não explica.")
        if severity is not Severity.LOW:
            severity = Severity.HIGH if measured > config.high_multiple * cap else Severity.MEDIUM
            score = clamp(0.5 + 0.4 * (measured - cap) / cap, 0.5, 1.0)
        if contract.id in termos:
            texts = termos[contract.id]
            if texts is None:
                baseline["termos_aditivos"] = "desconhecido"
                doubt += " Os termos aditivos não puderam ser consultados no Portal."
            else:
                reading = _termos(texts)
                baseline["termos_aditivos"] = {"n": len(texts), "leitura": reading}
                if reading == "prazo" and severity is not Severity.LOW:
                    severity, score = Severity.LOW, 0.2
                    doubt += (f" Os {len(texts)} termos aditivos publicados tratam só de prazo, reajuste ou repactuação, "
                              "que podem explicar o aumento.")
                elif reading == "acrescimo":
                    doubt += " Há termo aditivo que menciona acréscimo."
        sentence = (f"{growth_text}.{doubt} Prorrogações, reajustes e repactuações não se sujeitam a esse limite e "
                    "devem ser conferidos nos termos aditivos.")
        result.flag(i, severity=severity, score=score, value=round(measured, 6), threshold=cap, baseline=baseline,
                    fields=(*fields, "dataInicioVigencia", "dataFimVigencia"), sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Aumento de valor além do limite de acréscimos", Config, evaluate, __doc__ or "")
