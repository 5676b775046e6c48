"""What the store takes and gives: its exceptions, records, filters and pages, as frozen dataclasses.

Callers pass and get these and the types of :mod:`shared.domain`, never rows, SQL or HTTP; the
front that checks what comes in is :class:`shared.store.base.Store`, which also exports every
name here, so a caller imports from one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

from shared.domain import (
    Contract,
    FeedbackLabel,
    Finding,
    InvestigationStatus,
    RunStatus,
    Severity,
    Source,
    Trigger,
)


class StoreError(RuntimeError):
    """A storage operation failed; the message names the operation and its input."""


class StoreUnavailable(StoreError):
    """The database could not be reached (worth retrying later)."""


class NotFound(StoreError):
    """The id names nothing."""


class Conflict(StoreError):
    """The write breaks a constraint (a duplicate, a bad state transition)."""


@dataclass(frozen=True, slots=True)
class Investigation:
    id: str  # uuid
    contract_id: int | None
    orgao_codigo: str | None
    trigger: Trigger
    status: InvestigationStatus
    detector_version: str
    indicators: list[str] = field(default_factory=list)  # requested set; empty = all
    window_start: date | None = None  # on-demand órgão requests
    window_end: date | None = None
    progress: float = 0.0
    findings_count: int = 0
    risk_score: float | None = None
    summary: str | None = None
    summary_source: str | None = None  # "template" or the model name
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    # set at completion from its findings (the API filters on them without a join)
    finding_indicators: list[str] = field(default_factory=list)
    max_severity: Severity | None = None


class CreatedInvestigation(NamedTuple):
    """What :meth:`~shared.store.base.Store.create_or_get_investigation` returns: the investigation
    and whether this call created it (``False``: it already existed)."""

    investigation: Investigation
    created: bool


@dataclass(frozen=True, slots=True)
class Completion:
    """What :meth:`~shared.store.base.Store.complete_investigations` writes for one investigation."""

    investigation_id: str
    findings: Sequence[Finding]
    risk_score: float | None
    summary: str | None
    summary_source: str | None


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int
    investigation_id: str
    finding: Finding


@dataclass(frozen=True, slots=True)
class InvestigationDetail:
    investigation: Investigation
    findings: list[StoredFinding]
    contract: Contract | None


@dataclass(frozen=True, slots=True)
class Feedback:
    id: int
    investigation_id: str
    finding_id: int | None
    label: FeedbackLabel
    note: str | None
    author: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    task: str
    parameters: dict[str, Any]
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    counters: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)  # e.g. a health check's report
    error: str | None = None


@dataclass(frozen=True, slots=True)
class InvestigationFilter:
    orgao_codigo: str | None = None
    indicator: str | None = None
    severity: Severity | None = None  # at least this severity among its findings
    status: InvestigationStatus | None = None
    trigger: Trigger | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_risk_score: float | None = None
    contract_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContractFilter:
    """Which contracts :meth:`~shared.store.base.Store.iter_contracts` streams: those matching every
    field given. ``signed_from``/``signed_to`` bound ``data_assinatura`` (both ends included);
    ``ids`` keeps only those ids (an empty sequence matches nothing)."""

    orgao_codigo: str | None = None
    signed_from: date | None = None
    signed_to: date | None = None
    ids: Sequence[int] | None = None
    ug_codigo: str | None = None
    fornecedor_documento: str | None = None
    modalidade_compra: str | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class PeerGroup:
    """The contracts signed in ``year``, of that órgão, modality and source where given."""

    year: int
    orgao_codigo: str | None = None
    modalidade_compra: str | None = None
    source: Source | None = None


class Vigencia(NamedTuple):
    """A contract's term as one stored version states it (``dataInicioVigencia``, ``dataFimVigencia``);
    a pair, so the detectors that take ``(start, end)`` take it as it is."""

    inicio: date | None
    fim: date | None


SortKey = Literal["created_at", "-created_at", "risk_score", "-risk_score"]


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a keyset page starts: strictly after the row with this sort value and id.

    ``value`` is the row's ``created_at`` or ``risk_score``; ``None`` (risk sorts only) means the
    previous page ended among the unscored rows, which come last in both directions.
    """

    value: datetime | float | None
    id: str


def keyset_of(item: Investigation, sort: SortKey) -> Keyset:
    """The keyset that continues a listing after ``item``."""
    value = item.created_at if sort.lstrip("-") == "created_at" else item.risk_score
    return Keyset(value=value, id=item.id)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Investigation]
    total: int | None  # None when not asked for (with_total=False)
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class TrainingSample:
    """One feedback-labelled finding with the numbers a model would learn from."""

    feedback_id: int
    investigation_id: str
    finding_id: int | None
    indicator: str | None
    label: FeedbackLabel
    features: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Dataset:
    id: int
    created_at: datetime
    feature_version: str
    total: int
    positive: int
    negative: int
    checksum: str
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stats:
    investigations_by_status: dict[str, int]
    findings_by_indicator: dict[str, int]
    investigations_by_orgao: dict[str, int]
    last_runs: list[Run]


@dataclass(frozen=True, slots=True)
class SanctionMirror:
    """The state of the local CEIS/CNEP copy: empty means "no mirror loaded", not "nothing matched"."""

    count: int
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class PeerBaseline:
    """Robust statistics of ``ln(valor_inicial)`` over a peer group (``n`` contracts)."""

    n: int
    median: float | None
    mad: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True, slots=True)
class OrgaoRanking:
    orgao_codigo: str
    orgao_nome: str | None
    contracts: int
    investigations: int
    findings: int
    max_risk_score: float | None
    mean_risk_score: float | None
    orgao_findings: list[Finding] = field(default_factory=list)  # supplier_concentration, benford_deviation
