"""sanctioned_supplier: the supplier was under a CEIS or CNEP sanction on the day the contract was signed.

Definition: the supplier's CNPJ/CPF digits equal the ``documento`` of a CEIS or CNEP sanction whose
period contains ``dataAssinatura``.

Formula: match when ``dataInicioSancao <= dataAssinatura <= dataFimSancao``; a sanction with no end
date counts as ongoing. Documents are compared as digits only (14 for a CNPJ, 11 for a CPF).

Legal basis (and why it is a red flag): Lei 14.133/2021 art. 14 and art. 156 (impedimento de licitar e
contratar, declaração de inidoneidade), Lei 8.666/1993 art. 87, Lei 12.846/2013 (CNEP). A public
body should not sign with a supplier barred on that date, though some sanctions bind only the
órgão or sphere that imposed them, which is why the finding shows who imposed it and its reach.

Thresholds (settings, handbook defaults): severity ``high``; ``critical`` when the sanction is
nationwide (``abrangenciaDefinidaDecisaoJudicial``) or was imposed by the contract's own órgão
(names compared without accents or case). Scores ``score_high`` = 0.85, ``score_critical`` = 1.0.

Fields read: ``fornecedor`` document, ``dataAssinatura``, ``unidadeGestora.orgaoVinculado.nome``;
the sanction mirror (a local copy of CEIS/CNEP refreshed daily, never one call per contract).

Insufficient data: no supplier document, no signature date, an empty sanction mirror (nothing to
compare with), or matching sanctions none of which has a start date.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec, contract_finding
from shared.detection.batch import Batch
from shared.detection.explain import day
from shared.detection.text import fold
from shared.domain import Sanction, Severity

CODE = "sanctioned_supplier"
VERSION = "1.0"


class Config(IndicatorConfig):
    score_high: float = 0.85
    score_critical: float = 1.0


def _in_force(sanction: Sanction, when: date) -> bool | None:
    if sanction.data_inicio is None:
        return None
    return sanction.data_inicio <= when and (sanction.data_fim is None or when <= sanction.data_fim)


def evaluate(batch: Batch, context: Context, config: Config) -> IndicatorResult:
    result = IndicatorResult()
    if not context.sanctions:
        result.insufficient = sum(1 for i in range(len(batch)) if batch.reportable(i))
        return result
    by_document: dict[str, list[Sanction]] = defaultdict(list)
    for sanction in context.sanctions:
        by_document[sanction.documento].append(sanction)
    for i, contract in enumerate(batch.contracts):
        if not batch.reportable(i):
            continue
        doc, signed = contract.fornecedor_documento, contract.data_assinatura
        if not doc or signed is None:
            result.insufficient += 1
            continue
        candidates = by_document.get(doc)
        if not candidates:
            continue
        states = [(s, _in_force(s, signed)) for s in candidates]
        matched = [s for s, state in states if state]
        if not matched:
            if all(state is None for _s, state in states):
                result.insufficient += 1
            continue
        own = fold(contract.orgao_nome)
        matched.sort(key=lambda s: (not s.nacional, fold(s.orgao_sancionador) != own, s.lista, s.id))
        top = matched[0]
        same_orgao = bool(own) and fold(top.orgao_sancionador) == own
        critical = top.nacional or same_orgao
        period = f"de {day(top.data_inicio)} " + (f"a {day(top.data_fim)}" if top.data_fim else "sem data de término")
        reach = []
        if top.nacional:
            reach.append("com abrangência nacional")
        if same_orgao:
            reach.append("aplicada pelo próprio órgão contratante")
        sentence = (
            f"O fornecedor {contract.fornecedor_nome or doc} assinou este contrato em {day(signed)}, durante uma "
            f"sanção {top.lista} ({top.tipo or 'tipo não informado'}) {period}, aplicada por "
            f"{top.orgao_sancionador or 'órgão não informado'}"
            + (f" ({' e '.join(reach)})" if reach else "")
            + "; a Lei 14.133/2021 (art. 14 e 156) impede contratar com quem está sancionado."
        )
        result.contract_findings.append(
            contract_finding(
                CODE,
                contract,
                severity=Severity.CRITICAL if critical else Severity.HIGH,
                score=config.score_critical if critical else config.score_high,
                value=1.0,
                threshold=None,
                baseline={
                    "sancoes": [
                        {"id": s.id, "lista": s.lista, "tipo": s.tipo, "inicio": s.data_inicio.isoformat() if s.data_inicio else None,
                         "fim": s.data_fim.isoformat() if s.data_fim else None, "orgao_sancionador": s.orgao_sancionador,
                         "nacional": s.nacional}
                        for s in matched
                    ],
                    "mesmo_orgao": same_orgao,
                },
                fields=("fornecedor.documento", "fornecedor.nome", "dataAssinatura", "unidadeGestora.orgaoVinculado.nome"),
                sentence=sentence,
            )
        )
    return result


SPEC = IndicatorSpec(CODE, VERSION, "contract", "Fornecedor sancionado", Config, evaluate, __doc__ or "")
