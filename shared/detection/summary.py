"""The deterministic pt-BR summary of an investigation, used when no LLM is configured (and as its source).

The paragraph names the contract, lists each finding's own sentence under its indicator's title,
gives the combined risk, and ends with the caveat that a flag is a reason to look, not proof.
It uses only numbers the findings carry, so an LLM rephrasing it has nothing to invent from.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.detection.explain import CAVEAT, brl, number, plural
from shared.detection.registry import BY_CODE
from shared.detection.scoring import risk_score
from shared.domain import Contract, Finding

_ORDER = {code: position for position, code in enumerate(BY_CODE)}


def _core(finding: Finding) -> str:
    text = finding.explanation.strip()
    return text[: -len(CAVEAT)].strip() if text.endswith(CAVEAT) else text


def summarize_template(contract: Contract | None, findings: Sequence[Finding]) -> str:
    ordered = sorted(findings, key=lambda f: (_ORDER.get(f.indicator, len(_ORDER)), -f.severity.rank, f.subject_id))
    if contract is not None:
        parts = [f"Contrato nº {contract.numero or contract.id}"]
        if contract.objeto:
            parts.append(f"objeto “{contract.objeto}”")
        if contract.valor_inicial is not None:
            parts.append(f"valor inicial {brl(float(contract.valor_inicial))}")
        if contract.orgao_nome or contract.orgao_codigo:
            parts.append(f"órgão {contract.orgao_nome or contract.orgao_codigo}")
        if contract.fornecedor_nome or contract.fornecedor_documento:
            parts.append(f"fornecedor {contract.fornecedor_nome or contract.fornecedor_documento}")
        subject = ", ".join(parts)
    else:
        orgaos = sorted({f.orgao_codigo for f in ordered if f.orgao_codigo})
        subject = f"Órgão {', '.join(orgaos)}" if orgaos else "Análise"
    if not ordered:
        return (
            f"{subject}: nenhum indicador de risco foi acionado. Isso não certifica a regularidade do contrato; "
            "apenas nenhum dos testes automáticos encontrou um motivo para examiná-lo."
        )
    lines = []
    for finding in ordered:
        spec = BY_CODE.get(finding.indicator)
        title = spec.title if spec else finding.indicator
        lines.append(f"{title} (gravidade {_SEVERITY_PT[finding.severity.value]}): {_core(finding)}")
    risk = risk_score(ordered)
    return (
        f"{subject}: {plural(len(ordered), 'alerta', 'alertas')}, risco combinado {number(risk, 2)} de 1. "
        + " ".join(lines)
        + f" {CAVEAT}"
    )


_SEVERITY_PT = {"low": "baixa", "medium": "média", "high": "alta", "critical": "crítica"}
