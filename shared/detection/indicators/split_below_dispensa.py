"""split_below_dispensa: one purchase split into several dispensas to stay under the direct-award limit.

Definition: among dispensas by value of one (unidade gestora, supplier, year, law, inciso), two or
more signed within ``window_days`` of each other where either each is between ``band_low`` and
100 % of the limit, or together they exceed the limit.

Formula: contracts of a group sorted by ``dataAssinatura``; for each contract, the window of the
group's contracts signed up to ``window_days`` later. A window with at least ``min_contracts``
flags (a) its contracts with ``band_low × L <= value <= L`` when there are at least
``min_contracts`` of them, and (b) all its contracts when ``sum(values) > L``. ``L`` is the limit
of art. 75 I (works, engineering, vehicle maintenance: the object class decides when the text
names no inciso) or II (other goods and services) for the signature year, or of Lei 8.666 art. 24
I/II (R$ 33 000 / 17 600 from 2018-06-19, 15 000 / 8 000 before), from ``data/legal.json``.

Legal basis: Lei 14.133/2021 art. 75 I/II and §1º (the limit applies to the sum spent on objects
of the same nature in the year by the same unit), Lei 8.666/1993 art. 24 I/II and art. 23 §5º.

Thresholds (settings, handbook defaults): ``window_days`` = 90, ``band_low`` = 0.80,
``min_contracts`` = 2. Severity ``medium``; ``high`` with 3 or more contracts or a sum above
``high_sum_multiple`` (2) × L. Score ``0.5 + 0.1 × (contracts − 2) + 0.4 × max(0, sum/L − 1)``.

Fields read: ``modalidadeCompra``, ``fundamentoLegal``, ``unidadeGestora.codigo``, ``fornecedor``
document, ``dataAssinatura``, ``valorInicialCompra``, ``objeto`` (for the inciso). When the text
names no law, contracts before 2021-04-01 use Lei 8.666 and later ones Lei 14.133 (recorded as
``lei_presumida`` in the baseline).

Insufficient data: a dispensa without unidade gestora, supplier, signature date or a positive
value, or signed in a year the legal table does not cover. Dispensas on other grounds (art. 75
III–XVIII, e.g. emergencies) and non-direct awards are outside this indicator.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

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
from shared.detection.explain import brl, day, plural
from shared.detection.legal import DispensaLimit, dispensa_limit
from shared.domain import Severity

CODE = "split_below_dispensa"
VERSION = "1.0"


class Config(IndicatorConfig):
    window_days: int = Field(default=90, ge=1)
    band_low: float = Field(default=0.80, gt=0, lt=1)
    min_contracts: int = Field(default=2, ge=2)
    high_sum_multiple: float = Field(default=2.0, gt=1)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult()
    groups: dict[tuple[str, str, int, str, str], list[tuple[date, int]]] = defaultdict(list)
    limits: dict[int, DispensaLimit] = {}
    for i, contract in enumerate(batch.contracts):
        award = batch.award[i]
        if not award.value_based_dispensa:
            continue
        signed, value = contract.data_assinatura, batch.value[i]
        rule_limit = dispensa_limit(award, signed, batch.obj[i].works) if signed is not None else None
        if not contract.ug_codigo or not contract.fornecedor_documento or value is None or value <= 0 or rule_limit is None:
            if batch.reportable(i):
                result.insufficient += 1
            continue
        assert signed is not None
        limits[i] = rule_limit
        groups[(contract.ug_codigo, contract.fornecedor_documento, signed.year, rule_limit.law, rule_limit.inciso)].append((signed, i))
    # i -> (rule, window members); the sum rule outranks the band rule, a bigger window a smaller one.
    flagged: dict[int, tuple[str, list[int]]] = {}
    for members in groups.values():
        if len(members) < config.min_contracts:
            continue
        members.sort()
        for start, (first_day, _first) in enumerate(members):
            window = []
            for d, i in members[start:]:
                if (d - first_day).days > config.window_days:
                    break
                window.append(i)
            if len(window) < config.min_contracts:
                continue
            limit = limits[window[0]].value
            total = sum(batch.value[i] or 0.0 for i in window)
            band = [i for i in window if config.band_low * limit <= (batch.value[i] or 0.0) <= limit]
            if total > limit:
                for i in window:
                    if flagged.get(i, ("", []))[0] != "soma" or len(flagged[i][1]) < len(window):
                        flagged[i] = ("soma", window)
            if len(band) >= config.min_contracts:
                for i in band:
                    flagged.setdefault(i, ("faixa", band))
    for i in sorted(flagged):
        if not batch.reportable(i):
            continue
        rule, window = flagged[i]
        contract, limit_info = batch.contracts[i], limits[i]
        limit = limit_info.value
        total = sum(batch.value[j] or 0.0 for j in window)
        others = [batch.contracts[j] for j in window if j != i]
        high = len(window) >= 3 or total > config.high_sum_multiple * limit
        law = "Lei 14.133/2021, art. 75" if limit_info.law == "lei_14133" else "Lei 8.666/1993, art. 24"
        why = (
            f"somam {brl(total)}, acima do limite" if rule == "soma"
            else f"ficam cada um entre {round(config.band_low * 100)} % e 100 % do limite"
        )
        sentence = (
            f"Este contrato por dispensa ({brl(batch.value[i] or 0.0)}, {day(contract.data_assinatura)}) e "
            f"{plural(len(others), 'outro', 'outros')} do mesmo fornecedor na mesma unidade gestora em até "
            f"{config.window_days} dias ({', '.join(f'nº {o.numero or o.id} de {day(o.data_assinatura)}' for o in others)}) "
            f"{why} de {brl(limit)} para dispensa por valor ({law}, inciso {limit_info.inciso}, {limit_info.source}); "
            "o padrão é compatível com fracionamento de despesa."
        )
        result.contract_findings.append(
            contract_finding(
                CODE,
                contract,
                severity=Severity.HIGH if high else Severity.MEDIUM,
                score=clamp(0.5 + 0.1 * (len(window) - 2) + 0.4 * max(0.0, total / limit - 1), 0.5, 1.0),
                value=round(total, 2),
                threshold=limit,
                baseline={
                    "regra": rule, "contratos": [batch.contracts[j].id for j in window], "n": len(window),
                    "soma": round(total, 2), "limite": limit, "lei": limit_info.law, "inciso": limit_info.inciso,
                    "fonte_limite": limit_info.source, "lei_presumida": limit_info.law_assumed,
                    "janela_dias": config.window_days, "faixa_inferior": config.band_low,
                },
                fields=("modalidadeCompra", "fundamentoLegal", "unidadeGestora.codigo", "fornecedor.documento",
                        "dataAssinatura", "valorInicialCompra", "objeto"),
                sentence=sentence,
            )
        )
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Fracionamento abaixo do limite de dispensa", Config, evaluate, __doc__ or "")
