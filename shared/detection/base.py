"""What every indicator module shares: its config base, its result and the findings it adds, its registry entry.

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
    """What one indicator found in one batch, and how many contracts it could not evaluate.

    ``evaluate`` fills it through :meth:`flag`, :meth:`flag_orgao` and :meth:`lacking`, which add
    what every finding of the indicator repeats: its code, the contract and the regime assumed for
    it (read from the batch by index), the score kept in [0, 1] and the standing caveat.
    """

    code: str
    batch: Batch = field(repr=False, compare=False)
    contract_findings: list[Finding] = field(default_factory=list)
    orgao_findings: list[Finding] = field(default_factory=list)
    insufficient: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # named causes of insufficient data

    def lacking(self, reason: str, count: int = 1) -> None:
        """Count contracts that could not be evaluated, under a named reason."""
        self.insufficient += count
        self.reasons[reason] = self.reasons.get(reason, 0) + count

    def flag(self, index: int, *, severity: Severity, score: float, value: float | None, threshold: float | None,
             baseline: dict[str, Any], fields: tuple[str, ...], sentence: str) -> None:
        """A finding about the batch's contract at ``index``. The explanation is the sentence, the
        regime assumed and why, and the standing caveat; the baseline records the regime and the
        field it came from; ``fields`` names the contract fields read (Portal names)."""
        contract, regime = self.batch.contracts[index], self.batch.regime[index]
        self.contract_findings.append(Finding(
            indicator=self.code, severity=severity, score=_unit(score), subject_type="contract",
            subject_id=str(contract.id), explanation=f"{sentence} {regime.sentence()} {CAVEAT}",
            contract_id=contract.id, orgao_codigo=contract.orgao_codigo, value=value, threshold=threshold,
            baseline={**baseline, **regime.as_baseline()}, fields=contract_fields(contract, fields)))

    def flag_orgao(self, orgao: str, year: int, *, severity: Severity, score: float, value: float, threshold: float,
                   baseline: dict[str, Any], sentence: str) -> None:
        """A finding about one órgão's contracts of one year; the baseline records the year."""
        self.orgao_findings.append(Finding(
            indicator=self.code, severity=severity, score=_unit(score), subject_type="orgao",
            subject_id=f"{orgao}:{year}", explanation=f"{sentence} {CAVEAT}", orgao_codigo=orgao,
            value=value, threshold=threshold, baseline={"ano": year, **baseline}))


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


def _unit(score: float) -> float:
    return round(min(1.0, max(0.0, score)), 4)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
