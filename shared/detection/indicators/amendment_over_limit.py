"""amendment_over_limit: the contract's value grew beyond the legal cap for unilateral increases.

Definition: the final value exceeds the initial value by more than the cap of Lei 14.133/2021
art. 125: 25 % of the updated initial value, or 50 % when the object is the renovation of a
building or equipment (the normalised ``objeto`` contains a renovation term such as "reforma").

Formula: ``r = valorFinalCompra / valorInicialCompra - 1``; flag when ``r > cap``.

Legal basis: Lei 14.133/2021 art. 125 (Lei 8.666/1993 art. 65 §1º had the same 25 %/50 %). The caps
and the renovation terms are data (``data/legal.json``). Extensions of term and price
readjustments also raise ``valorFinalCompra`` without breaking the cap, hence medium severity.

Thresholds (settings, handbook defaults): ``cap`` = 0.25, ``renovation_cap`` = 0.50 (both default to
the legal table); severity ``medium``, ``high`` when ``r > high_multiple × cap`` with
``high_multiple`` = 2. Score ``0.4 + 0.4 × (r − cap) / cap``, capped to [0.4, 1].

Fields read: ``valorInicialCompra``, ``valorFinalCompra``, ``objeto``.

Insufficient data: either value missing, or an initial value of zero or less (no ratio exists).
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
from shared.detection.explain import brl, pct
from shared.detection.legal import amendment_caps
from shared.domain import Severity

CODE = "amendment_over_limit"
VERSION = "1.0"
_CAP, _RENOVATION_CAP = amendment_caps()


class Config(IndicatorConfig):
    cap: float = Field(default=_CAP, gt=0)
    renovation_cap: float = Field(default=_RENOVATION_CAP, gt=0)
    high_multiple: float = Field(default=2.0, gt=1)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult()
    for i, contract in enumerate(batch.contracts):
        if not batch.reportable(i):
            continue
        initial, final = batch.value[i], contract.valor_final
        if initial is None or final is None or initial <= 0:
            result.insufficient += 1
            continue
        ratio = float(final) / initial - 1
        renovation = batch.obj[i].renovation
        cap = config.renovation_cap if renovation else config.cap
        if ratio <= cap:
            continue
        high = ratio > config.high_multiple * cap
        kind = "de reforma (limite de 50 %)" if renovation else "comum (limite de 25 %)"
        sentence = (
            f"O valor do contrato passou de {brl(initial)} para {brl(float(final))}, um aumento de {pct(ratio)}, "
            f"acima do limite de {pct(cap, 0)} para acréscimos em objeto {kind} do art. 125 da Lei 14.133/2021; "
            "prorrogações e reajustes também elevam o valor e precisam ser conferidos."
        )
        result.contract_findings.append(
            contract_finding(
                CODE,
                contract,
                severity=Severity.HIGH if high else Severity.MEDIUM,
                score=clamp(0.4 + 0.4 * (ratio - cap) / cap, 0.4, 1.0),
                value=round(ratio, 6),
                threshold=cap,
                baseline={"limite": cap, "reforma": renovation, "base_legal": "Lei 14.133/2021, art. 125"},
                fields=("valorInicialCompra", "valorFinalCompra", "objeto"),
                sentence=sentence,
            )
        )
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Aditivo acima do limite legal", Config, evaluate, __doc__ or "")
