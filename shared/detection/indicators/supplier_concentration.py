"""supplier_concentration: one supplier, or a few, take most of an órgão's contracted value in a year.

Definition: per (órgão, year of signature), the Herfindahl–Hirschman index of the suppliers'
shares of contracted value, and the largest single share.

Formula: ``HHI = Σ (100 × sᵢ)²`` with ``sᵢ`` = supplier i's share of the órgão-year's total
``valorInicialCompra``; flag when ``HHI > max_hhi`` or the top share ``> max_share``, provided the
órgão-year has at least ``min_contracts`` contracts. The órgão-year gets the finding (it ranks
órgãos). It is an órgão-level signal: the dominant supplier's contracts carry it at **low**
severity and a small score (``contract_score`` = 0.1), and :mod:`shared.detection.scoring` adds it
so that it never lifts a contract's risk above one with a barring sanction or an unexplained
acréscimo. The explanation names the órgão and the supplier.

Legal basis: none specific; the HHI thresholds follow competition practice (CADE and the US
merger guidelines treat HHI above 2 500 as highly concentrated). Lei 14.133/2021 art. 11 asks
procurement to foster competition. Concentration can also come from one legitimately large
contract (works, a national service), which the finding's numbers make visible.

Thresholds (settings, handbook defaults): ``max_hhi`` = 2 500, ``max_share`` = 0.50,
``min_contracts`` = 10. Severity ``medium``; ``high`` when the top share is above 0.75 or HHI above
5 000. Score ``max(HHI / 10 000, top share)``, in [0.3, 1].

Fields read: ``unidadeGestora.orgaoVinculado.codigoSIAFI``, ``dataAssinatura`` (year), ``fornecedor``
document and name, ``valorInicialCompra``.

Insufficient data: contracts without órgão, signature date, supplier or a positive value, and
every contract of an órgão-year with fewer than ``min_contracts`` usable contracts.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import Field

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, clamp
from shared.detection.batch import Batch
from shared.detection.explain import brl, number, pct
from shared.domain import Severity

CODE = "supplier_concentration"
VERSION = "2.0"


class Config(IndicatorConfig):
    max_hhi: float = Field(default=2_500.0, gt=0, le=10_000)
    max_share: float = Field(default=0.50, gt=0, le=1)
    min_contracts: int = Field(default=10, ge=2)
    contract_score: float = Field(default=0.1, ge=0, le=0.2)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult(CODE, batch)
    totals: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, int], int] = defaultdict(int)
    members: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, contract in enumerate(batch.contracts):
        year, value, doc = batch.year[i], batch.value[i], contract.fornecedor_documento
        if not contract.orgao_codigo or year is None or not doc or value is None or value <= 0:
            if batch.reportable(i):
                result.lacking("sem_orgao_data_fornecedor_ou_valor")
            continue
        key = (contract.orgao_codigo, year)
        totals[key][doc] += value
        counts[key] += 1
        if batch.reportable(i):
            members[key].append(i)
    for key in sorted(totals):
        n = counts[key]
        if n < config.min_contracts:
            result.lacking("orgao_ano_com_poucos_contratos", len(members.get(key, ())))
            continue
        by_supplier = totals[key]
        total = sum(by_supplier.values())
        hhi = round(sum((100.0 * v / total) ** 2 for v in by_supplier.values()), 1)
        top_doc = min(by_supplier, key=lambda d: (-by_supplier[d], d))
        top_share = round(by_supplier[top_doc] / total, 4)
        if hhi <= config.max_hhi and top_share <= config.max_share:
            continue
        orgao, year = key
        dominant = [i for i in members.get(key, ()) if batch.contracts[i].fornecedor_documento == top_doc]
        orgao_name = next((batch.contracts[i].orgao_nome for i in members.get(key, ()) if batch.contracts[i].orgao_nome), None)
        top_name = next((batch.contracts[i].fornecedor_nome for i in dominant if batch.contracts[i].fornecedor_nome), None)
        high = top_share > 0.75 or hhi > 5_000
        baseline = {
            "orgao": orgao, "n_contratos": n, "n_fornecedores": len(by_supplier), "valor_total": round(total, 2),
            "hhi": round(hhi, 1), "fornecedor_dominante": top_doc, "participacao_dominante": round(top_share, 4),
            "limite_hhi": config.max_hhi, "limite_participacao": config.max_share,
        }
        sentence = (
            f"Em {year}, o órgão {orgao_name or orgao} ({orgao}) contratou {brl(total)} em {n} contratos com {len(by_supplier)} fornecedores; "
            f"o índice de concentração HHI é {number(hhi, 0)} (limite {number(config.max_hhi, 0)}) e o fornecedor "
            f"{top_name or top_doc} ficou com {pct(top_share)} do valor (limite {pct(config.max_share, 0)})."
        )
        severity = Severity.HIGH if high else Severity.MEDIUM
        score = clamp(max(hhi / 10_000, top_share), 0.3, 1.0)
        result.flag_orgao(orgao, year, severity=severity, score=score, value=round(hhi, 1), threshold=config.max_hhi,
                          baseline=baseline, sentence=sentence)
        for i in dominant:
            result.flag(
                i, severity=Severity.LOW, score=config.contract_score, value=round(hhi, 1),
                threshold=config.max_hhi, baseline={"ano": year, **baseline},
                fields=("unidadeGestora.orgaoVinculado.codigoSIAFI", "dataAssinatura", "fornecedor.documento",
                        "fornecedor.nome", "valorInicialCompra"),
                sentence=(f"Este contrato é do fornecedor dominante do órgão no ano; a concentração é um sinal sobre o "
                          f"órgão, não sobre este contrato. {sentence}"))
    result.contract_findings.sort(key=lambda f: f.contract_id or 0)
    return result


SPEC = IndicatorSpec(CODE, VERSION, "orgao", "Concentração de fornecedores", Config, evaluate, __doc__ or "")
