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
from shared.detection.legal import Regime
from shared.domain import Contract, Finding, Sanction, Severity


class IndicatorConfig(BaseModel):
    """Base of every indicator's settings: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Context:
    """Inputs besides the contracts: the CEIS/CNEP mirror and baselines computed elsewhere.

    ``sanctions_loaded`` says whether a mirror exists at all: an empty ``sanctions`` with a loaded
    mirror means "no sanction matched", without one "nothing to compare with". ``amendments``
    holds the Portal's termos aditivos of candidate contracts (id -> list of ``objetoAditivo``
    texts), or None for a contract whose termos could not be read; ``first_vigencia`` the
    vigência (start, end) of the earliest stored version of a contract, when it differs.
    """

    sanctions: tuple[Sanction, ...] = ()
    price_baselines: Mapping[tuple[int, Key], PeerStats] | None = None
    sanctions_loaded: bool | None = None  # None: infer from ``sanctions`` (non-empty means loaded)
    amendments: Mapping[int, tuple[str, ...] | None] | None = None
    first_vigencia: Mapping[int, tuple[date | None, date | None]] | None = None

    @property
    def mirror_loaded(self) -> bool:
        return bool(self.sanctions) if self.sanctions_loaded is None else self.sanctions_loaded


@dataclass(slots=True)
class IndicatorResult:
    contract_findings: list[Finding] = field(default_factory=list)
    orgao_findings: list[Finding] = field(default_factory=list)
    insufficient: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # named causes of insufficient data

    def lacking(self, reason: str, count: int = 1) -> None:
        """Count contracts that could not be evaluated, under a named reason."""
        self.insufficient += count
        self.reasons[reason] = self.reasons.get(reason, 0) + count


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
    "dataInicioVigencia": "data_inicio_vigencia",
    "dataFimVigencia": "data_fim_vigencia",
    "numeroProcesso": "numero_processo",
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
    regime: Regime,
) -> Finding:
    """A finding about one contract. The explanation is the sentence, the regime assumed and why,
    and the standing caveat; the baseline records the regime and the field it came from."""
    return Finding(
        indicator=code,
        severity=severity,
        score=round(min(1.0, max(0.0, score)), 4),
        subject_type="contract",
        subject_id=str(contract.id),
        explanation=f"{sentence} {regime.sentence()} {CAVEAT}",
        contract_id=contract.id,
        orgao_codigo=contract.orgao_codigo,
        value=value,
        threshold=threshold,
        baseline={**baseline, **regime.as_baseline()},
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
