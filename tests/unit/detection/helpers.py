"""Small builders for hand-computed detection cases: a contract with sensible defaults, a sanction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from shared.detection.base import Context, IndicatorConfig, IndicatorResult, IndicatorSpec
from shared.detection.batch import prepare
from shared.domain import Contract, Sanction, Source

PREGAO = {"modalidade_compra": "Pregão", "fundamento_legal": "Lei nº 14.133/2021, art. 28, inciso I"}
DISPENSA_II = {"modalidade_compra": "Dispensa de Licitação", "fundamento_legal": "Lei nº 14.133/2021, art. 75, inciso II"}
INEXIGIBILIDADE = {"modalidade_compra": "Inexigibilidade de Licitação", "fundamento_legal": "Lei nº 14.133/2021, art. 74, inciso III"}

_next = [1000]


def contract(**overrides: Any) -> Contract:
    """A complete, unremarkable contract; keyword arguments replace fields (money as numbers)."""
    _next[0] += 1
    fields: dict[str, Any] = {
        "id": _next[0],
        "source": Source.SIMULATOR,
        "numero": f"{_next[0]}/2024",
        "objeto": "Aquisição de material de expediente",
        "orgao_codigo": "26201",
        "orgao_nome": "Universidade Federal do Norte",
        "ug_codigo": "150001",
        "fornecedor_documento": "11222333000181",
        "fornecedor_nome": "ALFA COMERCIO LTDA",
        "data_assinatura": date(2024, 3, 4),
        "data_publicacao_dou": date(2024, 3, 6),
        "valor_inicial": Decimal("10000.00"),
        "valor_final": Decimal("10000.00"),
        **PREGAO,
    }
    fields.update(overrides)
    for key in ("valor_inicial", "valor_final"):
        if isinstance(fields[key], int | float):
            fields[key] = Decimal(repr(fields[key]))
    return Contract(**fields)


def sanction(documento: str = "11222333000181", **overrides: Any) -> Sanction:
    fields: dict[str, Any] = {
        "id": "1", "lista": "CEIS", "documento": documento, "nome": "ALFA COMERCIO LTDA",
        "tipo": "Impedimento/proibição de contratar com prazo determinado",
        "data_inicio": date(2024, 1, 1), "data_fim": date(2024, 12, 31),
        "orgao_sancionador": "Controladoria-Geral da União",
    }
    fields.update(overrides)
    return Sanction(**fields)


def run(spec: IndicatorSpec, contracts: Sequence[Contract], config: IndicatorConfig | None = None,
        *, sanctions: Sequence[Sanction] = ()) -> IndicatorResult:
    """One indicator over a prepared batch, with its default config unless one is given."""
    return spec.evaluate(prepare(contracts), Context(sanctions=tuple(sanctions)), config or spec.config_model())


def flagged_ids(result: IndicatorResult) -> list[int]:
    return [f.contract_id for f in result.contract_findings if f.contract_id is not None]
