"""Small, valid contracts and findings for the store tests, as the Portal parser and the detectors make them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain import Contract, Finding, Severity, Source, canonical_hash


def make_contract(contract_id: int, **changes: Any) -> Contract:
    """A contract as the Portal parser would produce it, its raw JSON and hash included."""
    values: dict[str, Any] = {
        "numero": f"{contract_id % 1000:03d}/2024",
        "objeto": "Aquisição de material de escritório",
        "modalidade_compra": "Pregão",
        "fundamento_legal": "Lei 14.133/2021",
        "situacao": "Ativo",
        "orgao_codigo": "26000",
        "orgao_nome": "Ministério da Educação",
        "ug_codigo": "150002",
        "ug_nome": "UG 150002",
        "fornecedor_documento": "12345678000190",
        "fornecedor_nome": "Fornecedor Ltda",
        "data_assinatura": date(2024, 3, 1 + contract_id % 28),
        "data_publicacao_dou": date(2024, 3, 5),
        "valor_inicial": Decimal("12345.67") + contract_id,
        "valor_final": Decimal("13000.10") + contract_id,
    }
    values.update(changes)
    raw = {
        "id": contract_id,
        "numero": values["numero"],
        "objeto": values["objeto"],
        "valorInicialCompra": str(values["valor_inicial"]),
        "valorFinalCompra": str(values["valor_final"]),
        "dataAssinatura": values["data_assinatura"].isoformat() if values["data_assinatura"] else None,
        "unidadeGestora": {"codigo": values["ug_codigo"], "orgaoVinculado": {"codigoSIAFI": values["orgao_codigo"]}},
        "fornecedor": {"cnpjFormatado": values["fornecedor_documento"], "nome": values["fornecedor_nome"]},
    }
    source = values.pop("source", Source.SIMULATOR)
    return Contract(id=contract_id, source=source, raw=raw, content_hash=canonical_hash(raw), **values)


def make_finding(indicator: str = "price_outlier", *, subject_id: str = "1", severity: Severity = Severity.HIGH,
                 score: float = 0.8, **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "subject_type": "contract",
        "explanation": f"{indicator}: valor acima do esperado para o grupo de pares",
        "contract_id": int(subject_id) if subject_id.isdigit() else None,
        "orgao_codigo": "26000",
        "value": 4.2,
        "threshold": 3.5,
        "baseline": {"n": 31, "median": 9.1, "mad": 0.4},
        "fields": {"valor_inicial": "12345.67"},
    }
    values.update(changes)
    return Finding(indicator=indicator, severity=severity, score=score, subject_id=subject_id, **values)
