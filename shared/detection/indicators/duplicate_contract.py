"""duplicate_contract: the same object bought twice from the same supplier by the same unit, days apart.

Definition: two contracts with the same supplier and the same unidade gestora, a near-identical
object, values within ``value_tolerance`` of each other, signed within ``window_days``.

Formula: contracts are bucketed by (supplier document, unidade gestora) in one pass and sorted by
signature date inside each bucket, so only contracts of one bucket inside one window are ever
compared (never every pair of the batch). A pair matches when the token-set Jaccard of the
normalised ``objeto`` is ``>= min_jaccard`` and ``|a − b| / max(a, b) <= value_tolerance``.
Both contracts of a pair carry a finding that names the other.

Not a duplicate: different lots or items of one process — the same ``numeroProcesso`` with
objects that differ in the lot/item number ("Lote 1" / "Lote 2", "Item 3" / "Item 4"). Dividing a
purchase into lots is what the law asks for (Lei 14.133/2021 art. 40 V b and §§ 2º–3º, the
parcelamento principle; Lei 8.666/1993 art. 23 §1º), so such pairs are left out.

Legal basis: none specific; duplicate payment or a contract signed twice for one need conflicts
with Lei 14.133/2021 art. 11 (avoid sobrepreço and contratações com preços manifestamente
superfaturados) and is a classic audit test. It may also be a legitimate repeat purchase.

Thresholds (settings, handbook defaults): ``min_jaccard`` = 0.85, ``value_tolerance`` = 0.05,
``window_days`` = 30. Severity ``medium``; ``high`` for identical objects (Jaccard 1) with values
within 1 %. Score ``0.5 + 0.3 × (J − 0.85)/0.15 + 0.2 × (1 − Δ/0.05)``.

Fields read: ``fornecedor`` document, ``unidadeGestora.codigo``, ``objeto``, ``valorInicialCompra``,
``dataAssinatura``.

Insufficient data: no supplier, no unidade gestora, no signature date, no positive value or an
``objeto`` with no significant token.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import brl, day, number, pct
from shared.detection.text import fold, jaccard
from shared.domain import Contract, Severity

CODE = "duplicate_contract"
VERSION = "2.0"
_LOT = re.compile(r"\b(lote|item|grupo|parcela)s?\s*(?:n\S{0,2}\s*)?(\d+)")


class Config(IndicatorConfig):
    min_jaccard: float = Field(default=0.85, gt=0, le=1)
    value_tolerance: float = Field(default=0.05, ge=0, lt=1)
    window_days: int = Field(default=30, ge=0)


def lots(objeto: str | None) -> frozenset[tuple[str, str]]:
    """The lot/item numbers an ``objeto`` names, e.g. {("lote", "2")}."""
    return frozenset((m.group(1), m.group(2).lstrip("0") or "0") for m in _LOT.finditer(fold(objeto)))


def other_lot(a: Contract, b: Contract) -> bool:
    """Two contracts of one process whose objects differ in the lot/item number."""
    if not a.numero_processo or fold(a.numero_processo) != fold(b.numero_processo):
        return False
    la, lb = lots(a.objeto), lots(b.objeto)
    return bool(la or lb) and la != lb


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    buckets: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for i, contract in enumerate(batch.contracts):
        signed, value = contract.data_assinatura, batch.value[i]
        if (not contract.fornecedor_documento or not contract.ug_codigo or signed is None or value is None
                or value <= 0 or not batch.obj[i].tokens):
            if batch.reportable(i):
                result.lacking("sem_fornecedor_ug_data_valor_ou_objeto")
            continue
        buckets[(contract.fornecedor_documento, contract.ug_codigo)].append((signed.toordinal(), i))
    matches: dict[int, list[tuple[int, float, float, int]]] = defaultdict(list)  # i -> (j, J, Δ, days)
    for members in buckets.values():
        if len(members) < 2:
            continue
        members.sort()
        for a, (day_a, i) in enumerate(members):
            for b in range(a + 1, len(members)):
                day_b, j = members[b]
                gap = day_b - day_a
                if gap > config.window_days:
                    break
                vi, vj = batch.value[i] or 0.0, batch.value[j] or 0.0
                delta = abs(vi - vj) / max(vi, vj)
                if delta > config.value_tolerance:
                    continue
                similarity = jaccard(batch.obj[i].tokens, batch.obj[j].tokens)
                if similarity < config.min_jaccard or other_lot(batch.contracts[i], batch.contracts[j]):
                    continue
                matches[i].append((j, similarity, delta, gap))
                matches[j].append((i, similarity, delta, gap))
    for i in sorted(matches):
        if not batch.reportable(i):
            continue
        found = sorted(matches[i], key=lambda m: (-m[1], m[2], m[3], batch.contracts[m[0]].id))
        j, similarity, delta, gap = found[0]
        delta, similarity = round(delta, 6), round(similarity, 4)
        contract, other = batch.contracts[i], batch.contracts[j]
        high = similarity >= 1.0 and delta <= 0.01
        sentence = (
            f"O mesmo fornecedor e a mesma unidade gestora têm outro contrato (nº {other.numero or other.id}, "
            f"{day(other.data_assinatura)}, {brl(batch.value[j] or 0.0)}) com objeto praticamente igual "
            f"(similaridade {number(similarity, 2)}, mínimo {number(config.min_jaccard, 2)}) e valor {pct(delta)} diferente "
            f"deste ({brl(batch.value[i] or 0.0)}), assinados com {gap} dias de diferença (janela de {config.window_days}); "
            "o padrão é compatível com contratação em duplicidade, ou com uma nova compra legítima do mesmo objeto."
        )
        result.flag(
            i, severity=Severity.HIGH if high else Severity.MEDIUM,
            score=clamp(0.5 + 0.3 * (similarity - config.min_jaccard) / max(1e-9, 1 - config.min_jaccard)
                        + 0.2 * (1 - delta / max(1e-9, config.value_tolerance)), 0.5, 1.0),
            value=round(similarity, 4), threshold=config.min_jaccard,
            baseline={
                "duplicatas": [
                    {"id": batch.contracts[m[0]].id, "jaccard": round(m[1], 4), "diferenca_valor": round(m[2], 6), "dias": m[3],
                     "valor": batch.value[m[0]]}
                    for m in found
                ],
                "tolerancia_valor": config.value_tolerance, "janela_dias": config.window_days,
            },
            fields=("fornecedor.documento", "unidadeGestora.codigo", "objeto", "valorInicialCompra", "dataAssinatura",
                    "numeroProcesso"),
            sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Possível contrato em duplicidade", Config, evaluate, __doc__ or "")
