"""split_below_dispensa: dispensas by value that look like one purchase split to stay under the limit.

Definition: only dispensas *by value* count: Lei 14.133/2021 art. 75 I/II, Lei 8.666/1993 art. 24 I/II, Lei
13.303/2016 art. 29 I/II. Emergency dispensas (art. 75 VIII; art. 24 IV) and every other inciso are
outside; a dispensa whose inciso is unknown counts only when its own value is within the by-value
limit, and the explanation says the inciso was presumed (I for works, engineering and vehicle
maintenance, II otherwise). A contract above the limit is never "below" it.

Formula: three signals —

(a) *faixa*: at least ``min_contracts`` by-value dispensas of one (unidade gestora, supplier, law,
    inciso) signed within ``window_days`` of each other, each between ``band_low`` × L and L;
(b) *soma anual* (Lei 14.133 art. 75 §1º): the sum of the by-value dispensas of one unidade gestora
    in the financial year for objects of the same nature (same ramo de atividade, read as the same
    object class) is above L. Services of vehicle maintenance up to R$ 8 000 (updated each year by
    the same factor as L: R$ 10 478,74 in 2026) are left out of the sum (art. 75 §7º). Contracts signed once the sum had passed L are **medium**; those before it,
    which together make the sum, **low**;
(c) *soma na janela* (Lei 8.666 art. 24 I/II and art. 23 §5º; Lei 13.303 art. 29 I/II: "parcelas
    de uma mesma obra, serviço ou compra"): by-value dispensas of one (unidade gestora, supplier)
    within ``window_days`` whose sum is above L.

Legal basis: the articles named with each signal. L is the limit for the signature date and regime, from ``data/legal.json``: Lei 14.133 art. 75 I/II
updated yearly by decree (Decreto 10.922/2021, 11.317/2022, 11.871/2023, 12.343/2024,
12.807/2025); Lei 8.666 art. 24 I/II R$ 33 000 / 17 600 from 2018-07-19 (Decreto 9.412/2018, in
force 30 days after publication), R$ 15 000 / 8 000 before; Lei 13.303 art. 29 R$ 100 000 / 50 000.
Sources: https://www.planalto.gov.br/ccivil_03/_ato2019-2022/2021/lei/l14133.htm (art. 75, §§ 1º,
7º), https://www.planalto.gov.br/ccivil_03/leis/l8666cons.htm (art. 24), AGU Parecer
00015/2024/CNLCA/CGU/AGU on art. 75 §§ 1º and 7º.

Thresholds (settings, handbook defaults): ``window_days`` = 90, ``band_low`` = 0.80,
``min_contracts`` = 2, ``high_sum_multiple`` = 2 (high when the sum passes 2 × L, or three or more
contracts of one supplier form the pattern). Score ``0.5 + 0.1 × (n − 2) + 0.4 × max(0, sum/L − 1)``, 0.2 for low.

Fields read: ``modalidadeCompra``, ``fundamentoLegal``, ``unidadeGestora.codigo``, ``fornecedor``
document, ``dataAssinatura``, ``valorInicialCompra``, ``objeto`` (class and presumed inciso).

Insufficient data: a by-value dispensa without unidade gestora, supplier, signature date or a
positive value, or signed in a year the legal table does not cover.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import brl, day, plural
from shared.detection.legal import LAW_8666, LAW_13303, LAW_14133, DispensaLimit, dispensa_limit
from shared.domain import Severity

CODE = "split_below_dispensa"
VERSION = "2.0"
_LAW_TEXT = {LAW_14133: "Lei 14.133/2021, art. 75", LAW_8666: "Lei 8.666/1993, art. 24", LAW_13303: "Lei 13.303/2016, art. 29"}
# Lei 14.133 art. 75 §7º: vehicle maintenance up to R$ 8 000 stays out of the §1º sum. Art. 182's
# yearly decrees update it by the same factor as the incisos' limits (Decreto 12.807/2025: R$ 10 478,74
# beside 130 984,20 / 65 492,11), so it is derived from the year's limit rather than tabled apart.
_VEHICLE_MAINTENANCE_EXEMPT = 8_000.0
_LAW_14133_BASE = {"I": 100_000.0, "II": 50_000.0}
_LISTED = 50  # ids of the pattern kept in a finding's baseline (``n`` gives the full count)


class Config(IndicatorConfig):
    window_days: int = Field(default=90, ge=1)
    band_low: float = Field(default=0.80, gt=0, lt=1)
    min_contracts: int = Field(default=2, ge=2)
    high_sum_multiple: float = Field(default=2.0, gt=1)


def _windows(members: list[tuple[date, int]], days: int, least: int) -> list[list[int]]:
    members.sort()
    out = []
    for start, (first_day, _first) in enumerate(members):
        window = []
        for d, i in members[start:]:
            if (d - first_day).days > days:
                break
            window.append(i)
        if len(window) >= least:
            out.append(window)
    return out


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    by_supplier: dict[tuple[str, str, int, str, str], list[tuple[date, int]]] = defaultdict(list)
    by_class: dict[tuple[str, str, int, str], list[tuple[date, int]]] = defaultdict(list)
    limits: dict[int, DispensaLimit] = {}
    presumed: set[int] = set()
    for i, contract in enumerate(batch.contracts):
        award = batch.award[i]
        if not award.value_based_dispensa:
            continue
        signed, value = contract.data_assinatura, batch.value[i]
        if signed is None or value is None or value <= 0:
            if batch.reportable(i):
                result.lacking("dispensa_sem_data_ou_valor")
            continue
        rule_limit = dispensa_limit(award, signed, batch.obj[i].works, batch.regime[i])
        if rule_limit is None or not contract.ug_codigo or not contract.fornecedor_documento:
            if batch.reportable(i):
                result.lacking("dispensa_sem_limite_ug_ou_fornecedor")
            continue
        if value > rule_limit.value:
            continue  # above the by-value limit: another ground, never "below" it
        limits[i] = rule_limit
        if award.inciso is None:
            presumed.add(i)
        by_supplier[(contract.ug_codigo, contract.fornecedor_documento, signed.year, rule_limit.law,
                     rule_limit.inciso)].append((signed, i))
        cls = batch.obj[i].object_class
        exempt = round(_VEHICLE_MAINTENANCE_EXEMPT * rule_limit.value / _LAW_14133_BASE.get(rule_limit.inciso, rule_limit.value), 2)
        if rule_limit.law == LAW_14133 and cls is not None and not (
                cls == "veiculos_manutencao" and value <= exempt):
            by_class[(contract.ug_codigo, cls, signed.year, rule_limit.inciso)].append((signed, i))
    # i -> (rule, members, severity); a stronger rule or a bigger group wins.
    flagged: dict[int, tuple[str, list[int], bool]] = {}

    def mark(i: int, rule: str, members: list[int], excess: bool) -> None:
        current = flagged.get(i)
        if current is None or (excess and not current[2]) or (excess == current[2] and len(members) > len(current[1])):
            flagged[i] = (rule, members, excess)

    for members in by_supplier.values():
        if len(members) < config.min_contracts:
            continue
        for window in _windows(members, config.window_days, config.min_contracts):
            limit = limits[window[0]].value
            band = [i for i in window if config.band_low * limit <= (batch.value[i] or 0.0)]
            if len(band) >= config.min_contracts:
                for i in band:
                    mark(i, "faixa", band, True)
            if limits[window[0]].law != LAW_14133 and sum(batch.value[i] or 0.0 for i in window) > limit:
                for i in window:
                    mark(i, "soma_janela", window, True)
    for dated in by_class.values():
        if len(dated) < 2:
            continue
        dated.sort()
        limit = limits[dated[0][1]].value
        group = [i for _d, i in dated]
        if sum(batch.value[i] or 0.0 for i in group) <= limit:
            continue
        running = 0.0
        for _d, i in dated:
            running += batch.value[i] or 0.0
            mark(i, "soma_anual", group, running > limit)
    totals: dict[int, float] = {}  # per pattern (by identity): a year's group can hold thousands
    for i in sorted(flagged):
        if not batch.reportable(i):
            continue
        rule, pattern, excess = flagged[i]
        contract, limit_info = batch.contracts[i], limits[i]
        limit = limit_info.value
        total = totals.get(id(pattern))
        if total is None:
            total = totals[id(pattern)] = round(sum(batch.value[j] or 0.0 for j in pattern), 2)
        others = [batch.contracts[j] for j in pattern[:9] if j != i][:8]
        more = len(pattern) - 1 - len(others)
        law = _LAW_TEXT[limit_info.law]
        listed = ", ".join(f"nº {o.numero or o.id} de {day(o.data_assinatura)}" for o in others)
        listed += f" e mais {more}" if more > 0 else ""
        if rule == "soma_anual":
            sentence = (f"As dispensas por valor desta unidade gestora para objetos da mesma natureza (classe "
                        f"'{batch.obj[i].object_class}') em {contract.data_assinatura.year if contract.data_assinatura else ''} "
                        f"somam {brl(total)} em {plural(len(pattern), 'contrato', 'contratos')}, acima do limite de "
                        f"{brl(limit)} ({law}, inciso {limit_info.inciso}, {limit_info.source}), que o art. 75, §1º, "
                        f"manda aferir pela soma no exercício. Este contrato ({brl(batch.value[i] or 0.0)}, "
                        f"{day(contract.data_assinatura)}) foi assinado "
                        + ("quando a soma já passava do limite." if excess else "antes de a soma passar do limite.")
                        + f" Outros: {listed}.")
        else:
            why = (f"somam {brl(total)}, acima do limite" if rule == "soma_janela"
                   else f"ficam cada um entre {round(config.band_low * 100)} % e 100 % do limite")
            sentence = (f"Este contrato por dispensa ({brl(batch.value[i] or 0.0)}, {day(contract.data_assinatura)}) e "
                        f"{plural(len(pattern) - 1, 'outro', 'outros')} do mesmo fornecedor na mesma unidade gestora em até "
                        f"{config.window_days} dias ({listed}) {why} de {brl(limit)} para dispensa por valor ({law}, inciso "
                        f"{limit_info.inciso}, {limit_info.source}); o padrão é compatível com fracionamento de despesa.")
        if i in presumed:
            sentence += f" Inciso não informado; presumido {law}, {limit_info.inciso}."
        high = excess and ((len(pattern) >= 3 and rule != "soma_anual") or total > config.high_sum_multiple * limit)
        severity = Severity.HIGH if high else (Severity.MEDIUM if excess else Severity.LOW)
        score = 0.2 if not excess else clamp(0.5 + 0.1 * (len(pattern) - 2) + 0.4 * max(0.0, total / limit - 1), 0.5, 1.0)
        result.flag(
            i, severity=severity, score=score, value=round(total, 2), threshold=limit,
            baseline={
                "regra": rule, "contratos": [batch.contracts[j].id for j in pattern[:_LISTED]], "n": len(pattern),
                "soma": round(total, 2), "limite": limit, "lei": limit_info.law, "inciso": limit_info.inciso,
                "inciso_presumido": i in presumed, "fonte_limite": limit_info.source,
                "lei_presumida": limit_info.law_assumed, "janela_dias": config.window_days,
                "faixa_inferior": config.band_low, "apos_limite": excess,
                "base_legal": f"{law}, inciso {limit_info.inciso}" + (", §1º" if rule == "soma_anual" else ""),
            },
            fields=("modalidadeCompra", "fundamentoLegal", "unidadeGestora.codigo", "fornecedor.documento",
                    "dataAssinatura", "valorInicialCompra", "objeto"),
            sentence=sentence)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Possível fracionamento de dispensa", Config, evaluate, __doc__ or "")
