"""What every indicator module shares: its config base, its result, its registry entry, finding helpers.

An indicator module exposes ``SPEC`` (an :class:`IndicatorSpec`) whose ``evaluate(batch, context,
config)`` is pure: it reads the prepared :class:`~shared.detection.batch.Batch`, the sanction
mirror and any precomputed baselines in :class:`Context`, and returns an :class:`IndicatorResult`
(findings in batch order, and how many contracts it could not evaluate for lack of data).
Configs reject unknown keys, so a misspelt threshold is an error rather than a silent default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.detection.baselines import Key, PeerStats
from shared.detection.batch import Batch
from shared.detection.explain import CAVEAT
from shared.domain import Contract, Finding, Sanction, Severity


class IndicatorConfig(BaseModel):
    """Base of every indicator's settings: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Context:
    """Inputs besides the contracts: the CEIS/CNEP mirror and baselines computed elsewhere."""

    sanctions: tuple[Sanction, ...] = ()
    price_baselines: Mapping[tuple[int, Key], PeerStats] | None = None


@dataclass(slots=True)
class IndicatorResult:
    contract_findings: list[Finding] = field(default_factory=list)
    orgao_findings: list[Finding] = field(default_factory=list)
    insufficient: int = 0


Evaluate = Callable[[Batch, Context, Any], IndicatorResult]


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """A registry entry: the code, the formula's version, its scope, settings and evaluator."""

    code: str
    version: str
    scope: Literal["contract", "orgao"]
    title: str  # pt-BR name shown to people
    config_model: type[IndicatorConfig]
    evaluate: Evaluate
    doc: str


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # money: a JSON-ready number
        return float(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"a contract field of type {type(value).__name__} has no JSON form")


def contract_fields(contract: Contract, names: tuple[str, ...]) -> dict[str, Any]:
    """The contract fields an indicator read, under the Portal's names, JSON-ready."""
    return {name: _plain(getattr(contract, attr)) for name, attr in _FIELD_NAMES.items() if name in names}


_FIELD_NAMES = {
    "id": "id",
    "objeto": "objeto",
    "modalidadeCompra": "modalidade_compra",
    "fundamentoLegal": "fundamento_legal",
    "unidadeGestora.orgaoVinculado.codigoSIAFI": "orgao_codigo",
    "unidadeGestora.orgaoVinculado.nome": "orgao_nome",
    "unidadeGestora.codigo": "ug_codigo",
    "fornecedor.documento": "fornecedor_documento",
    "fornecedor.nome": "fornecedor_nome",
    "dataAssinatura": "data_assinatura",
    "dataPublicacaoDOU": "data_publicacao_dou",
    "valorInicialCompra": "valor_inicial",
    "valorFinalCompra": "valor_final",
}


def contract_finding(
    code: str,
    contract: Contract,
    *,
    severity: Severity,
    score: float,
    value: float | None,
    threshold: float | None,
    baseline: dict[str, Any],
    fields: tuple[str, ...],
    sentence: str,
) -> Finding:
    """A finding about one contract; the explanation is the sentence plus the standing caveat."""
    return Finding(
        indicator=code,
        severity=severity,
        score=round(min(1.0, max(0.0, score)), 4),
        subject_type="contract",
        subject_id=str(contract.id),
        explanation=f"{sentence} {CAVEAT}",
        contract_id=contract.id,
        orgao_codigo=contract.orgao_codigo,
        value=value,
        threshold=threshold,
        baseline=baseline,
        fields=contract_fields(contract, fields),
    )


def orgao_finding(
    code: str,
    orgao: str,
    year: int,
    *,
    severity: Severity,
    score: float,
    value: float,
    threshold: float,
    baseline: dict[str, Any],
    sentence: str,
) -> Finding:
    return Finding(
        indicator=code,
        severity=severity,
        score=round(min(1.0, max(0.0, score)), 4),
        subject_type="orgao",
        subject_id=f"{orgao}:{year}",
        explanation=f"{sentence} {CAVEAT}",
        orgao_codigo=orgao,
        value=value,
        threshold=threshold,
        baseline={"ano": year, **baseline},
    )


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
