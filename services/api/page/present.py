"""What the page shows, worked out from store records: pt-BR labels, numbers, links, the chart.

Pure functions over :mod:`shared.store.base` records, so the templates stay free of logic and
the rules (a Portal link, a legal basis, the bars of the ranking chart) can be tested alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from shared.detection.registry import BY_CODE
from shared.domain import Contract, Severity
from shared.store.base import OrgaoRanking

SEVERITY_LABELS = {
    Severity.LOW: "baixa",
    Severity.MEDIUM: "média",
    Severity.HIGH: "alta",
    Severity.CRITICAL: "crítica",
}
STATUS_LABELS = {
    "pending": "na fila",
    "running": "em andamento",
    "completed": "concluída",
    "failed": "falhou",
    "cancelled": "cancelada",
}
# The Portal's site search for contracts. A contract's page on the site is keyed by an id of the
# site's own, which is not the API's `id`, so the link is a search narrowed to this contract by
# órgão, number, signature date and value (each filter the site's search form offers).
PORTAL_SEARCH = "https://portaldatransparencia.gov.br/contratos/consulta"
_LEGAL = re.compile(r"^Legal basis:\s*(?P<text>.+?)(?:\n\s*\n|\Z)", re.MULTILINE | re.DOTALL)
_SOURCE = re.compile(r"^(?:Source|Sources|Basis)[^:\n]*:\s*(?P<text>.+?)(?:\n\s*\n|\Z)", re.MULTILINE | re.DOTALL)


def indicator_title(code: str) -> str:
    spec = BY_CODE.get(code)
    return spec.title if spec is not None else code


def indicator_choices() -> list[tuple[str, str]]:
    return [(spec.code, spec.title) for spec in BY_CODE.values()]


def legal_basis(code: str, baseline: dict[str, Any] | None = None) -> str | None:
    """The finding's own ``base_legal`` when it names one, else the indicator's documented basis."""
    if baseline and isinstance(baseline.get("base_legal"), str):
        return str(baseline["base_legal"])
    spec = BY_CODE.get(code)
    if spec is None:
        return None
    match = _LEGAL.search(spec.doc) or _SOURCE.search(spec.doc)
    return " ".join(match["text"].split()) if match else None


def money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    text = f"{float(value):,.2f}"  # 1,234,567.89 → 1.234.567,89
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "sim" if value else "não"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float | Decimal):
        text = f"{float(value):,.4f}".rstrip("0").rstrip(".")
        return text.replace(",", "_").replace(".", ",").replace("_", ".")
    return str(value)


def day(value: date | datetime | None, timezone: str = "America/Sao_Paulo") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        local = value.astimezone(ZoneInfo(timezone)) if value.tzinfo else value
        return local.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def portal_link(contract: Contract | None, contract_id: int | None, orgao: str | None) -> str | None:
    """A search on the Portal's site that finds this contract (None without an órgão to search in)."""
    orgao_code = (contract.orgao_codigo if contract else None) or orgao
    if not orgao_code:
        return None
    params: dict[str, str] = {"paginacaoSimples": "true", "orgaos": f"OS{orgao_code}"}
    if contract is not None:
        numero = re.sub(r"\D", "", contract.numero or "")
        if numero:
            params["numeroContrato"] = numero
        if contract.data_assinatura is not None:
            params["assinaturaDe"] = params["assinaturaAte"] = contract.data_assinatura.strftime("%d/%m/%Y")
        value = contract.valor_inicial
        if value is not None and value > 0:
            params["valorDe"], params["valorAte"] = str(int(value)), str(int(value) + 1)
    return f"{PORTAL_SEARCH}?{urlencode(params)}"


@dataclass(frozen=True)
class Bar:
    label: str
    code: str
    value: float
    width: float  # in the chart's units (0..CHART_WIDTH)
    y: int


CHART_WIDTH = 400
BAR_HEIGHT = 22


def ranking_bars(rows: list[OrgaoRanking], limit: int = 15) -> list[Bar]:
    """Horizontal bars of the órgãos with the most investigations, scaled to the largest count.

    Counts rather than the top risk score: many órgãos share a maximum of 1.0, which would draw
    bars of one length; the table beside the chart keeps the risk columns.
    """
    counted = sorted((row for row in rows if row.investigations), key=lambda r: (-r.investigations, r.orgao_codigo))
    counted = counted[:limit]
    top = max((row.investigations for row in counted), default=0) or 1
    return [
        Bar(label=row.orgao_nome or row.orgao_codigo, code=row.orgao_codigo, value=float(row.investigations),
            width=round(CHART_WIDTH * row.investigations / top, 1), y=index * (BAR_HEIGHT + 6))
        for index, row in enumerate(counted)
    ]


def risk(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")
