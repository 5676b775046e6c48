"""What a store backend implements: the requests behind the front, and nothing else.

:class:`shared.store.base.Store` checks each call and shapes what comes back; it reaches its
database only through the abstract methods here, which take the checked values and commands of
:mod:`shared.store.commands` and return rows (``dict`` per row, as psycopg or PostgREST give
them). A backend is a subclass of ``Store`` that implements these and the few public operations
that need no checking (``ping``, ``close``, ``count_contracts``, ``sanction_mirror``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from shared.domain import UpsertResult
from shared.store.commands import (
    Condition,
    ContractBatch,
    DetailRows,
    ListQuery,
    PageRows,
    Returns,
    Row,
    RunQuery,
    StuckQuery,
    Transition,
    TransitionOutcome,
)


class Backend(ABC):
    """The requests each backend renders (SQL, PostgREST); the front is their only caller."""

    # How many ids one request may name (``in`` filters); None: any number.
    ids_per_request: int | None = None

    @abstractmethod
    def _function(self, operation: str, detail: str, name: str, args: dict[str, Any], *,
                  returns: Returns = "value") -> Any:
        """Call the migrations' SQL function ``name`` with named arguments (``Json`` ones as jsonb)."""

    @abstractmethod
    def _upsert_contracts(self, batch: ContractBatch) -> UpsertResult: ...

    @abstractmethod
    def _contract_row(self, contract_id: int) -> Row | None: ...

    @abstractmethod
    def _contract_rows(self, conditions: list[Condition], limit: int, detail: str, *, id_only: bool) -> list[Row]:
        """At most ``limit`` contracts matching every condition, in id order (only their ``id``
        with ``id_only``)."""

    @abstractmethod
    def _upsert_sanctions(self, rows: list[Row]) -> int: ...

    @abstractmethod
    def _sanction_rows(self, documents: list[str], roots: list[str]) -> list[Row]: ...

    @abstractmethod
    def _version_rows(self, contract_ids: list[int]) -> list[Row]:
        """contract_id, version and raw of stored versions, at least the earliest of each contract."""

    @abstractmethod
    def _insert_run(self, task: str, parameters: dict[str, Any]) -> Row: ...

    @abstractmethod
    def _run_row(self, run_id: int) -> Row | None: ...

    @abstractmethod
    def _run_rows(self, query: RunQuery) -> list[Row]: ...

    @abstractmethod
    def _apply_transition(self, transition: Transition) -> TransitionOutcome: ...

    @abstractmethod
    def _set_progress(self, investigation_id: str, progress: float, open_statuses: list[str]) -> bool:
        """Set it when the status is open; False when no such investigation exists."""

    @abstractmethod
    def _detail_rows(self, investigation_id: str) -> DetailRows | None: ...

    @abstractmethod
    def _investigation_page(self, query: ListQuery) -> PageRows: ...

    @abstractmethod
    def _fail_stuck(self, query: StuckQuery, open_statuses: list[str]) -> list[str]: ...

    @abstractmethod
    def _insert_dataset(self, row: Row) -> Row: ...

    @abstractmethod
    def _latest_dataset_row(self) -> Row | None: ...
