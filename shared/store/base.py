"""The store's front: every operation the tasks and the API call, checked once for both backends.

:class:`Store` holds each public operation with its signature and contract. It validates the
arguments, turns them into the typed commands of :mod:`shared.store.commands`, hands those to
its backend's hooks (the abstract methods of :mod:`shared.store.backend`) and shapes the rows
they return into the dataclasses of :mod:`shared.store.models` and :mod:`shared.domain`. Two
backends implement the hooks — :mod:`shared.store.postgres` (psycopg 3, direct ``DATABASE_URL``) and
:mod:`shared.store.supabase` (Supabase REST) — and one conformance suite runs against both.
Every write is idempotent on a natural key, so a redelivered task is safe.

Errors: every backend raises :class:`StoreError` (or a subclass) whose message names the
operation and the input, e.g. ``upsert_contracts(500 contracts): connection lost``.
The records, filters and errors are defined in :mod:`shared.store.models` and exported here too.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, get_args

from shared.domain import Contract, FeedbackLabel, Finding, RunStatus, Sanction, Source, Trigger, UpsertResult
from shared.store.backend import Backend
from shared.store.commands import (
    Condition,
    ContractBatch,
    ListQuery,
    Row,
    RunQuery,
    StuckQuery,
    Transition,
    contract_conditions,
    json_arg,
)
from shared.store.models import (
    Completion,
    Conflict,
    ContractFilter,
    CreatedInvestigation,
    Dataset,
    Feedback,
    Investigation,
    InvestigationDetail,
    InvestigationFilter,
    Keyset,
    NotFound,
    OrgaoRanking,
    Page,
    PeerBaseline,
    PeerGroup,
    Run,
    SanctionMirror,
    SortKey,
    Stats,
    StoredFinding,
    StoreError,
    StoreUnavailable,
    TrainingSample,
    Vigencia,
    keyset_of,
)
from shared.store.records import (
    counters_json,
    dataset_from_row,
    dataset_payload,
    feedback_from_row,
    finding_to_json,
    investigation_from_row,
    orgao_ranking_from_json,
    run_from_row,
    run_json,
    stored_finding_from_row,
    training_sample_from_json,
    training_sample_to_json,
)
from shared.store.rows import (
    contract_from_row,
    contract_values,
    dedupe_last,
    is_uuid,
    peer_baseline_from_json,
    sanction_from_row,
    sanction_values,
    to_json_obj,
    validate_contract,
    validate_sanction,
    vigencia_of,
)
from shared.store.rules import OPEN_STATUSES, TRANSITIONS, check_progress, refused_transition

SORT_KEYS: tuple[str, ...] = get_args(SortKey)


class Store(Backend):
    """What Vigia stores. Implementations are safe to share between threads of one process."""

    # -- lifecycle ------------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the database cannot answer."""

    @abstractmethod
    def close(self) -> None: ...

    # -- contracts --------------------------------------------------------------------------
    def upsert_contracts(self, contracts: Sequence[Contract]) -> UpsertResult:
        """Insert or update by Portal id in one transaction; a changed ``content_hash`` keeps the
        previous row in ``contract_versions``. Returns which ids were new, changed or unchanged."""
        if not contracts:
            return UpsertResult()
        for contract in contracts:
            validate_contract(contract)
        batch = dedupe_last(list(contracts), key=lambda c: c.id)
        return self._upsert_contracts(ContractBatch([contract_values(c) for c in batch]))

    def get_contract(self, contract_id: int) -> Contract | None:
        row = self._contract_row(int(contract_id))
        return None if row is None else contract_from_row(row)

    def iter_contracts(self, filters: ContractFilter = ContractFilter(), *, batch_size: int = 1000) -> Iterator[Contract]:
        """Stream contracts (ordered by id) matching every field of ``filters``, ``batch_size`` rows
        at a time (keyset pagination, so a long stream holds no transaction open)."""
        for row in self._matching_contract_rows("iter_contracts", filters, batch_size, id_only=False):
            yield contract_from_row(row)

    def contract_ids(self, filters: ContractFilter = ContractFilter(), *, batch_size: int = 5000) -> list[int]:
        """The ids (in order) of the contracts :meth:`iter_contracts` would stream for ``filters``:
        a caller that already holds some of them reads only the rows it lacks."""
        return [int(row["id"]) for row in self._matching_contract_rows("contract_ids", filters, batch_size, id_only=True)]

    def _matching_contract_rows(self, operation: str, filters: ContractFilter, batch_size: int, *,
                                id_only: bool) -> Iterator[Row]:
        if batch_size < 1:
            raise StoreError(f"{operation}: batch_size must be at least 1, not {batch_size}")
        conditions = contract_conditions(filters)
        groups: list[list[Condition]] = [conditions]
        if filters.ids is not None:
            ids = sorted({int(i) for i in filters.ids})
            size = self.ids_per_request or max(len(ids), 1)
            groups = [[*conditions, Condition("id", "in", ids[i : i + size])] for i in range(0, len(ids), size)]
        detail = f"orgao={filters.orgao_codigo}" if filters.orgao_codigo else ""
        for group in groups:
            after = -1
            while True:
                rows = self._contract_rows([Condition("id", "gt", after), *group], batch_size, detail,
                                           id_only=id_only)
                yield from rows
                if len(rows) < batch_size:
                    break
                after = int(rows[-1]["id"])

    @abstractmethod
    def count_contracts(self) -> int: ...

    def peer_baseline(self, group: PeerGroup) -> PeerBaseline:
        """n, median, MAD and quartiles of ln(valor_inicial) of the contracts of ``group``, computed
        in the database."""
        return peer_baseline_from_json(self._function("peer_baseline", f"year={group.year}", "vigia_peer_baseline", {
            "p_year": int(group.year), "p_orgao_codigo": group.orgao_codigo,
            "p_modalidade_compra": group.modalidade_compra,
            "p_source": None if group.source is None else str(Source(group.source)),
        }))

    # -- sanctions --------------------------------------------------------------------------
    def upsert_sanctions(self, sanctions: Sequence[Sanction]) -> int:
        """Insert or update by (lista, id); return how many rows were written."""
        if not sanctions:
            return 0
        for sanction in sanctions:
            validate_sanction(sanction)
        batch = dedupe_last(list(sanctions), key=lambda s: (s.lista, s.id))
        return self._upsert_sanctions([sanction_values(s) for s in batch])

    def sanctions_for(self, documents: Sequence[str], *, roots: Sequence[str] = ()) -> list[Sanction]:
        """Every CEIS/CNEP record whose document digits are in ``documents``, and every 14-digit
        (CNPJ) record whose first 8 digits are in ``roots`` (other branches of the same company)."""
        wanted = sorted({d for d in documents if d})
        branches = sorted({r for r in roots if len(r) == 8 and r.isdigit()})
        if not wanted and not branches:
            return []
        found = {(s.lista, s.id): s for s in map(sanction_from_row, self._sanction_rows(wanted, branches))}
        return sorted(found.values(), key=lambda s: (s.documento, s.lista, s.id))

    def first_vigencias(self, contract_ids: Sequence[int]) -> dict[int, Vigencia]:
        """The vigência of the earliest stored version of each contract that has earlier versions
        (an amended contract); contracts without one are left out."""
        wanted = sorted({int(i) for i in contract_ids})
        if not wanted:
            return {}
        earliest: dict[int, tuple[int, Any]] = {}
        for row in self._version_rows(wanted):
            cid, version = int(row["contract_id"]), int(row["version"])
            if cid not in earliest or version < earliest[cid][0]:
                earliest[cid] = (version, row["raw"])
        return {cid: vigencia_of(to_json_obj(raw, {})) for cid, (_version, raw) in earliest.items()}

    @abstractmethod
    def sanction_mirror(self) -> SanctionMirror:
        """How many CEIS/CNEP records the mirror holds and when the newest was last seen."""

    # -- runs -------------------------------------------------------------------------------
    def open_run(self, task: str, parameters: dict[str, Any]) -> Run:
        return run_from_row(self._insert_run(task, run_json(parameters, f"open_run({task}) parameters") or {}))

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
        what = f"close_run({run_id})"
        status = RunStatus(status)
        if status is RunStatus.RUNNING:
            raise StoreError(f"{what}: a run closes as succeeded or failed")
        return run_from_row(self._function("close_run", str(run_id), "vigia_close_run", {
            "p_run_id": int(run_id), "p_status": str(status), "p_counters": json_arg(counters_json(counters, what)),
            "p_result": json_arg(run_json(result, f"{what} result")), "p_error": error,
        }, returns="row"))

    def add_run_counters(self, run_id: int, counters: dict[str, int]) -> None:
        """Atomically add to a running run's counters (sub-tasks of one sweep report here)."""
        delta = counters_json(counters, f"add_run_counters({run_id})") or {}
        self._function("add_run_counters", str(run_id), "vigia_add_run_counters",
                       {"p_run_id": int(run_id), "p_counters": json_arg(delta)}, returns="row")

    def get_run(self, run_id: int) -> Run | None:
        row = self._run_row(int(run_id))
        return None if row is None else run_from_row(row)

    def last_runs(self, *, task: str | None = None, status: RunStatus | None = None, limit: int = 20) -> list[Run]:
        """Most recent first."""
        query = RunQuery(task, None if status is None else RunStatus(status), max(int(limit), 0))
        return [run_from_row(r) for r in self._run_rows(query)]

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
    ) -> CreatedInvestigation:
        """Automatic triggers are unique per (contract, detector version): a second call returns
        the existing row and ``created=False``. On-demand requests return an existing *pending or
        running* on-demand investigation for the same contract (or órgão and window)."""
        if contract_id is None and not orgao_codigo:
            raise StoreError("create_or_get_investigation: give a contract id or an órgão code")
        detail = f"contract={contract_id}" if contract_id is not None else f"orgao={orgao_codigo}"
        data = self._function("create_or_get_investigation", detail, "vigia_create_or_get_investigation", {
            "p_contract_id": None if contract_id is None else int(contract_id), "p_orgao_codigo": orgao_codigo,
            "p_trigger": str(Trigger(trigger)), "p_detector_version": detector_version,
            "p_indicators": [str(i) for i in indicators], "p_window_start": window_start, "p_window_end": window_end,
        })
        return CreatedInvestigation(investigation_from_row(data["investigation"]), bool(data["created"]))

    def _transition(self, operation: str, investigation_id: str, extra: dict[str, Any]) -> Investigation:
        target, allowed = TRANSITIONS[operation]
        if not is_uuid(investigation_id):
            raise NotFound(f"{operation}({investigation_id}): no such investigation")
        outcome = self._apply_transition(
            Transition(operation, investigation_id, target, sorted(str(s) for s in allowed), extra)
        )
        if outcome.row is None:
            raise refused_transition(operation, investigation_id, outcome.current)
        return investigation_from_row(outcome.row)

    def mark_running(self, investigation_id: str) -> Investigation:
        """pending -> running (idempotent for running); raises :class:`Conflict` if terminal,
        :class:`NotFound` for an unknown id."""
        return self._transition("mark_running", investigation_id, {})

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
        if not is_uuid(investigation_id):
            raise NotFound(f"complete_investigation({investigation_id}): no such investigation")
        payload = [finding_to_json(f) for f in findings]
        return investigation_from_row(self._function(
            "complete_investigation", f"{investigation_id}, {len(payload)} findings", "vigia_complete_investigation",
            {"p_id": investigation_id, "p_findings": json_arg(payload), "p_risk_score": risk_score, "p_summary": summary,
             "p_summary_source": summary_source},
            returns="row",
        ))

    def create_or_get_investigations(
        self, contracts: Sequence[tuple[int, str | None]], *, trigger: Trigger, detector_version: str,
    ) -> list[CreatedInvestigation]:
        """:meth:`create_or_get_investigation` for many ``(contract id, órgão code)`` of one
        automatic trigger, in one round trip; the answers are in the order of ``contracts``."""
        trigger = Trigger(trigger)
        if trigger is Trigger.ON_DEMAND:
            raise StoreError("create_or_get_investigations: on-demand requests are created one at a time")
        items = [{"contract_id": int(cid), "orgao_codigo": orgao, "trigger": str(trigger),
                  "detector_version": detector_version} for cid, orgao in contracts]
        if not items:
            return []
        data = self._function("create_or_get_investigations", f"{len(items)} contracts",
                              "vigia_create_or_get_investigations", {"p_items": json_arg(items)})
        return [CreatedInvestigation(investigation_from_row(d["investigation"]), bool(d["created"])) for d in data]

    def complete_investigations(self, completions: Sequence[Completion]) -> list[Investigation | None]:
        """:meth:`complete_investigation` for many investigations in one round trip and one
        transaction; None in the answer (in the order given) for one a person cancelled meanwhile."""
        for completion in completions:
            if not is_uuid(completion.investigation_id):
                raise NotFound(f"complete_investigations({completion.investigation_id}): no such investigation")
        if not completions:
            return []
        items = [{"id": c.investigation_id, "findings": [finding_to_json(f) for f in c.findings],
                  "risk_score": c.risk_score, "summary": c.summary, "summary_source": c.summary_source}
                 for c in completions]
        data = self._function("complete_investigations", f"{len(items)} investigations",
                              "vigia_complete_investigations", {"p_items": json_arg(items)})
        return [None if d.get("cancelled") else investigation_from_row(d["investigation"]) for d in data]

    def fail_investigation(self, investigation_id: str, *, error: str) -> Investigation:
        """pending/running -> failed (idempotent for failed); :class:`Conflict` if completed or cancelled."""
        return self._transition("fail_investigation", investigation_id, {"error": error})

    def cancel_investigation(self, investigation_id: str, *, reason: str) -> Investigation:
        """pending/running -> cancelled (idempotent for cancelled); :class:`Conflict` otherwise."""
        return self._transition("cancel_investigation", investigation_id, {"error": reason})

    def set_progress(self, investigation_id: str, progress: float) -> None:
        """Record progress in [0, 1] of a pending or running investigation (ignored once terminal)."""
        value = check_progress(investigation_id, progress)
        if not is_uuid(investigation_id) or not self._set_progress(investigation_id, value, [str(s) for s in OPEN_STATUSES]):
            raise NotFound(f"set_progress({investigation_id}): no such investigation")

    def get_investigation(self, investigation_id: str) -> InvestigationDetail | None:
        rows = self._detail_rows(investigation_id) if is_uuid(investigation_id) else None
        if rows is None:
            return None
        return InvestigationDetail(
            investigation=investigation_from_row(rows.investigation),
            findings=[stored_finding_from_row(f) for f in rows.findings],
            contract=None if rows.contract is None else contract_from_row(rows.contract),
        )

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
        if sort not in SORT_KEYS:
            raise StoreError(f"list_investigations: sort must be one of {sorted(SORT_KEYS)}, not {sort!r}")
        if limit < 0 or offset < 0:
            raise StoreError(f"list_investigations: limit and offset must be >= 0 (got {limit}, {offset})")
        if offset and after is not None:
            raise StoreError("list_investigations: give offset or after, not both")
        page = self._investigation_page(ListQuery(filters, sort, limit, offset, after, with_total, count_limit))
        return Page(items=[investigation_from_row(r) for r in page.rows], total=page.total, limit=limit, offset=offset)

    def fail_stuck_investigations(self, *, older_than: datetime, reason: str) -> list[str]:
        """pending/running investigations not updated since ``older_than`` become failed; their ids."""
        return sorted(self._fail_stuck(StuckQuery(older_than, reason), [str(s) for s in OPEN_STATUSES]))

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
        if not is_uuid(investigation_id):
            raise NotFound(f"record_feedback({investigation_id}): no such investigation")
        return feedback_from_row(self._function("record_feedback", investigation_id, "vigia_record_feedback", {
            "p_investigation_id": investigation_id, "p_label": str(FeedbackLabel(label)), "p_finding_id": finding_id,
            "p_note": note, "p_author": author,
        }, returns="row"))

    def training_samples(self) -> list[TrainingSample]:
        return [training_sample_from_json(s) for s in self._function("training_samples", "", "vigia_training_samples", {})]

    def save_dataset(self, *, feature_version: str, samples: Sequence[TrainingSample]) -> Dataset:
        payload = dataset_payload([training_sample_to_json(s) for s in samples])
        return dataset_from_row(self._insert_dataset({
            "feature_version": feature_version, "total": len(payload.samples), "positive": payload.positive,
            "negative": payload.negative, "samples": payload.samples, "checksum": payload.checksum,
        }))

    def latest_dataset(self) -> Dataset | None:
        row = self._latest_dataset_row()
        return None if row is None else dataset_from_row(row)

    # -- reporting --------------------------------------------------------------------------
    def stats(self) -> Stats:
        data = self._function("stats", "", "vigia_stats", {})
        return Stats(
            investigations_by_status={k: int(v) for k, v in data["investigations_by_status"].items()},
            findings_by_indicator={k: int(v) for k, v in data["findings_by_indicator"].items()},
            investigations_by_orgao={k: int(v) for k, v in data["investigations_by_orgao"].items()},
            last_runs=self.last_runs(limit=10),
        )

    def orgao_ranking(self, *, limit: int = 100) -> list[OrgaoRanking]:
        data = self._function("orgao_ranking", f"limit={limit}", "vigia_orgao_ranking", {"p_limit": int(limit)})
        return [orgao_ranking_from_json(item) for item in data]

    def save_orgao_findings(self, orgao_codigo: str, year: int, findings: Sequence[Finding], detector_version: str) -> None:
        """Replace the órgão-level findings (concentration, Benford) of one (órgão, year)."""
        payload = [finding_to_json(f) for f in findings]
        self._function("save_orgao_findings", f"{orgao_codigo}/{year}, {len(payload)} findings", "vigia_save_orgao_findings",
                       {"p_orgao_codigo": orgao_codigo, "p_year": int(year), "p_findings": json_arg(payload),
                        "p_detector_version": detector_version})


__all__ = [
    "Completion",
    "Conflict",
    "ContractFilter",
    "CreatedInvestigation",
    "Dataset",
    "Feedback",
    "Investigation",
    "InvestigationDetail",
    "InvestigationFilter",
    "Keyset",
    "NotFound",
    "OrgaoRanking",
    "Page",
    "PeerBaseline",
    "PeerGroup",
    "Run",
    "SanctionMirror",
    "SortKey",
    "Stats",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredFinding",
    "TrainingSample",
    "Vigencia",
    "keyset_of",
]
