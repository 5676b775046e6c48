"""The nouns every part of Vigia shares: a contract, a sanction, a finding, and their states.

The Portal client turns ContratoDTO JSON into :class:`Contract`; the store persists it; the
detectors read it and return :class:`Finding`; the pipelines and the API pass ids and these
values between them. Keeping them here (plain, frozen, slotted dataclasses) means no layer has to
import another layer's internals, and a million contracts fit in memory for the detectors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal


class Source(StrEnum):
    """Where a record came from. Simulated data never mixes with real data."""

    PORTAL = "portal"
    SIMULATOR = "simulator"


class InvestigationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in {InvestigationStatus.COMPLETED, InvestigationStatus.FAILED, InvestigationStatus.CANCELLED}


class Trigger(StrEnum):
    SCHEDULED = "scheduled"
    PRIORITY = "priority"
    REANALYSIS = "reanalysis"
    ON_DEMAND = "on_demand"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["low", "medium", "high", "critical"].index(self.value)


class FeedbackLabel(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"
    UNCERTAIN = "uncertain"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def canonical_bytes(raw: dict[str, Any]) -> bytes:
    """A record's JSON as UTF-8 with sorted keys and no whitespace. Raises UnicodeEncodeError when
    a text holds a lone UTF-16 surrogate, which no UTF-8 store can keep."""
    return json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def hash_of_canonical(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()


def canonical_hash(raw: dict[str, Any]) -> str:
    """A stable hash of a record's JSON: key order and whitespace do not change it."""
    return hash_of_canonical(canonical_bytes(raw))


@dataclass(frozen=True, slots=True)
class Contract:
    """One federal contract as Vigia keeps it (normalised from the Portal's ContratoDTO).

    ``id`` is the Portal's id. ``orgao_codigo`` is ``unidadeGestora.orgaoVinculado.codigoSIAFI``.
    ``fornecedor_documento`` holds only digits (CNPJ 14, CPF 11). Money is Decimal, dates are dates.
    ``raw`` is the record exactly as received, unknown fields included; ``content_hash`` is its
    :func:`canonical_hash`, so a contract seen again with other values is a new version.
    """

    id: int
    source: Source
    numero: str | None = None
    objeto: str | None = None
    numero_processo: str | None = None
    fundamento_legal: str | None = None
    situacao: str | None = None
    modalidade_compra: str | None = None
    orgao_codigo: str | None = None
    orgao_nome: str | None = None
    orgao_maximo_codigo: str | None = None
    ug_codigo: str | None = None
    ug_nome: str | None = None
    fornecedor_documento: str | None = None
    fornecedor_nome: str | None = None
    data_assinatura: date | None = None
    data_publicacao_dou: date | None = None
    data_inicio_vigencia: date | None = None
    data_fim_vigencia: date | None = None
    valor_inicial: Decimal | None = None
    valor_final: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Sanction:
    """One CEIS or CNEP record: a supplier barred or punished for a period.

    ``documento`` holds only digits. ``data_fim`` None means the sanction has no end date.
    ``nacional`` is True when the sanction applies nationwide
    (``abrangenciaDefinidaDecisaoJudicial``), which raises a finding's severity.
    """

    id: str
    lista: str  # "CEIS" or "CNEP"
    documento: str
    nome: str | None
    tipo: str | None
    data_inicio: date | None
    data_fim: date | None
    orgao_sancionador: str | None
    orgao_sancionador_uf: str | None = None
    abrangencia: str | None = None
    nacional: bool = False
    source: Source = Source.PORTAL
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Finding:
    """One red flag raised by one indicator about one subject (a contract or an órgão).

    Every number needed to audit the flag travels with it: the measured ``value``, the
    ``threshold`` it crossed, the ``baseline`` it was compared with, and the contract ``fields``
    read. ``explanation`` is a pt-BR sentence built from those numbers.
    """

    indicator: str
    severity: Severity
    score: float
    subject_type: Literal["contract", "orgao"]
    subject_id: str  # the contract id, or "<órgão>:<year>" for an órgão-year
    explanation: str
    contract_id: int | None = None
    orgao_codigo: str | None = None
    value: float | None = None
    threshold: float | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What a batch upsert of contracts changed, by Portal id."""

    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def to_analyze(self) -> list[int]:
        return [*self.new, *self.changed]


def utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
