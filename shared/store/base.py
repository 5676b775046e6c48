"""The store interface: everything the tasks and the API read or write, behind one Protocol.

Two backends implement it — :mod:`shared.store.postgres` (psycopg 3, direct ``DATABASE_URL``) and
:mod:`shared.store.supabase` (Supabase REST) — and one conformance suite runs against both.
Callers never see SQL or HTTP: they pass and get the dataclasses below and those of
:mod:`shared.domain`. Every write is idempotent on a natural key, so a redelivered task is safe.

Errors: every backend raises :class:`StoreError` (or a subclass) whose message names the
operation and the input, e.g. ``upsert_contracts(500 contracts): connection lost``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from shared.domain import (
    Contract,
    FeedbackLabel,
    Finding,
    InvestigationStatus,
    RunStatus,
    Sanction,
    Severity,
    Source,
    Trigger,
    UpsertResult,
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


@runtime_checkable
class Store(Protocol):
    """What Vigia stores. Implementations are safe to share between threads of one process."""

    # -- lifecycle ------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the database cannot answer."""

    def close(self) -> None: ...

    # -- contracts --------------------------------------------------------------------------
    def upsert_contracts(self, contracts: Sequence[Contract]) -> UpsertResult:
        """Insert or update by Portal id in one transaction; a changed ``content_hash`` keeps the
        previous row in ``contract_versions``. Returns which ids were new, changed or unchanged."""

    def get_contract(self, contract_id: int) -> Contract | None: ...

    def iter_contracts(
        self,
        *,
        orgao_codigo: str | None = None,
        signed_from: date | None = None,
        signed_to: date | None = None,
        batch_size: int = 1000,
        ids: Sequence[int] | None = None,
        ug_codigo: str | None = None,
        fornecedor_documento: str | None = None,
        modalidade_compra: str | None = None,
        source: Source | None = None,
    ) -> Iterator[Contract]:
        """Stream contracts (ordered by id) matching every filter given, ``batch_size`` rows at a
        time (keyset pagination, so a long stream holds no transaction open)."""

    def count_contracts(self) -> int: ...

    def peer_baseline(
        self,
        *,
        year: int,
        orgao_codigo: str | None = None,
        modalidade_compra: str | None = None,
        source: Source | None = None,
    ) -> PeerBaseline:
        """n, median, MAD and quartiles of ln(valor_inicial) of the contracts signed in ``year``
        (of that órgão and/or modality and source when given), computed in the database."""

    # -- sanctions --------------------------------------------------------------------------
    def upsert_sanctions(self, sanctions: Sequence[Sanction]) -> int:
        """Insert or update by (lista, id); return how many rows were written."""

    def sanctions_for(self, documents: Sequence[str], *, roots: Sequence[str] = ()) -> list[Sanction]:
        """Every CEIS/CNEP record whose document digits are in ``documents``, and every 14-digit
        (CNPJ) record whose first 8 digits are in ``roots`` (other branches of the same company)."""

    def first_vigencias(self, contract_ids: Sequence[int]) -> dict[int, tuple[date | None, date | None]]:
        """(dataInicioVigencia, dataFimVigencia) of the earliest stored version of each contract that
        has earlier versions (an amended contract); contracts without one are left out."""

    def sanction_mirror(self) -> SanctionMirror:
        """How many CEIS/CNEP records the mirror holds and when the newest was last seen."""

    # -- runs -------------------------------------------------------------------------------
    def open_run(self, task: str, parameters: dict[str, Any]) -> Run: ...

    def close_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counters: dict[str, int] | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> Run:
        """Set the final status (succeeded or failed), ``result`` (when given) and ``error``.
        ``counters`` are *added* to those already reported with :meth:`add_run_counters`."""

    def add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        """Atomically add to a running run's counters (sub-tasks of one sweep report here)."""

    def get_run(self, run_id: int) -> Run | None: ...

    def last_runs(self, *, task: str | None = None, status: RunStatus | None = None, limit: int = 20) -> list[Run]:
        """Most recent first."""

    # -- investigations ---------------------------------------------------------------------
    def create_or_get_investigation(
        self,
        *,
        contract_id: int | None,
        orgao_codigo: str | None,
        trigger: Trigger,
        detector_version: str,
        indicators: Sequence[str] = (),
        window_start: date | None = None,
        window_end: date | None = None,
    ) -> tuple[Investigation, bool]:
        """Automatic triggers are unique per (contract, detector version): a second call returns
        the existing row and ``False``. On-demand requests return an existing *pending or
        running* on-demand investigation for the same contract (or órgão and window)."""

    def mark_running(self, investigation_id: str) -> Investigation:
        """pending -> running (idempotent for running); raises :class:`Conflict` if terminal,
        :class:`NotFound` for an unknown id."""

    def complete_investigation(
        self,
        investigation_id: str,
        *,
        findings: Sequence[Finding],
        risk_score: float | None,
        summary: str | None,
        summary_source: str | None,
    ) -> Investigation:
        """In one transaction: replace the investigation's findings, set the score, summary and
        ``completed``. Re-running it with the same findings leaves the same rows (same ids).
        Allowed from any state but ``cancelled`` (a re-analysis completes a completed one
        again); two findings with one (indicator, subject type, subject id) raise :class:`Conflict`."""

    def fail_investigation(self, investigation_id: str, *, error: str) -> Investigation:
        """pending/running -> failed (idempotent for failed); :class:`Conflict` if completed or cancelled."""

    def cancel_investigation(self, investigation_id: str, *, reason: str) -> Investigation:
        """pending/running -> cancelled (idempotent for cancelled); :class:`Conflict` otherwise."""

    def set_progress(self, investigation_id: str, progress: float) -> None:
        """Record progress in [0, 1] of a pending or running investigation (ignored once terminal)."""

    def get_investigation(self, investigation_id: str) -> InvestigationDetail | None: ...

    def list_investigations(
        self,
        filters: InvestigationFilter = InvestigationFilter(),
        *,
        sort: SortKey = "-created_at",
        limit: int = 50,
        offset: int = 0,
        after: Keyset | None = None,
        with_total: bool = True,
        count_limit: int | None = None,
    ) -> Page:
        """One page in ``sort`` order (ties broken by id). ``after`` continues a keyset walk (no
        OFFSET: a page a million rows deep costs what the first costs); ``offset`` skips rows and
        is meant for shallow pages only. ``total`` counts the matching rows only when
        ``with_total`` is true, at most ``count_limit + 1`` of them when a limit is given."""

    def fail_stuck_investigations(self, *, older_than: datetime, reason: str) -> list[str]:
        """pending/running investigations not updated since ``older_than`` become failed."""

    # -- feedback and datasets -----------------------------------------------------------------
    def record_feedback(
        self,
        investigation_id: str,
        *,
        label: FeedbackLabel,
        finding_id: int | None = None,
        note: str | None = None,
        author: str | None = None,
    ) -> Feedback:
        """Raises :class:`NotFound` for an unknown investigation or a finding not in it."""

    def training_samples(self) -> list[TrainingSample]: ...

    def save_dataset(self, *, feature_version: str, samples: Sequence[TrainingSample]) -> Dataset: ...

    def latest_dataset(self) -> Dataset | None: ...

    # -- reporting --------------------------------------------------------------------------
    def stats(self) -> Stats: ...

    def orgao_ranking(self, *, limit: int = 100) -> list[OrgaoRanking]: ...

    def save_orgao_findings(self, orgao_codigo: str, year: int, findings: Sequence[Finding], detector_version: str) -> None:
        """Replace the órgão-level findings (concentration, Benford) of one (órgão, year)."""
